"""Dispute, return and order edit parsers (Shopify, generic)."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from odoo.tests import BaseCase, tagged

from ..adapters.disputes_generic import parse_generic_dispute
from ..adapters.disputes_shopify import parse_dispute_webhook, parse_graphql_dispute
from ..adapters.exceptions import ChannelPayloadError
from ..adapters.order_edits_shopify import parse_order_edit
from ..adapters.returns_shopify import parse_graphql_return, parse_return_notice
from .test_adapter_orders import schema_errors

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@tagged("post_install", "-at_install")
class TestDisputeParsers(BaseCase):
    def test_shopify_dispute_body_and_graphql_node_agree(self):
        body = json.loads((FIXTURES / "shopify_dispute.json").read_text())["dispute"]
        dispute = parse_dispute_webhook(dict(body, order_id=625362839))
        self.assertEqual(dispute.external_ref, "1052608616")
        self.assertEqual(dispute.order_ref, "625362839")
        self.assertEqual((dispute.status, dispute.amount), ("won", Decimal("100.00")))
        self.assertTrue(dispute.is_closed)
        self.assertEqual(
            dispute.evidence_due_by, datetime(2013, 7, 3, 23, 0, tzinfo=UTC)
        )
        node = parse_graphql_dispute(
            {
                "id": "gid://shopify/ShopifyPaymentsDispute/1052608616",
                "status": "LOST",
                "type": "CHARGEBACK",
                "amount": {"amount": "100.00", "currencyCode": "USD"},
                "reasonDetails": {"reason": "FRAUDULENT"},
                "evidenceDueBy": "2013-07-03T23:00:00Z",
                "order": {"id": "gid://shopify/Order/625362839"},
            }
        )
        self.assertEqual(node.external_ref, dispute.external_ref)
        self.assertEqual(node.evidence_due_by, dispute.evidence_due_by)
        self.assertTrue(node.is_lost)
        self.assertEqual(node.reason, "fraudulent")

    def test_generic_dispute_example_follows_the_schema(self):
        payload = json.loads((FIXTURES / "generic_dispute.json").read_text())
        schema = json.loads(
            (FIXTURES.parent.parent / "schemas/generic_dispute.schema.json").read_text()
        )
        self.assertEqual(schema_errors(payload, schema, schema, "dispute"), [])
        dispute = parse_generic_dispute(payload)
        self.assertEqual(
            (dispute.external_ref, dispute.order_ref), ("D-1001", "G-1001")
        )
        self.assertEqual(dispute.gateway, "stripe")
        for wrong, message in (
            (dict(payload, amount=16.6), "dispute.amount must be a decimal"),
            (dict(payload, status="open"), "dispute.status must be one of"),
            (dict(payload, amount="0"), "must be positive"),
        ):
            with (
                self.subTest(message),
                self.assertRaisesRegex(ChannelPayloadError, message),
            ):
                parse_generic_dispute(wrong)


@tagged("post_install", "-at_install")
class TestReturnAndEditParsers(BaseCase):
    def test_shopify_return(self):
        self.assertEqual(
            parse_return_notice(
                "returns/approve", {"admin_graphql_api_id": "gid://shopify/Return/9"}
            ),
            "9",
        )
        self.assertIsNone(parse_return_notice("orders/create", {"id": 1}))
        channel_return = parse_graphql_return(
            {
                "id": "gid://shopify/Return/9",
                "status": "OPEN",
                "order": {"id": "gid://shopify/Order/7"},
                "returnLineItems": {
                    "nodes": [
                        {
                            "quantity": 2,
                            "fulfillmentLineItem": {
                                "lineItem": {"id": "gid://shopify/LineItem/70"}
                            },
                        }
                    ]
                },
            }
        )
        self.assertEqual(channel_return.status, "open")
        self.assertEqual(channel_return.lines, (("70", Decimal(2)),))

    def test_shopify_order_edit(self):
        edit = parse_order_edit(
            "orders/edited",
            {
                "order_edit": {
                    "id": 78912328,
                    "order_id": 450789469,
                    "line_items": {
                        "additions": [{"id": 466157049, "delta": 1}],
                        "removals": [{"id": 518995019, "delta": 1}],
                    },
                    "discounts": {"line_item": {"additions": [], "removals": []}},
                    "shipping_lines": {"additions": [{"id": 1}], "removals": []},
                }
            },
        )
        self.assertEqual((edit.external_ref, edit.order_ref), ("78912328", "450789469"))
        self.assertEqual(edit.removals, (("518995019", Decimal(1)),))
        self.assertEqual(edit.additions, (("466157049", Decimal(1)),))
        self.assertEqual(edit.other_changes, ("shipping",))
        with self.assertRaisesRegex(ChannelPayloadError, "no order_edit id"):
            parse_order_edit("orders/edited", {"order_edit": {}})
