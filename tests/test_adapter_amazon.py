"""Amazon Orders API v0 JSON to the canonical order: exact amounts, the
marketplace facilitator tax, VAT-inclusive marketplaces, bad input."""

from decimal import Decimal

from odoo.tests import BaseCase, tagged

from ..adapters.amazon import AmazonAdapter, OperationPacer, _listed, refill_seconds
from ..adapters.exceptions import ChannelPayloadError, ChannelSignatureError
from ..adapters.orders_amazon import parse_amazon_order, parse_listed_order
from ..adapters.records import UnreadableOrder
from ..adapters.redaction import mask


def money(amount, currency="USD"):
    return {"CurrencyCode": currency, "Amount": amount}


def order(total="0.00", currency="USD", **extra):
    return {
        "AmazonOrderId": "113-0000001-0000001",
        "PurchaseDate": "2026-12-01T10:00:00Z",
        "LastUpdateDate": "2026-12-01T10:05:00Z",
        "OrderStatus": "Unshipped",
        "FulfillmentChannel": "MFN",
        "MarketplaceId": "ATVPDKIKX0DER",
        "OrderTotal": money(total, currency),
        "BuyerInfo": {"BuyerEmail": "Abc@Marketplace.Amazon.com"},
        **extra,
    }


def item(item_id="1", quantity=1, price="10.00", tax="0.00", currency="USD", **extra):
    return {
        "ASIN": f"B0{item_id}",
        "SellerSKU": f"SKU-{item_id}",
        "OrderItemId": item_id,
        "QuantityOrdered": quantity,
        "ItemPrice": money(price, currency),
        "ItemTax": money(tax, currency),
        **extra,
    }


FACILITATOR = {"Model": "MarketplaceFacilitator", "ResponsibleParty": "Amazon"}


@tagged("post_install", "-at_install")
class TestAmazonOrderParser(BaseCase):
    def test_facilitator_tax_is_left_out_and_the_total_stays_exact(self):
        parsed = parse_amazon_order(
            order("34.24"),
            [
                item(
                    "1",
                    2,
                    "20.00",
                    "1.60",
                    TaxCollection=FACILITATOR,
                    ShippingPrice=money("4.99"),
                    ShippingTax=money("0.40"),
                    PromotionDiscount=money("2.00"),
                    PromotionDiscountTax=money("0.16"),
                ),
                item("2", 1, "9.00", "0.41", TaxCollection=FACILITATOR),
            ],
        )
        # 20 - 2 + 9 + 4.99 = 31.99 is the seller's; 2.25 is Amazon's tax.
        self.assertEqual(parsed.total, Decimal("31.99"))
        self.assertEqual(parsed.computed_total(), parsed.total)
        self.assertEqual(parsed.total_tax, 0)
        self.assertTrue(all(not line.taxes for line in parsed.lines))
        self.assertIn("2.25 USD", parsed.note)
        self.assertEqual(parsed.lines[0].discount_amount, Decimal("2.00"))
        self.assertEqual(parsed.discounts[0].kind, "line")
        self.assertEqual(parsed.customer.email, "abc@marketplace.amazon.com")
        self.assertEqual(parsed.location_ref, "MFN")

    def test_a_price_that_does_not_divide_keeps_amazons_figure(self):
        parsed = parse_amazon_order(order("10.00"), [item("1", 3, "10.00")])
        line = parsed.lines[0]
        self.assertEqual(line.unit_price, Decimal("3.34"))
        self.assertEqual(line.unit_price * 3 - line.discount_amount, Decimal("10.00"))
        self.assertEqual(parsed.computed_total(), parsed.total)

    def test_seller_collected_tax_is_a_tax_line(self):
        parsed = parse_amazon_order(
            order("27.00"),
            [
                item(
                    "1",
                    1,
                    "20.00",
                    "1.60",
                    ShippingPrice=money("5.00"),
                    ShippingTax=money("0.40"),
                )
            ],
        )
        self.assertEqual(parsed.total, Decimal("27.00"))
        self.assertEqual(parsed.total_tax, Decimal("2.00"))
        [tax] = parsed.lines[0].taxes
        self.assertEqual((tax.title, tax.rate), ("Amazon tax", Decimal("0.0800")))
        self.assertEqual(parsed.shipping_lines[0].taxes[0].rate, Decimal("0.0800"))
        self.assertEqual(parsed.computed_total(), parsed.total)

    def test_vat_inclusive_marketplace_with_facilitator_vat(self):
        parsed = parse_amazon_order(
            order("24.00", "EUR", MarketplaceId="A1PA6795UKMFR9"),
            [item("1", 1, "24.00", "4.00", "EUR", TaxCollection=FACILITATOR)],
        )
        self.assertTrue(parsed.taxes_included)
        self.assertEqual(parsed.lines[0].unit_price, Decimal("20.00"))
        self.assertEqual(parsed.total, Decimal("20.00"))
        self.assertEqual(parsed.computed_total(), parsed.total)

    def test_cancelled_items_and_orders(self):
        parsed = parse_amazon_order(
            order("10.00", OrderStatus="Canceled"),
            [item("1", 1), item("2", 0)],
        )
        self.assertEqual(len(parsed.lines), 1)
        self.assertEqual(parsed.cancelled_at.isoformat(), "2026-12-01T10:05:00+00:00")
        adapter = AmazonAdapter({})
        self.assertEqual(adapter.order_status_action("canceled", None, True), "cancel")
        self.assertEqual(adapter.order_status_action("pending", None, False), "wait")
        self.assertEqual(
            adapter.order_status_action("Shipped".lower(), None, False), "confirm"
        )

    def test_pending_order_without_total_parses_as_waiting(self):
        pending = order(OrderStatus="Pending")
        del pending["OrderTotal"]
        parsed = parse_amazon_order(pending, [item("1", 1, "0.00")])
        self.assertEqual(parsed.financial_status, "pending")
        self.assertEqual(parsed.total, 0)

    def test_bad_payloads_are_clear_errors(self):
        with self.assertRaisesRegex(ChannelPayloadError, "AmazonOrderId"):
            parse_amazon_order({"OrderStatus": "Shipped"}, [])
        with self.assertRaisesRegex(ChannelPayloadError, "not an amount"):
            parse_amazon_order(order("x"), [item()])
        with self.assertRaisesRegex(ChannelPayloadError, "timestamp"):
            parse_listed_order(order(LastUpdateDate="yesterday"))

    def test_an_unreadable_listed_order_fails_alone(self):
        bad = _listed(order(OrderTotal=money("1,00")))
        self.assertIsInstance(bad, UnreadableOrder)
        self.assertEqual(bad.external_ref, "113-0000001-0000001")
        self.assertEqual(_listed(order("1.00")).total, Decimal("1.00"))

    def test_a_429_waits_one_requests_refill(self):
        self.assertEqual(refill_seconds({"x-amzn-RateLimit-Limit": "0.5"}), 2.0)
        self.assertIsNone(refill_seconds({}))
        self.assertIsNone(refill_seconds({"x-amzn-RateLimit-Limit": "0"}))

    def test_lwa_tokens_and_secrets_are_masked_in_log_text(self):
        text = mask(
            "refresh_token=Atzr|IwEBIabc-1.2 client_secret=s3cr3t "
            "{'x-amz-access-token': 'Atza|IwEBIxyz'} token Atza|IwEBIqq"
        )
        for secret in ("IwEBIabc", "s3cr3t", "IwEBIxyz", "IwEBIqq"):
            self.assertNotIn(secret, text)

    def test_an_item_is_bound_by_the_sellers_sku(self):
        line = parse_amazon_order(order("10.00"), [item("7")]).lines[0]
        self.assertEqual((line.variant_ref, line.product_ref), ("SKU-7", "B07"))


