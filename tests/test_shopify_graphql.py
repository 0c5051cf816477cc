import dataclasses
import json

from graphql import get_operation_ast, parse, validate

from odoo.tests import BaseCase, tagged

from simulator.shopify_graphql import SINGLE_QUERY_MAX_COST
from simulator.throttle import CostCalculator

from ..adapters import (
    fulfilment_shopify,
    orders_shopify,
    payouts_shopify,
    refunds_shopify,
    shopify,
)
from ..adapters.orders_shopify import parse_shopify_graphql_order, parse_shopify_order
from .reference import admin_schema, reference_path
from .test_adapter_orders import graphql_address

DOCUMENTS = {
    "shop": shopify.SHOP_QUERY,
    "set quantities": shopify.SET_QUANTITIES_MUTATION,
    "inventory levels": shopify.LEVELS_QUERY,
    "webhooks": shopify.WEBHOOKS_QUERY,
    "webhook create": shopify.WEBHOOK_CREATE_MUTATION,
    "webhook delete": shopify.WEBHOOK_DELETE_MUTATION,
    "order": orders_shopify.ORDER_QUERY,
    "order line items": orders_shopify.ORDER_CONNECTION_QUERIES["lineItems"],
    "order shipping lines": orders_shopify.ORDER_CONNECTION_QUERIES["shippingLines"],
    "orders page": orders_shopify.ORDERS_PAGE_QUERY,
    "orders count": orders_shopify.ORDERS_COUNT_QUERY,
    "refund": refunds_shopify.REFUND_QUERY,
    "fulfillment orders": fulfilment_shopify.FULFILLMENT_ORDERS_QUERY,
    "fulfillment create": fulfilment_shopify.FULFILLMENT_CREATE_MUTATION,
    "payouts": payouts_shopify.PAYOUTS_QUERY,
    "payout lines": payouts_shopify.BALANCE_TRANSACTIONS_QUERY,
}


def money(amount):
    return {"shopMoney": {"amount": amount, "currencyCode": "USD"}}


