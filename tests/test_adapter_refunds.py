"""Refund parsers (Shopify, generic, WooCommerce) and the refund figures."""

import json
import re
from decimal import Decimal
from pathlib import Path

from odoo.tests import BaseCase, tagged

from ..adapters.exceptions import ChannelPayloadError
from ..adapters.refunds_generic import parse_generic_refund
from ..adapters.refunds_shopify import (
    parse_refund_notice,
    parse_shopify_graphql_refund,
)
from ..adapters.refunds_woocommerce import parse_woocommerce_refund
from .test_adapter_orders import schema_errors


def bag(amount):
    return {"shopMoney": {"amount": str(amount), "currencyCode": "EUR"}}


def refund_node(**changes):
    """A `refund` node as REFUND_QUERY reads it (shape of the Admin schema)."""
    node = {
        "id": "gid://shopify/Refund/901",
        "createdAt": "2026-11-02T09:00:00Z",
        "note": None,
        "order": {
            "id": "gid://shopify/Order/77",
            "currencyCode": "EUR",
            "taxesIncluded": False,
        },
        "totalRefundedSet": bag("32.40"),
        "refundLineItems": {
            "pageInfo": {"hasNextPage": False},
            "nodes": [
                {
                    "id": "gid://shopify/RefundLineItem/5",
                    "quantity": 1,
                    "restockType": "RETURN",
                    "location": {"id": "gid://shopify/Location/1001"},
                    "lineItem": {"id": "gid://shopify/LineItem/3"},
                    "subtotalSet": bag("18.00"),
                    "totalTaxSet": bag("3.60"),
                }
            ],
        },
        "refundShippingLines": {
            "nodes": [{"id": "1", "subtotalAmountSet": bag(5), "taxAmountSet": bag(1)}]
        },
        "orderAdjustments": {
            "nodes": [
                {
                    "id": "gid://shopify/OrderAdjustment/8",
                    "reason": "REFUND_DISCREPANCY",
                    "amountSet": bag("-4.80"),
                    "taxAmountSet": bag("0"),
                }
            ]
        },
        "transactions": {
            "nodes": [
                {
                    "id": "gid://shopify/OrderTransaction/44",
                    "gateway": "shopify_payments",
                    "kind": "REFUND",
                    "status": "SUCCESS",
                    "authorizationCode": "re_123",
                    "receiptJson": None,
                    "processedAt": "2026-11-02T09:00:01Z",
                    "amountSet": bag("32.40"),
                }
            ]
        },
    }
    node.update(changes)
    return node


def woocommerce_refund(**changes):
    """A WooCommerce refund of one line (its amounts negative), as its REST API
    gives it."""
    return {
        "id": 701,
        "amount": "15.00",
        "reason": "Broken",
        "refunded_payment": True,
        "line_items": [
            {
                "id": 9,
                "quantity": -1,
                "total": "-10.00",
                "total_tax": "-2.00",
                "meta_data": [{"key": "_refunded_item_id", "value": "5"}],
            }
        ],
        **changes,
    }


@tagged("post_install", "-at_install")
class TestShopifyRefundParser(BaseCase):
    def test_refund_node_becomes_the_canonical_refund(self):
        refund = parse_shopify_graphql_refund(refund_node())
        self.assertEqual(refund.external_ref, "901")
        self.assertEqual(refund.order_ref, "77")
        line = refund.lines[0]
        self.assertEqual((line.line_ref, line.quantity), ("3", Decimal(1)))
        self.assertTrue(line.restocks)
        self.assertEqual(line.location_ref, "1001")
        # A negative adjustment gives the buyer more back.
        self.assertEqual(refund.adjustments[0].amount, Decimal("4.80"))
        self.assertEqual(refund.refund_transactions[0].transaction_ref, "re_123")
        # 18 + 3.60 tax + 5 + 1 tax shipping + 4.80 = what was given back.
        self.assertEqual(refund.computed_total(), Decimal("32.40"))
        self.assertEqual(refund.expected_total(), refund.total)

    def test_store_credit_refund_is_worth_its_lines(self):
        refund = parse_shopify_graphql_refund(
            refund_node(totalRefundedSet=bag(0), transactions={"nodes": []})
        )
        self.assertFalse(refund.money_moved)
        self.assertEqual(refund.expected_total(), Decimal("32.40"))

    def test_unusable_refunds_are_payload_errors(self):
        for node in (
            {},
            refund_node(order=None),
            refund_node(
                refundLineItems={"pageInfo": {"hasNextPage": True}, "nodes": []}
            ),
        ):
            with self.subTest(node=node), self.assertRaises(ChannelPayloadError):
                parse_shopify_graphql_refund(node)

    def test_only_refunds_create_announces_a_refund(self):
        notice = parse_refund_notice("refunds/create", {"id": 901, "order_id": 77})
        self.assertEqual((notice.refund_ref, notice.order_ref), ("901", "77"))
        self.assertIsNone(parse_refund_notice("orders/updated", {"id": 77}))
        with self.assertRaises(ChannelPayloadError):
            parse_refund_notice("refunds/create", {"order_id": 77})


