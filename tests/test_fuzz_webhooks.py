"""Property-based fuzzing of the webhook endpoint and of event processing.

Signed deliveries whose bodies and headers hypothesis mangles go over raw
sockets to the running test server (real cursors, committed) for each
provider: the answer is never a 500 and never a dropped connection; a
delivery answered 200 or 400 is stored byte-exact. Then every stored event
is processed as its job would (in a transaction rolled back afterwards): it
ends done, ignored, failed with an exception for the ops team, waiting, or
asks for a retry; it never raises anything else.
"""

import base64
import json
import uuid
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from odoo import SUPERUSER_ID, api, sql_db
from odoo.tests import BaseCase, get_db_name, tagged

from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters import ADAPTERS
from ..adapters.exceptions import ChannelPayloadError
from .common import delete_committed_backends
from .fuzzing import FUZZ, JSON_VALUES, NASTY_TEXT, TRIED, UNHANDLED, mutations_of
from .test_fuzz_parsers import GENERIC_ORDER, SHOPIFY_ORDER, WOO_ORDER
from .test_webhook_bad_input import http_request, send

SECRET = "fuzz_webhook_secret"
TOPICS = {
    "shopify": ("orders/create", "orders/updated", "refunds/create", "x/y"),
    "woocommerce": ("order.created", "order.updated", "product.updated", "x.y"),
    "generic": ("orders/create", "orders/updated", "orders/refund", "x/y"),
}
SIGNATURE_HEADERS = {
    "shopify": "X-Shopify-Hmac-Sha256",
    "woocommerce": "X-WC-Webhook-Signature",
    "generic": "X-Channel-Signature",
}
SEEDS = {"shopify": SHOPIFY_ORDER, "woocommerce": WOO_ORDER, "generic": GENERIC_ORDER}


def delivery_headers(provider, topic):
    """The headers each channel sends with a delivery (unsigned yet)."""
    event_id = uuid.uuid4().hex
    if provider == "shopify":
        return {
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": "fuzz-shop.myshopify.com",
            "X-Shopify-Webhook-Id": f"w-{event_id}",
            "X-Shopify-Event-Id": event_id,
        }
    if provider == "woocommerce":
        return {
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-ID": "7",
            "X-WC-Webhook-Delivery-ID": event_id,
        }
    return {
        "X-Channel-Topic": topic,
        "X-Channel-Event-Id": event_id,
        "X-Channel-Timestamp": datetime.now(UTC).isoformat(),
    }


def bodies(provider):
    """Raw bodies: the channel's payload mangled, any JSON, any bytes."""
    return st.one_of(
        mutations_of(SEEDS[provider]).map(lambda doc: json.dumps(doc).encode()),
        JSON_VALUES.map(lambda doc: json.dumps(doc).encode()),
        st.binary(max_size=200),
        st.sampled_from(NASTY_TEXT).map(str.encode),
    )


@tagged("post_install", "-at_install")
class TestWebhookFuzzing(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = sql_db.db_connect(get_db_name())
        with cls.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            cls.backend_ids = {
                provider: env["channel.backend"]
                .create(
                    {
                        "name": f"Fuzz {provider}",
                        "provider": provider,
                        "state": "connected",
                        "shopify_shop_domain": "fuzz-shop.myshopify.com",
                        "webhook_secret": SECRET,
                        "api_url": "http://127.0.0.1:9",
                    }
                )
                .id
                for provider in SEEDS
            }
        cls.stored = []
        cls.addClassCleanup(cls._clean_up)

    @classmethod
    def _clean_up(cls):
        with cls.db.cursor() as cr:
            delete_committed_backends(cr, list(cls.backend_ids.values()))

    def _event_id(self, backend_id, body):
        with self.db.cursor() as cr:
            cr.execute(
                "SELECT id FROM channel_event WHERE backend_id = %s"
                " AND COALESCE(raw_body, ''::bytea) = %s ORDER BY id DESC",
                [backend_id, base64.b64encode(body)],
            )
            row = cr.fetchone()
        return row and row[0]

    def _twin_id(self, adapter, backend_id, headers, body):
        """The event an accepted delivery was a duplicate of (same dedupe key:
        the same channel event, or the same version of its resource)."""
        try:
            key = adapter.parse_webhook(headers, body).dedupe_key
        except ChannelPayloadError:
            return None
        with self.db.cursor() as cr:
            cr.execute(
                "SELECT id FROM channel_event WHERE backend_id = %s"
                " AND dedupe_key = %s",
                [backend_id, key],
            )
            row = cr.fetchone()
        return row and row[0]

    @FUZZ
    @given(
        st.sampled_from(sorted(SEEDS)),
        st.data(),
        st.dictionaries(
            st.sampled_from(("X-Shopify-Triggered-At", "X-Shopify-Webhook-Id")),
            st.sampled_from(NASTY_TEXT[1:]),
            max_size=1,
        ),
    )
    def _deliver(self, provider, data, extra):
        """A signed delivery is answered (never 500) and, if 200/400, kept."""
        topic = data.draw(st.sampled_from(TOPICS[provider]))
        body = data.draw(bodies(provider))
        headers = {**delivery_headers(provider, topic), **extra}
        adapter = ADAPTERS[provider]({})
        signature = adapter.expected_signature(headers, body, SECRET)
        headers[SIGNATURE_HEADERS[provider]] = signature
        backend_id = self.backend_ids[provider]
        raw = http_request(
            "POST",
            f"/channel_connector/webhook/{backend_id}",
            [("Content-Type", "application/json"), *headers.items()],
            body,
        )
        TRIED[f"{provider} endpoint"] += 1
        status, _elapsed = send(raw)
        if status in (0, 500):
            UNHANDLED[f"{provider} endpoint"] += 1
        self.assertNotIn(status, (0, 500), f"{provider} {topic}: {body[:80]!r}")
        if status in (200, 400):
            event_id = self._event_id(backend_id, body) or self._twin_id(
                adapter, backend_id, headers, body
            )
            self.assertTrue(event_id, f"answered {status}: kept, or a known twin")
            self.stored.append(event_id)

    def test_mangled_deliveries_are_kept_then_processed_or_reported(self):
        self._deliver()
        self.assertTrue(self.stored)
        outcomes = {}
        for event_id in self.stored:
            with self.db.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                event = env["channel.event"].browse(event_id)
                TRIED["event processing"] += 1
                try:
                    outcome = event._job_process()
                except RetryableJobError:
                    outcome = "retry"
                except Exception:
                    UNHANDLED["event processing"] += 1
                    raise
                finally:
                    cr.rollback()
            key = outcome.split(":")[0] if isinstance(outcome, str) else outcome
            outcomes[key] = outcomes.get(key, 0) + 1
        print(  # pylint: disable=print-used
            f"\nwebhook fuzzing: {sum(TRIED.values())} inputs, "
            f"{sum(UNHANDLED.values())} unhandled; event outcomes {outcomes}"
        )
