"""Property-based fuzzing of every payload parser (hypothesis).

Each property starts from a real payload of the channel and replaces or
deletes some of its values with hostile JSON (wrong types, huge numbers,
unicode, malformed dates and ids). Whatever arrives, a parser returns its
record or raises `ChannelPayloadError` saying why: any other exception would
fail a job with a traceback instead of a clear exception for the ops team.
"""

import json

from hypothesis import given
from hypothesis import strategies as st

from odoo.tests import BaseCase, tagged

from ..adapters import ADAPTERS
from ..adapters.exceptions import ChannelPayloadError
from ..adapters.orders_generic import parse_generic_order
from ..adapters.orders_shopify import parse_shopify_graphql_order, parse_shopify_order
from ..adapters.orders_woocommerce import parse_woocommerce_order
from ..adapters.refunds_generic import parse_generic_refund
from ..adapters.refunds_shopify import parse_refund_notice, parse_shopify_graphql_refund
from ..adapters.refunds_woocommerce import parse_woocommerce_refund
from ..adapters.transport import parse_retry_after
from ..adapters.webhooks import parse_timestamp
from .fuzzing import FUZZ, JSON_VALUES, NASTY_TEXT, TRIED, UNHANDLED, mutations_of
from .reference import reference_path
from .test_adapter_orders import FIXTURES, graphql_node
from .test_adapter_refunds import refund_node, woocommerce_refund


def reference(*parts):
    return json.loads(reference_path(*parts).read_text())


SHOPIFY_ORDER = reference("shopify", "webhooks", "orders__create.json")
SHOPIFY_NODE = graphql_node(SHOPIFY_ORDER)
WOO_ORDER = reference("woocommerce", "order__retrieve.json")
GENERIC_ORDER = json.loads((FIXTURES / "generic_order.json").read_text())
GENERIC_REFUND = json.loads((FIXTURES / "generic_refund.json").read_text())
SHOPIFY_REFUND_NODE = refund_node()
SHOPIFY_REFUND_BODY = reference("shopify", "webhooks", "refunds__create.json")
WOO_REFUND = woocommerce_refund(
    shipping_lines=[{"id": 3, "total": "-3.00", "total_tax": "0.00"}]
)
STOCK_REPORT = reference("shopify", "webhooks", "inventory_levels__update.json")
PRIVACY_REQUEST = reference("shopify", "webhooks", "customers__data_request.json")


@tagged("post_install", "-at_install")
class TestParserFuzzing(BaseCase):
    """A record or ChannelPayloadError, whatever the payload."""

    def _holds(self, name, parse, payload):
        TRIED[name] += 1
        try:
            parse(payload)
        except ChannelPayloadError as exc:
            self.assertTrue(str(exc), f"{name}: a payload error says why")
        except Exception:
            UNHANDLED[name] += 1
            raise

    @FUZZ
    @given(mutations_of(SHOPIFY_ORDER))
    def test_shopify_webhook_order(self, payload):
        self._holds("shopify order (webhook)", parse_shopify_order, payload)

    @FUZZ
    @given(mutations_of(SHOPIFY_NODE))
    def test_shopify_graphql_order(self, node):
        self._holds("shopify order (GraphQL)", parse_shopify_graphql_order, node)

    @FUZZ
    @given(mutations_of(WOO_ORDER))
    def test_woocommerce_order(self, payload):
        self._holds("woocommerce order", parse_woocommerce_order, payload)

    @FUZZ
    @given(mutations_of(GENERIC_ORDER))
    def test_generic_order(self, payload):
        self._holds("generic order", parse_generic_order, payload)

    @FUZZ
    @given(mutations_of(SHOPIFY_REFUND_NODE))
    def test_shopify_graphql_refund(self, node):
        self._holds("shopify refund (GraphQL)", parse_shopify_graphql_refund, node)

    @FUZZ
    @given(mutations_of(SHOPIFY_REFUND_BODY))
    def test_shopify_refund_notice(self, payload):
        self._holds(
            "shopify refund notice",
            lambda body: parse_refund_notice("refunds/create", body),
            payload,
        )

    @FUZZ
    @given(mutations_of(WOO_REFUND), mutations_of(WOO_ORDER, max_mutations=2))
    def test_woocommerce_refund(self, refund, order):
        self._holds(
            "woocommerce refund",
            lambda body: parse_woocommerce_refund(body, order),
            refund,
        )

    @FUZZ
    @given(mutations_of(GENERIC_REFUND))
    def test_generic_refund(self, payload):
        self._holds("generic refund", parse_generic_refund, payload)

    @FUZZ
    @given(mutations_of(STOCK_REPORT))
    def test_shopify_stock_report(self, payload):
        adapter = ADAPTERS["shopify"]({})
        self._holds(
            "shopify stock report",
            lambda body: adapter.parse_stock_report("inventory_levels/update", body),
            payload,
        )

    @FUZZ
    @given(mutations_of(PRIVACY_REQUEST))
    def test_shopify_privacy_request(self, payload):
        adapter = ADAPTERS["shopify"]({})
        self._holds(
            "shopify privacy request",
            lambda body: adapter.parse_privacy_request("customers/data_request", body),
            payload,
        )

    @FUZZ
    @given(st.one_of(JSON_VALUES, st.sampled_from(NASTY_TEXT)))
    def test_timestamps_and_retry_after(self, value):
        self._holds("timestamp", parse_timestamp, value)
        TRIED["retry-after"] += 1
        # A Retry-After the channel garbles means "no advice", never an error.
        parse_retry_after(value if isinstance(value, str) else json.dumps(value))

    @FUZZ
    @given(
        st.sampled_from(sorted(ADAPTERS)),
        st.dictionaries(
            st.sampled_from(
                (
                    "X-Shopify-Topic",
                    "X-Shopify-Webhook-Id",
                    "X-Shopify-Event-Id",
                    "X-Shopify-Triggered-At",
                    "X-WC-Webhook-Topic",
                    "X-WC-Webhook-ID",
                    "X-WC-Webhook-Delivery-ID",
                    "X-Channel-Topic",
                    "X-Channel-Event-Id",
                    "X-Channel-Timestamp",
                )
            ),
            st.one_of(st.text(max_size=40), st.sampled_from(NASTY_TEXT)),
        ),
        st.one_of(
            mutations_of(SHOPIFY_ORDER).map(json.dumps),
            mutations_of(WOO_ORDER).map(json.dumps),
            JSON_VALUES.map(json.dumps),
            st.text(max_size=60),
        ).map(lambda text: text.encode("utf-8", "surrogatepass")),
    )
    def test_webhook_deliveries(self, code, headers, body):
        adapter = ADAPTERS[code]({"shop_domain": "demo-shop.myshopify.com"})
        self._holds(
            f"{code} webhook", lambda raw: adapter.parse_webhook(headers, raw), body
        )

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        total = sum(TRIED.values())
        print(  # pylint: disable=print-used
            f"\nparser fuzzing: {total} inputs over {len(TRIED)} parsers, "
            f"{sum(UNHANDLED.values())} unhandled exceptions"
        )
