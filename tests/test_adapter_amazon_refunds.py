"""Amazon refunds from a settlement flat file's Refund rows to canonical
refunds: one per adjustment, fees left out, facilitator tax netted,
promotions given back, no guessed quantity, bad input."""

from decimal import Decimal

from odoo.tests import BaseCase, tagged

from ..adapters.exceptions import ChannelPayloadError
from ..adapters.payouts_amazon import parse_settlement
from ..adapters.records import RESTOCK_NONE, RESTOCK_RETURN
from ..adapters.refunds_amazon import (
    REFUND_TOPIC,
    parse_amazon_refund,
    refund_deliveries,
)
from .test_adapter_amazon_settlement import ORDER, flat_file, order_row


def refund_row(amount_type, description, amount, adjustment="ADJ1", **extra):
    return order_row(
        amount_type,
        description,
        amount,
        **{"transaction-type": "Refund", "adjustment-id": adjustment, **extra},
    )


def deliveries(rows):
    text = flat_file(rows)
    payout, _lines = parse_settlement(text)
    return refund_deliveries(text, payout)


@tagged("post_install", "-at_install")
class TestAmazonRefundParser(BaseCase):
    def test_a_refund_is_its_units_shipping_and_promotion_without_fees(self):
        unit = {"sku": "AMZ-1", "quantity-purchased": "1"}
        (delivery,) = deliveries(
            [
                order_row("ItemPrice", "Principal", "30.00", sku="AMZ-1"),
                refund_row("ItemPrice", "Principal", "-15.00", **unit),
                refund_row("ItemPrice", "Tax", "-1.20", **unit),
                refund_row(
                    "ItemWithheldTax",
                    "MarketplaceFacilitatorTax-Principal",
                    "1.20",
                    **unit,
                ),
                refund_row("ItemPrice", "Shipping", "-5.00", **unit),
                refund_row("Promotion", "Principal", "2.00", **unit),
                refund_row("ItemFees", "Commission", "2.25", **unit),
                refund_row("ItemFees", "RefundCommission", "-0.45", **unit),
            ]
        )
        self.assertEqual(delivery.topic, REFUND_TOPIC)
        self.assertEqual(delivery.dedupe_key, "refund:ADJ1")
        self.assertEqual(delivery.resource_ref, "ADJ1")
        refund = parse_amazon_refund(delivery.payload)
        self.assertEqual((refund.external_ref, refund.order_ref), ("ADJ1", ORDER))
        (line,) = refund.lines
        self.assertEqual((line.sku, line.quantity), ("AMZ-1", Decimal(1)))
        self.assertEqual(line.subtotal, Decimal("13.00"), "promotion not given")
        self.assertEqual(line.tax, Decimal(0), "the facilitator tax was Amazon's")
        self.assertEqual(line.restock_type, RESTOCK_NONE)
        self.assertEqual(refund.shipping_lines[0].amount, Decimal("5.00"))
        self.assertEqual(refund.total, Decimal("18.00"))
        self.assertEqual(refund.computed_total(), refund.total)
        (payment,) = refund.refund_transactions
        self.assertEqual((payment.transaction_ref, payment.gateway), ("ADJ1", "amazon"))
        self.assertEqual(payment.amount, Decimal("18.00"))

    def test_a_principal_without_quantity_is_an_amount_not_guessed_units(self):
        (delivery,) = deliveries(
            [refund_row("ItemPrice", "Principal", "-20.00", sku="AMZ-1")]
        )
        refund = parse_amazon_refund(delivery.payload, restock=True)
        self.assertFalse(refund.lines)
        self.assertEqual([a.amount for a in refund.adjustments], [Decimal("20.00")])
        self.assertEqual(refund.expected_total(), Decimal("20.00"))

    def test_restock_follows_the_policy(self):
        (delivery,) = deliveries(
            [
                refund_row(
                    "ItemPrice",
                    "Principal",
                    "-9.99",
                    sku="A",
                    **{"quantity-purchased": "1"},
                )
            ]
        )
        (line,) = parse_amazon_refund(delivery.payload, restock=True).lines
        self.assertEqual(line.restock_type, RESTOCK_RETURN)

    def test_two_adjustments_of_one_order_are_two_refunds(self):
        found = deliveries(
            [
                refund_row("ItemPrice", "Principal", "-5.00", adjustment="ADJ1"),
                refund_row("ItemPrice", "Principal", "-7.00", adjustment="ADJ2"),
            ]
        )
        totals = {d.resource_ref: parse_amazon_refund(d.payload).total for d in found}
        self.assertEqual(totals, {"ADJ1": Decimal("5.00"), "ADJ2": Decimal("7.00")})

    def test_bad_refunds_are_payload_errors(self):
        with self.assertRaisesRegex(ChannelPayloadError, "adjustment-id"):
            deliveries([refund_row("ItemPrice", "Principal", "-5.00", adjustment="")])
        (delivery,) = deliveries(
            [refund_row("ItemPrice", "Principal", "-5.00", sku="A")]
        )
        payload = {**delivery.payload, "rows": [{"amount": "ten", "amount-type": "x"}]}
        with self.assertRaises(ChannelPayloadError):
            parse_amazon_refund(payload)
        with self.assertRaisesRegex(ChannelPayloadError, "order-id"):
            parse_amazon_refund({"adjustment-id": "ADJ1"})