@tagged("post_install", "-at_install")
class TestOperationPacer(BaseCase):
    """After a 429 the operation's calls are spaced by one request's refill,
    until an idle spell long enough for Amazon's bucket to be full again."""

    def setUp(self):
        super().setUp()
        self.now = 100.0
        self.slept = []

        def sleep(seconds):
            self.slept.append(round(seconds, 3))
            self.now += seconds

        self.pacer = OperationPacer(clock=lambda: self.now, sleep=sleep)

    def test_unthrottled_operation_is_not_paced(self):
        for _call in range(5):
            self.pacer.wait("https://sp", "getOrder")
        self.assertEqual(self.slept, [])

    def test_calls_after_a_429_are_spaced_by_one_refill(self):
        self.pacer.throttled("https://sp", "getOrder", 2.0)
        for _call in range(3):
            self.pacer.wait("https://sp", "getOrder")
        self.assertEqual(self.slept, [2.0, 2.0, 2.0])
        # Another operation, or the same one of another account: its own bucket.
        self.pacer.wait("https://sp", "getOrderItems")
        self.pacer.wait("https://other", "getOrder")
        self.assertEqual(len(self.slept), 3)

    def test_an_idle_spell_refills_the_burst(self):
        self.pacer.throttled("https://sp", "getOrder", 2.0)
        self.pacer.wait("https://sp", "getOrder")
        self.now += 2.0 * 30 + 10  # getOrder's burst of 30, refilled
        self.pacer.wait("https://sp", "getOrder")
        self.pacer.wait("https://sp", "getOrder")
        self.assertEqual(self.slept, [2.0])


@tagged("post_install", "-at_install")
class TestAmazonSendsNoWebhooks(BaseCase):
    def test_a_delivery_is_refused_with_a_channel_error(self):
        adapter = AmazonAdapter({})
        with self.assertRaises(ChannelSignatureError):
            adapter.verify_webhook({}, b"{}")
        with self.assertRaises(ChannelPayloadError):
            adapter.parse_webhook({}, b"{}")
