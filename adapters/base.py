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
from .records import ChannelShipment
from .signatures import matches
from .transport import MAX_WAIT_IN_PLACE, ChannelTransport, clamp_wait


class ChannelAdapter:
    """Base class: configuration, transport and the operations of a channel.

    Every operation the engine calls is declared here, as `payment.provider`
    declares its hooks: a documented default, or NotImplementedError for one
    a provider may lack; its backend then says so through a capability
    (`supports_*`), and the engine never calls it.
    """

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

    def usage_plans(self):
        """{operation: (documented requests per second, burst)} of a channel
        that meters each operation on its own bucket; empty otherwise."""
        return {}

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

        Without a signing secret every delivery is refused. After a rotation
        the previous secret also verifies until its grace period ends
        (`previous_webhook_secret`, `previous_webhook_secret_until`).
        """
        received = self.received_signature(headers)
        for secret in self.signing_secrets():
            if matches(self.expected_signature(headers, body, secret), received):
                return
        raise ChannelSignatureError("The webhook signature does not match.")

    def signing_secrets(self, now=None):
        """The secrets a delivery may be signed with: the current one, then
        the previous one while its grace period runs."""
        secrets = [self.config.get("webhook_secret")]
        previous = self.config.get("previous_webhook_secret")
        until = self.config.get("previous_webhook_secret_until") or 0
        if previous and (time.time() if now is None else now) < until:
            secrets.append(previous)
        return secrets

    def expected_signature(self, headers, body, secret):
        """The signature the channel computes with `secret` over `body` (and
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

    def is_app_uninstall(self, topic):
        """Whether a delivery of `topic` says our app was uninstalled."""
        return False

    def parse_privacy_request(self, topic, payload):
        """The `webhooks.PrivacyRequest` of a privacy delivery, None if the
        topic is not one (channels without privacy webhooks: always None)."""
        return None

    # Webhook subscriptions (capability `supports_webhooks` with a
    # `_get_required_webhook_topics` that names topics)

    # Whether the channel's API lists and manages subscriptions (the methods
    # below); channels that are simply told our address (generic, 3PL) do not.
    manages_webhook_subscriptions = False

    def list_webhook_subscriptions(self):
        """[{"id", "topic", "address", "active"}] of our app's subscriptions,
        every page read (at most `max_subscription_pages`)."""
        raise NotImplementedError

    def create_webhook_subscription(self, topic, address):
        """Subscribe `address` to `topic` (channel naming); return its id."""
        raise NotImplementedError

    def delete_webhook_subscription(self, subscription_id):
        """Delete one subscription of ours."""
        raise NotImplementedError

    def reactivate_webhook_subscription(self, subscription_id):
        """Set a paused or disabled subscription active again; only called
        for one listed with `active` False."""
        raise NotImplementedError

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

    # Capability `supports_stock_export`

    def push_stock(self, quantities, idempotency_key):
        """Write at most `stock_batch_size` `stock.StockQuantity` of one
        `stock_batch_group` in one call.

        :param idempotency_key: the same for a retry of the same batch
        :return: one `stock.StockWriteResult` per quantity, in order
        """
        raise NotImplementedError

    def read_stock(self, quantities):
        """{StockQuantity: quantity the channel holds}; absent when unknown."""
        raise NotImplementedError

    def fetch_fulfilled_inventory(self, location_ref):
        """The `stock.FulfilledInventory` of every SKU the channel stocks
        in its own warehouses for channel location `location_ref` (capability
        `supports_fulfilled_inventory`)."""
        raise NotImplementedError

    # Orders

    order_payload_topics = frozenset()
    # {financial status (lower case): import action} (`orders.IMPORT_ACTIONS`)
    status_actions = {}

    def order_status_action(self, financial_status, fulfillment_status, cancelled):
        """The import action for an order in these channel statuses; an
        unknown status is a quotation, for a person to look at.

        The fulfilment status does not change the action today (a fulfilled
        order is still imported and confirmed); it is part of the signature
        so that a provider can make it matter without changing callers.
        """
        del fulfillment_status
        if cancelled:
            return "cancel"
        return self.status_actions.get((financial_status or "").lower(), "quotation")

    def is_order_payload_topic(self, topic):
        """Whether the body of this topic is a whole order we can import."""
        return topic in self.order_payload_topics

    def parse_order(self, payload):
        """The canonical `records.OrderData` of an order payload."""
        raise NotImplementedError

    def fetch_order(self, external_ref):
        """The `records.OrderData` of one order as the channel holds it now
        (capability `supports_order_pull`). ChannelPayloadError if unreadable.
        """
        raise NotImplementedError

    def fetch_orders_updated_since(self, since, cursor=None):
        """One page of orders updated at or after `since` (aware datetime).

        :return: (orders, next cursor or None); an order that cannot be read
            is a `records.UnreadableOrder` in the list
        """
        raise NotImplementedError

    def fetch_orders_created_since(self, since, cursor=None):
        """One page of orders created at or after `since`, oldest first;
        same return value as `fetch_orders_updated_since`."""
        raise NotImplementedError

    def count_orders_created_since(self, since):
        """How many orders were created at or after `since`."""
        raise NotImplementedError

    # Refunds

    # Financial statuses (lower case) saying money was given back.
    refunded_statuses = frozenset()
    # Topics whose body is the whole refund (no read from the channel).
    refund_payload_topics = frozenset()

    def parse_refund_notice(self, topic, payload):
        """The `records.RefundNotice` a delivery of `topic` announces; None
        when it announces no refund (channels without refund topics)."""
        return None

    def parse_refund(self, payload):
        """The `records.ChannelRefund` of a delivery that carries the whole
        refund (topics in `refund_payload_topics`); ChannelPayloadError."""
        raise NotImplementedError

    def fetch_refund(self, refund_ref, order_ref=None):
        """The `records.ChannelRefund` as the channel holds it now (capability
        `supports_refund_import`). ChannelPayloadError if it is unreadable.
        """
        raise NotImplementedError

    # Order edits

    def parse_order_edit(self, topic, payload):
        """The `records.OrderEditData` a delivery of `topic` carries; None
        when it is no order edit (channels without such a topic)."""
        return None

    # Returns opened on the channel ahead of their refund

    def parse_return_notice(self, topic, payload):
        """The channel id of the return a delivery of `topic` announces;
        None when it announces none."""
        return None

    def fetch_return(self, return_ref):
        """The `records.ReturnData` as the channel holds it now."""
        raise NotImplementedError

    # Disputes (chargebacks)

    # Topics whose body announces a payment dispute.
    dispute_topics = frozenset()

    def parse_dispute(self, topic, payload):
        """The `records.DisputeData` a delivery of `topic` (one of
        `dispute_topics`) carries, as sent; ChannelPayloadError."""
        raise NotImplementedError

    def fetch_dispute(self, dispute_ref):
        """The `records.DisputeData` as the channel holds it now, or None
        for a channel that cannot be read (its deliveries are trusted)."""
        return None

    # Fulfilment (capability `supports_fulfilment_export`)

    def push_fulfilment(self, request):
        """Report a `records.FulfilmentRequest` (one Odoo delivery) as shipped.

        :return: `records.FulfilmentResult`; lines the channel has fulfilled
            already are not fulfilled again (`already_fulfilled` when none is left)
        """
        raise NotImplementedError

    def update_fulfilment_tracking(self, fulfilment_ref, request):
        """Replace the tracking of a channel fulfilment with the request's
        (`tracking_*`, `notify_customer`). ChannelPayloadError if refused."""
        raise NotImplementedError

    def cancel_fulfilment(self, fulfilment_ref):
        """Cancel a channel fulfilment (its lines are to ship again); one
        cancelled already is not an error. ChannelPayloadError if refused."""
        raise NotImplementedError

    # Fulfilments made on the channel (inbound)

    def parse_channel_fulfilment(self, topic, payload):
        """The `records.ChannelShipment` a delivery of `topic` announces (its
        lines may be empty until `fetch_channel_fulfilment` reads them);
        None when it announces no fulfilment made on the channel."""
        return None

    def order_shipped_on_channel(self, order, first_import=False):
        """The `records.ChannelShipment` of an order the channel says shipped
        whole: here, one imported for the first time already fulfilled
        (history); a channel whose status is its only sign of a shipment
        says so at every import.
        """
        if first_import and order.fulfillment_status == "fulfilled":
            return ChannelShipment(
                fulfilment_ref=f"order:{order.external_ref}",
                order_ref=order.external_ref,
                whole_order=True,
            )
        return None

    def fetch_channel_fulfilment(self, shipment):
        """The `records.ChannelShipment` as the channel holds it now; by
        default the delivery is trusted as it came."""
        return shipment

    # Warehouse partner (3PL): requests out, confirmations and snapshots in

    def send_fulfilment_request(self, request):
        """Hand a `handoff.HandoffRequest` to the partner; sending
        the same `request_ref` again ships nothing twice.

        :return: the partner's id of the request
        """
        raise NotImplementedError

    def cancel_fulfilment_request(self, request_ref):
        """Ask the partner to cancel a request it holds (signed like the
        request); asking again is harmless.

        :return: `handoff.CANCELLED`, or `handoff.TOO_LATE` when it shipped
            some of it already
        """
        raise NotImplementedError

    def parse_shipment(self, payload):
        """The `handoff.ShipmentConfirmation` of a confirmation body."""
        raise NotImplementedError

    def parse_stock_snapshot(self, payload):
        """The `handoff.StockSnapshot` of a stock snapshot body."""
        raise NotImplementedError

    def fetch_shipments_since(self, since):
        """Every `ShipmentConfirmation` the partner made at or after `since`
        (aware datetime), for a reconciliation pull."""
        raise NotImplementedError

    # Payouts (capability `supports_payout_import`)

    def fetch_payouts(self, since, cursor=None):
        """One page of the channel's own payment processor's payouts issued
        since `since` (aware datetime or None), newest first.

        :return: ([records.PayoutData], next cursor or None); a payout that
            cannot be read is a `records.UnreadablePayout` in its place
        """
        raise NotImplementedError

    def fetch_payout_lines(self, payout_ref):
        """Every balance transaction of a payout: [records.PayoutLineData]."""
        raise NotImplementedError

    def fetch_payout_refunds(self, payout_ref):
        """The refunds a payout states in full (a channel that reports its
        refunds only in its settlements): [webhooks.WebhookDelivery] of
        `refund_payload_topics`, booked before the payout's lines match.
        None by default: a channel's refunds arrive on their own."""
        return []

    # Marketplaces (capability `supports_marketplaces`)

    def fetch_marketplaces(self):
        """The marketplaces the account sells on: [amazon.Marketplace]-like
        records (external_ref, name, country_code, currency, domain,
        participating)."""
        raise NotImplementedError

    # Catalogue (capability `supports_stock_export`: variants to bind)

    def fetch_variants(self, cursor=None):
        """One page of the channel's variants.

        :return: ([catalogue.ChannelVariant], next cursor or None)
        """
        raise NotImplementedError

    # Catalogue publishing (capability `supports_catalogue_publish`)

    def publish_products(self, products):
        """Create or update `catalogue.ProductData`s with their options and
        variants, in as few calls as the channel allows.

        :return: (results aligned with `products`, calls made); a result is
            a `catalogue.PublishResult` (variants matched by SKU) or the
            ChannelPayloadError of a product the channel refused

        A product's `images` are uploaded and set by adapters whose backend
        has the capability `supports_catalogue_images`; others ignore them.
        """
        raise NotImplementedError

    # Calls `fetch_store_settings` makes (reported apart from publishing's).
    store_settings_reads = 1

    def fetch_store_settings(self):
        """The store's `catalogue.StoreSettings` (currency, weight unit),
        read once per adapter: publishing checks them before any price or
        weight leaves."""
        raise NotImplementedError

    # Topics whose body says what a product is now (`parse_product_edit`).
    product_edit_topics = frozenset()

    def parse_product_edit(self, topic, payload):
        """The `catalogue.ChannelProductEdit` a product delivery of `topic`
        carries; None when the topic carries none."""
        return None

    def update_prices(self, updates):
        """Set the prices of published variants (`catalogue.PriceUpdate`s,
        of any products) in as few calls as the channel allows.

        :return: (calls made, {product ref: why the channel refused})
        """
        raise NotImplementedError
