"""The interface every channel adapter implements.

An adapter is built from a plain configuration dict by
`channel.backend._get_adapter()` and knows nothing of Odoo: it turns channel
HTTP and payloads into plain Python values and `adapters.exceptions`.
"""

import time

from .exceptions import (
    ChannelBudgetWaitError,
    ChannelPayloadError,
    ChannelRetryableError,
    ChannelSignatureError,
    ChannelThrottledError,
)
from .signatures import matches
from .transport import MAX_WAIT_IN_PLACE, ChannelTransport, clamp_wait


class ChannelAdapter:
    """Base class: configuration, transport and the operations of a channel."""

    code = None

    def __init__(self, config, transport=None):
        self.config = config
        self._transport = transport

    @property
    def transport(self):
        """Built on first use: verifying a webhook needs no HTTP session."""
        if self._transport is None:
            self._transport = ChannelTransport(timeout=self.config.get("timeout") or 20)
        return self._transport

    # How often a transient error (THROTTLED, 429, 5xx) is retried in place,
    # within MAX_WAIT_IN_PLACE seconds in all, before the job is retried.
    throttle_retries = 5

    def call_with_backoff(self, function, *args, **kwargs):
        """Run one API call; retry it in place while the waits the channel asks
        for fit in MAX_WAIT_IN_PLACE seconds, else raise: the job is retried
        after the channel's delay, and no lock or transaction is held meanwhile.

        A throttling answer that states its wait (Retry-After) is also written
        to the shared budget (`config["budget"]`), so that every other worker
        of the account waits it out before its next call instead of meeting
        its own 429.
        """
        sleep = self.config.get("sleep") or time.sleep
        budget = self.config.get("budget")
        waited = 0.0
        for attempt in range(self.throttle_retries + 1):
            try:
                return function(*args, **kwargs)
            except ChannelBudgetWaitError:
                raise
            except ChannelRetryableError as exc:
                if budget and isinstance(exc, ChannelThrottledError):
                    budget.throttled(exc.retry_after)
                wait = clamp_wait(exc.retry_after) or 2**attempt
                if (
                    attempt == self.throttle_retries
                    or waited + wait > MAX_WAIT_IN_PLACE
                ):
                    raise
                waited += wait
                sleep(wait)
        raise AssertionError("unreachable")

    def test_connection(self):
        """Check that the channel answers with our credentials.

        Return a short human description of the account (e.g. the shop name);
        raise ChannelAuthError or another ChannelError on failure.
        """
        raise NotImplementedError

    # Webhooks

    topic_flows = {}
    # Most pages of webhook subscriptions read: an app has a few dozen; a
    # listing that never ends is the channel's fault, not a reason to loop.
    max_subscription_pages = 20

    def _too_many_subscription_pages(self):
        return ChannelPayloadError(
            f"The channel lists more than {self.max_subscription_pages} pages of "
            "webhook subscriptions; stopped reading."
        )

    def topic_flow(self, topic):
        """The flow (`webhooks.FLOW_*`) a topic belongs to, None if unhandled."""
        return self.topic_flows.get(topic)

    def is_webhook_ping(self, headers, body):
        """Whether a delivery is the channel's unsigned set-up ping (answer 200)."""
        return False

    def verify_webhook(self, headers, body):
        """Raise ChannelSignatureError unless `body` carries our signature.

        Without a signing secret every delivery is refused.
        """
        expected = self.expected_signature(headers, body)
        if not matches(expected, self.received_signature(headers)):
            raise ChannelSignatureError("The webhook signature does not match.")

    def expected_signature(self, headers, body):
        """The signature the channel computes with our secret over `body` (and
        whatever else of the delivery its scheme signs)."""
        raise NotImplementedError

    def received_signature(self, headers):
        """The signature the delivery claims, or None."""
        raise NotImplementedError

    def parse_webhook(self, headers, body):
        """Turn a verified delivery into a `webhooks.WebhookDelivery`.

        Raise ChannelPayloadError for a malformed body or missing headers.
        """
        raise NotImplementedError

    def confirms_app_uninstalled(self):
        """Whether the channel confirms (through its API) that our app was
        uninstalled, as a lifecycle delivery claims. Retryable errors raise."""
        return False

    # Stock

    # Most quantities one `push_stock` call takes.
    stock_batch_size = 250

    def stock_batch_group(self, quantity):
        """The endpoint a `stock.StockQuantity` is written through: quantities
        of one group can share a `push_stock` call, others cannot. One group
        (None) by default."""
        return None

    def parse_stock_report(self, topic, payload):
        """The `stock.ChannelStockReport` of a stock webhook, None if the topic
        carries none."""
        return None

    # Orders

    order_payload_topics = frozenset()

    def is_order_payload_topic(self, topic):
        """Whether the body of this topic is a whole order we can import."""
        return topic in self.order_payload_topics

    def parse_order(self, payload):
        """The canonical `records.OrderData` of an order payload."""
        raise NotImplementedError