@tagged("post_install", "-at_install")
class TestShopifyGraphqlDocuments(BaseCase):
    """Every document we send is valid against the real 2026-07 Admin schema."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.schema = admin_schema()

    def test_documents_validate(self):
        for name, document in DOCUMENTS.items():
            with self.subTest(document=name):
                self.assertEqual(validate(self.schema, parse(document)), [])

    def test_order_documents_stay_under_the_single_query_cost_cap(self):
        """Shopify refuses a query that may cost over 1,000 points: the order
        and each page of its lines must stay under, as the simulator counts."""
        for name in (
            "order",
            "order line items",
            "order shipping lines",
            "refund",
            "fulfillment orders",
            "payouts",
            "payout lines",
        ):
            document = parse(DOCUMENTS[name])
            operation = get_operation_ast(document)
            cost = CostCalculator(self.schema, document, operation, {}).requested()
            with self.subTest(document=name, cost=cost):
                self.assertLess(cost, SINGLE_QUERY_MAX_COST)

    def test_a_typo_would_fail(self):
        typo = shopify.SHOP_QUERY.replace("myshopifyDomain", "myShopifyDomain")
        errors = validate(self.schema, parse(typo))
        self.assertIn("myShopifyDomain", errors[0].message)


@tagged("post_install", "-at_install")
class TestShopifyGraphqlOrder(BaseCase):
    """The GraphQL parser and the webhook parser agree on the same order."""

    def _webhook_payload(self):
        payload = json.loads(
            reference_path("shopify", "webhooks", "orders__create.json").read_text()
        )
        payload.update(financial_status="paid", cancelled_at=None, shipping_lines=[])
        line = payload["line_items"][0]
        line.update(
            variant_id=501,
            discount_allocations=[
                {"amount": "5.00", "amount_set": {"shop_money": {"amount": "5.00"}}}
            ],
            tax_lines=[
                {
                    "title": "State tax",
                    "rate": 0.06,
                    "price": "5.10",
                    "price_set": {"shop_money": {"amount": "5.10"}},
                }
            ],
        )
        payload["line_items"] = [line]
        return payload

    def _graphql_node(self, payload):
        line = payload["line_items"][0]
        customer = payload["customer"]
        return {
            "id": f"gid://shopify/Order/{payload['id']}",
            "name": payload["name"],
            "email": payload["email"],
            "createdAt": payload["created_at"],
            "updatedAt": payload["updated_at"],
            "cancelledAt": None,
            "currencyCode": "USD",
            "presentmentCurrencyCode": "USD",
            "taxesIncluded": False,
            "displayFinancialStatus": "PAID",
            "displayFulfillmentStatus": None,
            "totalPriceSet": money(payload["total_price"]),
            "subtotalPriceSet": money(payload["subtotal_price"]),
            "totalTaxSet": money(payload["total_tax"]),
            "totalDiscountsSet": money(payload["total_discounts"]),
            "totalShippingPriceSet": money("10.00"),
            "customer": {
                "id": f"gid://shopify/Customer/{customer['id']}",
                "email": customer["email"],
                "phone": customer["phone"],
                "firstName": customer["first_name"],
                "lastName": customer["last_name"],
            },
            "billingAddress": graphql_address(payload["billing_address"]),
            "shippingAddress": graphql_address(payload["shipping_address"]),
            "retailLocation": None,
            "risk": {
                "recommendation": "CANCEL",
                "assessments": [
                    {"riskLevel": "HIGH", "facts": [{"description": "VPN"}]}
                ],
            },
            "note": payload["note"],
            "tags": [t.strip() for t in payload["tags"].split(",") if t.strip()],
            "lineItems": {
                "nodes": [
                    {
                        "id": f"gid://shopify/LineItem/{line['id']}",
                        "sku": line["sku"],
                        "name": line["name"],
                        "quantity": line["quantity"],
                        "isGiftCard": False,
                        "requiresShipping": True,
                        "variant": {
                            "id": "gid://shopify/ProductVariant/501",
                            "product": {
                                "id": f"gid://shopify/Product/{line['product_id']}"
                            },
                        },
                        "originalUnitPriceSet": money(line["price"]),
                        "discountAllocations": [{"allocatedAmountSet": money("5.00")}],
                        "taxLines": [
                            {
                                "title": "State tax",
                                "rate": 0.06,
                                "priceSet": money("5.10"),
                            }
                        ],
                    }
                ]
            },
            "shippingLines": {"nodes": []},
            "transactions": [
                {
                    "id": "gid://shopify/OrderTransaction/77",
                    "gateway": "shopify_payments",
                    "kind": "SALE",
                    "status": "SUCCESS",
                    "authorizationCode": "ch_3PqR",
                    "processedAt": payload["created_at"],
                    "amountSet": money(payload["total_price"]),
                }
            ],
        }

    def test_both_parsers_give_the_same_order(self):
        payload = self._webhook_payload()
        from_webhook = parse_shopify_order(payload)
        from_graphql = parse_shopify_graphql_order(self._graphql_node(payload))
        # Only GraphQL carries transactions, risk and the fulfilment display status.
        comparable = dataclasses.replace(
            from_graphql,
            transactions=(),
            is_high_risk=False,
            risk_reasons=(),
            fulfillment_status=from_webhook.fulfillment_status,
            location_ref=from_webhook.location_ref,
        )
        self.assertEqual(comparable, from_webhook)
        self.assertEqual(from_graphql.external_ref, str(payload["id"]))
        self.assertTrue(from_graphql.is_high_risk)
        self.assertEqual(from_graphql.transactions[0].transaction_ref, "ch_3PqR")
        self.assertEqual(from_graphql.transactions[0].kind, "sale")
        self.assertEqual(from_graphql.lines[0].variant_ref, "501")