@tagged("post_install", "-at_install")
class TestGenericRefundParser(BaseCase):
    """The published generic refund: schema, example, parser."""

    def setUp(self):
        super().setUp()
        root = Path(__file__).resolve().parent
        self.payload = json.loads((root / "fixtures/generic_refund.json").read_text())
        self.schema = json.loads(
            (root.parent / "schemas/generic_refund.schema.json").read_text()
        )

    def test_example_follows_the_schema_and_its_consistency_rule(self):
        self.assertEqual(
            schema_errors(self.payload, self.schema, self.schema, "refund"), []
        )
        refund = parse_generic_refund(self.payload)
        self.assertEqual(refund.computed_total(), refund.total)
        self.assertEqual(refund.expected_total(), Decimal("16.60"))
        self.assertEqual((refund.external_ref, refund.order_ref), ("R-1001", "G-1001"))
        line = refund.lines[0]
        self.assertEqual((line.line_ref, line.quantity), ("L1", Decimal("1")))
        self.assertTrue(line.restocks)
        self.assertEqual(refund.refund_transactions[0].transaction_ref, "re_3NXyz")
        self.assertEqual(refund.adjustments[0].amount, Decimal("2.80"))
        wrong = dict(self.payload, surprise=1)
        self.assertIn(
            "refund.surprise unknown",
            schema_errors(wrong, self.schema, self.schema, "refund"),
        )

    def test_bad_refunds_name_their_field(self):
        line = dict(self.payload["lines"][0], quantity=1)
        cases = (
            ({k: v for k, v in self.payload.items() if k != "order_id"}, "order_id"),
            (dict(self.payload, amount=16.6), "refund.amount must be a decimal"),
            (dict(self.payload, lines=[line]), "lines[0].quantity must be"),
            (
                dict(self.payload, lines=[], shipping=[], adjustments=[]),
                "refunds nothing",
            ),
            ([], "not a JSON object"),
        )
        for payload, message in cases:
            with (
                self.subTest(message),
                self.assertRaisesRegex(ChannelPayloadError, re.escape(message)),
            ):
                parse_generic_refund(payload)


@tagged("post_install", "-at_install")
class TestWooCommerceRefundParser(BaseCase):
    """WooCommerce's negative refund lines, read from the order's side."""

    order = {"id": 42, "currency": "EUR", "prices_include_tax": True}

    def test_lines_turn_positive_and_the_rest_is_an_adjustment(self):
        order = dict(self.order, payment_method="stripe")
        refund = parse_woocommerce_refund(woocommerce_refund(), order, restock=False)
        line = refund.lines[0]
        self.assertEqual((line.line_ref, line.quantity), ("5", Decimal("1")))
        self.assertEqual((line.subtotal, line.tax), (Decimal("12.00"), Decimal("2")))
        self.assertFalse(line.restocks)
        self.assertEqual(refund.adjustments[0].amount, Decimal("3.00"))
        self.assertEqual(refund.computed_total(), refund.total)
        self.assertEqual(refund.refund_transactions[0].gateway, "stripe")
        restocked = parse_woocommerce_refund(woocommerce_refund(), order, restock=True)
        self.assertTrue(restocked.lines[0].restocks)

    def test_a_refund_by_hand_moves_no_money_and_a_bad_line_is_named(self):
        manual = parse_woocommerce_refund(
            woocommerce_refund(refunded_payment=False), self.order
        )
        self.assertFalse(manual.money_moved)
        nameless = woocommerce_refund()
        nameless["line_items"][0]["meta_data"] = []
        with self.assertRaisesRegex(ChannelPayloadError, "names no order line"):
            parse_woocommerce_refund(nameless, self.order)
