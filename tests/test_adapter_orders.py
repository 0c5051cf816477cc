"""The canonical order: Shopify, WooCommerce and generic payloads to OrderData."""

import copy
import json
import re
from decimal import Decimal
from pathlib import Path

from graphql import parse, validate

from odoo.tests import BaseCase, tagged

from ..adapters import ADAPTERS
from ..adapters.exceptions import ChannelPayloadError
from ..adapters.orders import IMPORT_ACTIONS
from ..adapters.orders_generic import parse_generic_order
from ..adapters.orders_shopify import (
    ORDER_QUERY,
    ORDERS_PAGE_QUERY,
    parse_shopify_graphql_order,
    parse_shopify_order,
)
from ..adapters.orders_woocommerce import parse_woocommerce_order
from ..adapters.records import CustomerData, DiscountData, OrderData
from .reference import admin_schema, reference_path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCHEMA = (
    Path(__file__).resolve().parent.parent / "schemas" / "generic_order.schema.json"
)


def load_reference(*parts):
    return json.loads(reference_path(*parts).read_text())


def money_set(amount, presentment=None, shop="USD", buyer="USD"):
    """A Shopify `*_set` block; `presentment` differs for a foreign buyer."""
    return {
        "shop_money": {"amount": str(amount), "currency_code": shop},
        "presentment_money": {
            "amount": str(presentment or amount),
            "currency_code": buyer,
        },
    }


def allocation(amount, index):
    return {"amount_set": money_set(amount), "discount_application_index": index}


def shopify_line(line_id, sku, price, quantity, *, allocations=(), taxes=()):
    return {
        "id": line_id,
        "sku": sku,
        "name": sku,
        "variant_id": line_id + 1,
        "product_id": line_id + 2,
        "quantity": quantity,
        "price_set": money_set(price),
        "gift_card": False,
        "requires_shipping": True,
        "discount_allocations": list(allocations),
        "tax_lines": [
            {"title": "VAT", "rate": 0.2, "price_set": money_set(t)} for t in taxes
        ],
    }


def shopify_totals(payload, total, tax, discounts, shipping):
    payload.update(
        total_price_set=money_set(total),
        total_tax_set=money_set(tax),
        total_discounts_set=money_set(discounts),
        total_shipping_price_set=money_set(shipping),
    )
    return payload


def spring_order(included):
    """Two lines, 10 % code SPRING10 across them, taxed shipping (VAT 20 %).

    Lines 2 × 24.00 and 1 × 12.00, discounts 4.80 + 1.20, shipping 6.00:
    60.00 with taxes included; 72.00 plus 12.00 of tax when excluded.
    """
    payload = load_reference("shopify", "webhooks", "orders__create.json")
    taxes = ("7.20", "1.80", "1.00") if included else ("8.64", "2.16", "1.20")
    payload.update(
        taxes_included=included,
        financial_status="paid",
        cancelled_at=None,
        discount_codes=[{"code": "SPRING10", "amount": "6.00", "type": "percentage"}],
        discount_applications=[
            {
                "type": "discount_code",
                "code": "SPRING10",
                "target_type": "line_item",
                "target_selection": "all",
                "allocation_method": "across",
                "value": "10.0",
                "value_type": "percentage",
            }
        ],
        line_items=[
            shopify_line(
                100,
                "MUG",
                "24.00",
                2,
                allocations=[allocation("4.80", 0)],
                taxes=taxes[:1],
            ),
            shopify_line(
                200,
                "CUP",
                "12.00",
                1,
                allocations=[allocation("1.20", 0)],
                taxes=taxes[1:2],
            ),
        ],
    )
    shipping = payload["shipping_lines"][0]
    shipping.update(
        price_set=money_set("6.00"),
        tax_lines=[{"title": "VAT", "rate": 0.2, "price_set": money_set(taxes[2])}],
    )
    if included:
        return shopify_totals(payload, "60.00", "10.00", "6.00", "6.00")
    return shopify_totals(payload, "72.00", "12.00", "6.00", "6.00")


def graphql_money(block):
    shop = block["shop_money"]
    return {
        "shopMoney": {"amount": shop["amount"], "currencyCode": shop["currency_code"]}
    }


def graphql_gid(kind, value):
    return f"gid://shopify/{kind}/{value}" if value is not None else None


def graphql_address(address):
    if not address:
        return None
    return {
        "name": address["name"],
        "company": address["company"],
        "address1": address["address1"],
        "address2": address["address2"],
        "city": address["city"],
        "zip": address["zip"],
        "provinceCode": address["province_code"],
        "countryCodeV2": address["country_code"],
        "phone": address["phone"],
    }


def graphql_allocations(item):
    return [
        {
            "allocatedAmountSet": graphql_money(a["amount_set"]),
            "discountApplication": {"index": a.get("discount_application_index")},
        }
        for a in item["discount_allocations"]
    ]


def graphql_taxes(item):
    return [
        {
            "title": t["title"],
            "rate": t["rate"],
            "priceSet": graphql_money(t["price_set"]),
        }
        for t in item["tax_lines"]
    ]


def graphql_line(line):
    return {
        "id": graphql_gid("LineItem", line["id"]),
        "sku": line["sku"],
        "name": line["name"],
        "quantity": line["quantity"],
        "isGiftCard": line["gift_card"],
        "requiresShipping": line["requires_shipping"],
        "variant": line["variant_id"]
        and {"id": graphql_gid("ProductVariant", line["variant_id"])},
        "product": line["product_id"]
        and {"id": graphql_gid("Product", line["product_id"])},
        "originalUnitPriceSet": graphql_money(line["price_set"]),
        "discountAllocations": graphql_allocations(line),
        "taxLines": graphql_taxes(line),
    }


def graphql_shipping(line):
    return {
        "title": line["title"],
        "code": line["code"],
        "isRemoved": line["is_removed"],
        "originalPriceSet": graphql_money(line["price_set"]),
        "discountAllocations": graphql_allocations(line),
        "taxLines": graphql_taxes(line),
    }


def graphql_application(index, application):
    node = {"index": index, "targetType": application["target_type"].upper()}
    if application.get("code"):
        node["code"] = application["code"]
    else:
        node["title"] = application.get("title")
    return node


def graphql_customer(customer):
    if not customer:
        return None
    return {
        "id": graphql_gid("Customer", customer["id"]),
        "firstName": customer["first_name"],
        "lastName": customer["last_name"],
        "defaultEmailAddress": {"emailAddress": customer["email"]},
        "defaultPhoneNumber": customer["phone"] and {"phoneNumber": customer["phone"]},
    }


def graphql_node(payload):
    """The ORDER_QUERY answer Shopify gives for the order of a webhook body."""
    fulfillment = payload["fulfillment_status"] or "unfulfilled"
    return {
        "id": payload["admin_graphql_api_id"],
        "name": payload["name"],
        "email": payload["email"],
        "phone": payload["phone"],
        "createdAt": payload["created_at"],
        "updatedAt": payload["updated_at"],
        "cancelledAt": payload["cancelled_at"],
        "currencyCode": payload["currency"],
        "presentmentCurrencyCode": payload["presentment_currency"],
        "taxesIncluded": payload["taxes_included"],
        "note": payload["note"],
        "tags": [t.strip() for t in payload["tags"].split(",")],
        "displayFinancialStatus": payload["financial_status"].upper(),
        "displayFulfillmentStatus": fulfillment.upper(),
        "totalPriceSet": graphql_money(payload["total_price_set"]),
        "subtotalPriceSet": graphql_money(payload["subtotal_price_set"]),
        "totalTaxSet": graphql_money(payload["total_tax_set"]),
        "totalDiscountsSet": graphql_money(payload["total_discounts_set"]),
        "totalShippingPriceSet": graphql_money(payload["total_shipping_price_set"]),
        "customer": graphql_customer(payload["customer"]),
        "billingAddress": graphql_address(payload["billing_address"]),
        "shippingAddress": graphql_address(payload["shipping_address"]),
        "retailLocation": None,
        "risk": {"recommendation": "ACCEPT", "assessments": []},
        "discountApplications": {
            "nodes": [
                graphql_application(index, application)
                for index, application in enumerate(payload["discount_applications"])
            ]
        },
        "lineItems": {
            "pageInfo": {"hasNextPage": False},
            "nodes": [graphql_line(line) for line in payload["line_items"]],
        },
        "shippingLines": {
            "pageInfo": {"hasNextPage": False},
            "nodes": [graphql_shipping(line) for line in payload["shipping_lines"]],
        },
        "transactions": [],
    }


def graphql_transaction(gateway, amount, authorization=None, receipt="{}"):
    return {
        "id": "gid://shopify/OrderTransaction/120560818172775265",
        "gateway": gateway,
        "kind": "SALE",
        "status": "SUCCESS",
        "authorizationCode": authorization,
        "receiptJson": receipt,
        "processedAt": "2026-01-01T00:00:00Z",
        "amountSet": {"shopMoney": {"amount": amount, "currencyCode": "USD"}},
    }


@tagged("post_install", "-at_install")
class TestShopifyOrderParser(BaseCase):
    """Webhook bodies (orders/create|updated|cancelled) to the canonical order."""

    def assertConsistent(self, order):
        self.assertEqual(order.computed_total(), order.total)

    def test_reference_samples_parse_and_add_up(self):
        for topic in ("orders__create", "orders__updated", "orders__cancelled"):
            with self.subTest(topic=topic):
                order = parse_shopify_order(
                    load_reference("shopify", "webhooks", f"{topic}.json")
                )
                self.assertEqual(order.total, Decimal("404.95"))
                self.assertEqual(len(order.lines), 5)
                self.assertConsistent(order)

    def test_unallocated_discount_of_the_sample_is_an_order_discount(self):
        order = parse_shopify_order(
            load_reference("shopify", "webhooks", "orders__create.json")
        )
        # total_discounts 20.00, yet no line or shipping line carries it.
        self.assertEqual(
            order.discounts,
            (DiscountData("Unallocated discount", None, Decimal("20.00"), "order"),),
        )

    def test_sample_statuses_dates_and_customer(self):
        order = parse_shopify_order(
            load_reference("shopify", "webhooks", "orders__cancelled.json")
        )
        self.assertEqual(order.financial_status, "voided")
        self.assertEqual(order.fulfillment_status, "unfulfilled")
        self.assertEqual(order.cancelled_at.isoformat(), "2022-01-01T00:00:00+00:00")
        self.assertEqual(order.created_at.utcoffset().total_seconds(), 0)
        self.assertEqual(order.tags, ("tag1", "tag2"))
        self.assertEqual(order.customer.email, "john@example.com")
        self.assertTrue(order.customer.external_ref, "not a guest")
        self.assertEqual(order.shipping_address.state_code, "KY")
        self.assertEqual(order.currency, "USD")

    def test_big_ids_stay_exact_strings(self):
        order = parse_shopify_order(
            load_reference("shopify", "webhooks", "orders__create.json")
        )
        self.assertEqual(order.external_ref, "820982911946154508")
        self.assertEqual(order.lines[0].external_ref, "487817672276298554")
        self.assertEqual(order.lines[0].product_ref, "788032119674292922")
        self.assertEqual(order.customer.external_ref, "115310627314723954")
        self.assertGreater(int(order.external_ref), 2**53)

    def test_taxes_included_order_with_code_discount_and_taxed_shipping(self):
        order = parse_shopify_order(spring_order(included=True))
        self.assertTrue(order.taxes_included)
        self.assertEqual(
            [
                (line.unit_price, line.quantity, line.discount_amount)
                for line in order.lines
            ],
            [
                (Decimal("24.00"), 2, Decimal("4.80")),
                (Decimal("12.00"), 1, Decimal("1.20")),
            ],
        )
        tax = order.lines[0].taxes[0]
        self.assertEqual((tax.rate, tax.amount), (Decimal("0.2"), Decimal("7.20")))
        self.assertTrue(tax.price_included)
        self.assertEqual(order.shipping_lines[0].taxes[0].amount, Decimal("1.00"))
        self.assertEqual(
            order.discounts,
            (DiscountData("SPRING10", "SPRING10", Decimal("6.00"), "line"),),
        )
        self.assertConsistent(order)

    def test_taxes_excluded_order_adds_the_tax(self):
        order = parse_shopify_order(spring_order(included=False))
        self.assertFalse(order.lines[0].taxes[0].price_included)
        self.assertEqual(order.total_tax, Decimal("12.00"))
        self.assertConsistent(order)

    def test_free_shipping_discount_is_a_shipping_discount(self):
        payload = spring_order(included=True)
        payload["discount_applications"].append(
            {
                "type": "automatic",
                "title": "Free shipping",
                "target_type": "shipping_line",
            }
        )
        payload["shipping_lines"][0]["discount_allocations"] = [allocation("6.00", 1)]
        order = parse_shopify_order(
            shopify_totals(payload, "54.00", "9.00", "12.00", "6.00")
        )
        self.assertEqual(order.shipping_lines[0].discount_amount, Decimal("6.00"))
        self.assertEqual(
            [(d.title, d.kind, d.amount) for d in order.discounts],
            [
                ("SPRING10", "line", Decimal("6.00")),
                ("Free shipping", "shipping", Decimal("6.00")),
            ],
        )
        self.assertConsistent(order)

    def test_guest_checkout_normalises_the_order_email(self):
        payload = spring_order(included=True)
        payload.update(customer=None, email="  Jon.Doe@Example.COM ")
        order = parse_shopify_order(payload)
        self.assertIsNone(order.customer.external_ref, "a guest")
        self.assertEqual(order.customer.email, "jon.doe@example.com")

    def test_foreign_buyer_amounts_are_in_shop_currency(self):
        payload = spring_order(included=True)
        for key in ("total_price_set", "total_tax_set", "total_discounts_set"):
            payload[key] = money_set(
                payload[key]["shop_money"]["amount"], presentment="1.00", buyer="EUR"
            )
        payload["line_items"][0]["price_set"] = money_set("24.00", "22.00", buyer="EUR")
        payload["presentment_currency"] = "EUR"
        order = parse_shopify_order(payload)
        self.assertEqual((order.currency, order.presentment_currency), ("USD", "EUR"))
        self.assertEqual(order.lines[0].unit_price, Decimal("24.00"))
        self.assertEqual(order.total, Decimal("60.00"))
        self.assertConsistent(order)

    def test_removed_shipping_line_is_ignored(self):
        payload = spring_order(included=True)
        payload["shipping_lines"].append(
            dict(payload["shipping_lines"][0], is_removed=True, title="Express")
        )
        order = parse_shopify_order(payload)
        self.assertEqual([s.title for s in order.shipping_lines], ["Generic Shipping"])

    def test_digest_follows_the_content(self):
        payload = spring_order(included=True)
        first = parse_shopify_order(payload)
        self.assertEqual(
            first.source_payload_digest,
            parse_shopify_order(copy.deepcopy(payload)).source_payload_digest,
        )
        payload["note"] = "changed"
        self.assertNotEqual(
            first.source_payload_digest,
            parse_shopify_order(payload).source_payload_digest,
        )

    def test_malformed_payloads_name_the_problem(self):
        sample = load_reference("shopify", "webhooks", "orders__create.json")
        no_id = dict(sample, id=None)
        bad_total = dict(sample, total_price_set=money_set("abc"))
        bad_quantity = copy.deepcopy(sample)
        bad_quantity["line_items"][0]["quantity"] = "two"
        cases = {
            "not an object": (["a list"], "not a JSON object"),
            "no id": (no_id, "has no id"),
            "no currency": (dict(sample, currency=""), "has no currency"),
            "no total": (
                dict(sample, total_price_set=None, total_price=None),
                "has no total_price",
            ),
            "bad total": (bad_total, "total_price_set is not an amount: 'abc'"),
            "bad quantity": (bad_quantity, "line_items[].quantity"),
            "lines not a list": (dict(sample, line_items="x"), "line_items"),
            "infinite": (dict(sample, total_price_set=money_set("Infinity")), "amount"),
            "customer a string": (dict(sample, customer="x"), "malformed"),
        }
        for name, (payload, message) in cases.items():
            with (
                self.subTest(name),
                self.assertRaisesRegex(ChannelPayloadError, re.escape(message)),
            ):
                parse_shopify_order(payload)


@tagged("post_install", "-at_install")
class TestShopifyGraphqlOrderParser(BaseCase):
    """ORDER_QUERY's answer gives the same order as the webhook body."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.schema = admin_schema()

    def test_documents_validate_against_the_2026_07_schema(self):
        for document in (ORDER_QUERY, ORDERS_PAGE_QUERY):
            self.assertEqual(validate(self.schema, parse(document)), [])

    def test_an_unknown_field_would_fail_validation(self):
        wrong = ORDER_QUERY.replace("taxesIncluded", "taxesIncludedz")
        self.assertIn("taxesIncludedz", validate(self.schema, parse(wrong))[0].message)

    def test_sample_order_is_equal_from_both_parsers(self):
        payload = load_reference("shopify", "webhooks", "orders__create.json")
        self.assertEqual(
            parse_shopify_graphql_order(graphql_node(payload)),
            parse_shopify_order(payload),
        )

    def test_discounted_order_is_equal_from_both_parsers(self):
        for included in (True, False):
            with self.subTest(included=included):
                payload = spring_order(included)
                from_graphql = parse_shopify_graphql_order(graphql_node(payload))
                self.assertEqual(from_graphql, parse_shopify_order(payload))
                self.assertEqual(from_graphql.discounts[0].code, "SPRING10")

    def test_guest_order_is_equal_from_both_parsers(self):
        payload = spring_order(included=True)
        payload.update(customer=None, email="Guest@Example.com")
        self.assertEqual(
            parse_shopify_graphql_order(graphql_node(payload)),
            parse_shopify_order(payload),
        )

    def test_transactions_gift_cards_and_memo_reference(self):
        node = graphql_node(spring_order(included=True))
        node["transactions"] = [
            graphql_transaction("gift_card", "25.00"),
            graphql_transaction(
                "shopify_payments", "35.00", receipt='{"id": "ch_3PqR"}'
            ),
            graphql_transaction("bogus", "1.00", authorization="1001"),
        ]
        order = parse_shopify_graphql_order(node)
        self.assertEqual(order.gift_card_amount, Decimal("25.00"))
        self.assertEqual(
            [(t.kind, t.status, t.transaction_ref) for t in order.transactions],
            [
                ("sale", "success", None),
                ("sale", "success", "ch_3PqR"),
                ("sale", "success", "1001"),
            ],
        )
        self.assertEqual(order.transactions[0].external_ref, "120560818172775265")

    def test_risk_recommendation_and_reasons(self):
        node = graphql_node(spring_order(included=True))
        node["risk"] = {
            "recommendation": "INVESTIGATE",
            "assessments": [
                {"riskLevel": "MEDIUM", "facts": [{"description": "Proxy IP"}]}
            ],
        }
        order = parse_shopify_graphql_order(node)
        self.assertTrue(order.is_high_risk)
        self.assertEqual(order.risk_reasons, ("Proxy IP",))
        node["risk"]["recommendation"] = "ACCEPT"
        self.assertFalse(parse_shopify_graphql_order(node).is_high_risk)

    def test_order_with_more_lines_than_read_is_refused(self):
        node = graphql_node(spring_order(included=True))
        node["lineItems"]["pageInfo"]["hasNextPage"] = True
        with self.assertRaisesRegex(ChannelPayloadError, "more than 50 lineItems"):
            parse_shopify_graphql_order(node)
        node["lineItems"]["pageInfo"]["hasNextPage"] = False
        node["shippingLines"]["pageInfo"] = {"hasNextPage": True}
        with self.assertRaisesRegex(ChannelPayloadError, "more than 10 shippingLines"):
            parse_shopify_graphql_order(node)

    def test_malformed_node(self):
        node = graphql_node(spring_order(included=True))
        node["totalPriceSet"] = {"shopMoney": {"amount": "abc"}}
        for bad, message in ((None, "no id"), ({"name": "#1"}, "no id"), (node, "abc")):
            with (
                self.subTest(message),
                self.assertRaisesRegex(ChannelPayloadError, message),
            ):
                parse_shopify_graphql_order(bad)


@tagged("post_install", "-at_install")
class TestWooCommerceOrderParser(BaseCase):
    """REST v3 order bodies (webhook = GET) to the canonical order."""

    def setUp(self):
        super().setUp()
        self.payload = load_reference("woocommerce", "order__retrieve.json")

    def test_reference_order_parses_and_adds_up(self):
        order = parse_woocommerce_order(self.payload)
        self.assertEqual((order.external_ref, order.name), ("727", "#727"))
        self.assertEqual(order.financial_status, "processing")
        self.assertEqual(order.total, Decimal("29.35"))
        self.assertEqual(order.computed_total(), order.total)
        first, second = order.lines
        self.assertEqual((first.unit_price, first.quantity), (Decimal("3.00"), 2))
        self.assertEqual(
            second.name, "Ship Your Idea \u2013 Color: Black, Size: M Test"
        )
        self.assertEqual(
            (second.sku, second.variant_ref, second.product_ref), ("Bar3", "23", "22")
        )
        # The sample's tax line has no rate_percent: the rate is derived.
        self.assertEqual(first.taxes[0].rate, Decimal("0.075"))
        self.assertEqual(first.taxes[0].title, "State Tax")

    def test_guest_customer_and_bank_transfer_payment(self):
        order = parse_woocommerce_order(self.payload)
        self.assertIsNone(order.customer.external_ref, "a guest")
        self.assertEqual(order.customer.email, "john.doe@example.com")
        (payment,) = order.transactions
        self.assertEqual((payment.gateway, payment.status), ("bacs", "success"))
        self.assertEqual(payment.processed_at.isoformat(), "2017-03-22T19:28:08+00:00")
        self.assertIsNone(payment.transaction_ref)

    def test_prices_including_tax_add_the_tax_back(self):
        self.payload.update(prices_include_tax=True, customer_id=12)
        order = parse_woocommerce_order(self.payload)
        self.assertEqual(order.lines[0].unit_price, Decimal("3.225"))
        self.assertTrue(order.lines[0].taxes[0].price_included)
        self.assertEqual(order.computed_total(), order.total)
        self.assertEqual(order.customer.external_ref, "12")

    def test_coupon_fee_and_rate_percent(self):
        line = self.payload["line_items"][1]
        line.update(
            total="10.80", total_tax="0.81", taxes=[{"id": 75, "total": "0.81"}]
        )
        self.payload["tax_lines"][0]["rate_percent"] = 7.5
        self.payload["coupon_lines"] = [
            {"id": 1, "code": "spring", "discount": "1.20", "discount_tax": "0.09"}
        ]
        self.payload["fee_lines"] = [
            {
                "id": 2,
                "name": "Gift wrap",
                "total": "2.00",
                "total_tax": "0.00",
                "taxes": [],
            }
        ]
        self.payload.update(discount_total="1.20", total_tax="1.26", total="30.06")
        order = parse_woocommerce_order(self.payload)
        self.assertEqual(order.lines[1].discount_amount, Decimal("1.20"))
        self.assertEqual(order.lines[1].taxes[0].rate, Decimal("0.075"))
        self.assertEqual(
            order.discounts,
            (DiscountData("spring", "spring", Decimal("1.20"), "line"),),
        )
        self.assertEqual(
            [(s.title, s.code) for s in order.shipping_lines],
            [("Flat Rate", "flat_rate"), ("Gift wrap", "fee")],
        )
        self.assertEqual(order.computed_total(), order.total)

    def test_malformed_payloads(self):
        bad_quantity = copy.deepcopy(self.payload)
        bad_quantity["line_items"][0]["quantity"] = "abc"
        cases = (
            ("not a dict", "not a JSON object"),
            (dict(self.payload, id=None), "has no id"),
            (dict(self.payload, total="abc"), "total is not an amount"),
            (bad_quantity, "line_items[].quantity"),
            (dict(self.payload, billing="x"), "malformed"),
        )
        for payload, message in cases:
            with (
                self.subTest(message),
                self.assertRaisesRegex(ChannelPayloadError, re.escape(message)),
            ):
                parse_woocommerce_order(payload)


def schema_errors(value, schema, root, where="order"):
    """The few JSON Schema rules our schema uses, enough to check the fixture."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = {
            **root["$defs"][name],
            **{k: v for k, v in schema.items() if k != "$ref"},
        }
    types = schema.get("type")
    types = [types] if isinstance(types, str) else types or []
    kinds = {
        "object": dict,
        "array": list,
        "string": str,
        "boolean": bool,
        "null": type(None),
    }
    if types and not any(isinstance(value, kinds[t]) for t in types):
        return [f"{where}: not {types}"]
    errors = []
    if isinstance(value, dict):
        errors += [
            f"{where}.{k} missing" for k in schema.get("required", ()) if k not in value
        ]
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            errors += [f"{where}.{k} unknown" for k in value if k not in properties]
        for key, item in value.items():
            if key in properties:
                errors += schema_errors(item, properties[key], root, f"{where}.{key}")
    if isinstance(value, list):
        for index, item in enumerate(value):
            errors += schema_errors(
                item, schema.get("items", {}), root, f"{where}[{index}]"
            )
    if (
        isinstance(value, str)
        and "pattern" in schema
        and not re.search(schema["pattern"], value)
    ):
        errors.append(f"{where}: does not match {schema['pattern']}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: not in {schema['enum']}")
    return errors


@tagged("post_install", "-at_install")
class TestGenericOrderParser(BaseCase):
    """The published generic format: schema, example, parser."""

    def setUp(self):
        super().setUp()
        self.payload = json.loads((FIXTURES / "generic_order.json").read_text())

    def test_example_satisfies_the_published_schema(self):
        schema = json.loads(SCHEMA.read_text())
        self.assertEqual(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema"
        )
        self.assertEqual(schema_errors(self.payload, schema, schema), [])
        del self.payload["lines"][0]["unit_price"]
        self.payload["surprise"] = 1
        self.assertEqual(
            schema_errors(self.payload, schema, schema),
            ["order.surprise unknown", "order.lines[0].unit_price missing"],
        )

    def test_schema_and_parser_require_the_same_fields(self):
        schema = json.loads(SCHEMA.read_text())
        for field in schema["required"]:
            with (
                self.subTest(field),
                self.assertRaisesRegex(
                    ChannelPayloadError, re.escape(f"order.{field} is required")
                ),
            ):
                parse_generic_order(
                    {k: v for k, v in self.payload.items() if k != field}
                )

    def test_example_parses_and_adds_up(self):
        order = parse_generic_order(self.payload)
        self.assertIsInstance(order, OrderData)
        self.assertEqual(
            (order.provider, order.external_ref, order.name),
            ("generic", "G-1001", "WEB-1001"),
        )
        self.assertEqual(order.created_at.isoformat(), "2026-05-04T07:15:00+00:00")
        self.assertEqual(
            order.customer,
            CustomerData(
                None, "ada.lovelace@example.com", "+33 1 23 45 67 89", "Ada", "Lovelace"
            ),
        )
        self.assertEqual(order.lines[0].quantity, Decimal("2"))
        self.assertTrue(order.lines[1].is_gift_card)
        self.assertFalse(order.lines[1].requires_shipping)
        self.assertEqual([d.kind for d in order.discounts], ["line", "order"])
        self.assertEqual(order.gift_card_amount, Decimal("25.00"))
        self.assertEqual(order.transactions[0].transaction_ref, "ch_3NXyz")
        self.assertEqual(order.tags, ("web", "spring"))
        self.assertEqual(order.computed_total(), order.total)

    def test_invalid_fields_are_named(self):
        line = dict(self.payload["lines"][0], unit_price="abc")
        cases = (
            ("not an object", "not a JSON object"),
            (dict(self.payload, id=1001), "order.id must be a JSON string"),
            (dict(self.payload, total=47.6), "order.total must be a decimal string"),
            (dict(self.payload, lines=[line]), "lines[0].unit_price is not an amount"),
            (dict(self.payload, lines=[]), "order.lines must not be empty"),
            (
                dict(
                    self.payload,
                    lines=[{"id": "x", "quantity": "1", "unit_price": "1"}],
                ),
                "needs a sku",
            ),
            (
                dict(self.payload, discounts=[{"amount": "1", "kind": "cart"}]),
                "discounts[0].kind",
            ),
            (
                dict(
                    self.payload,
                    payments=[{"gateway": "x", "amount": "1", "status": "ok"}],
                ),
                "payments[0].status",
            ),
            (dict(self.payload, created_at="yesterday"), "Unreadable timestamp"),
        )
        for payload, message in cases:
            with (
                self.subTest(message),
                self.assertRaisesRegex(ChannelPayloadError, re.escape(message)),
            ):
                parse_generic_order(payload)


@tagged("post_install", "-at_install")
class TestOrderStatusAction(BaseCase):
    """Each adapter's table from channel statuses to import actions."""

    def test_table_examples(self):
        examples = {
            ("shopify", "pending", None, False): "wait",
            ("shopify", "authorized", None, False): "confirm",
            ("shopify", "paid", "fulfilled", False): "confirm",
            ("shopify", "voided", None, False): "cancel",
            ("shopify", "paid", None, True): "cancel",
            ("woocommerce", "pending", None, False): "wait",
            ("woocommerce", "on-hold", None, False): "quotation",
            ("woocommerce", "processing", None, False): "confirm",
            ("woocommerce", "failed", None, False): "cancel",
            ("generic", "PAID", None, False): "confirm",
            ("generic", "quotation", None, False): "quotation",
            ("generic", "something-new", None, False): "quotation",
        }
        for arguments, action in examples.items():
            with self.subTest(arguments):
                provider, *statuses = arguments
                adapter = ADAPTERS[provider]({})
                self.assertEqual(adapter.order_status_action(*statuses), action)

    def test_every_entry_is_a_known_action(self):
        without = {code for code, cls in ADAPTERS.items() if not cls.status_actions}
        self.assertEqual(without, {"threepl"}, "the warehouse partner has no orders")
        for code, adapter_class in ADAPTERS.items():
            if code in without:
                continue
            with self.subTest(adapter=code):
                actions = set(adapter_class.status_actions.values())
                self.assertTrue(actions)
                self.assertLessEqual(actions, set(IMPORT_ACTIONS))
        shopify = set(ADAPTERS["shopify"].status_actions)
        self.assertLessEqual(
            {
                "pending",
                "authorized",
                "partially_paid",
                "paid",
                "partially_refunded",
                "refunded",
                "voided",
                "expired",
            },
            shopify,
        )

    def test_parsed_orders_feed_the_table(self):
        order = parse_shopify_order(spring_order(included=True))
        adapter = ADAPTERS["shopify"]({})
        action = adapter.order_status_action(
            order.financial_status,
            order.fulfillment_status,
            bool(order.cancelled_at),
        )
        self.assertEqual(action, "confirm")
        sample = parse_shopify_order(
            load_reference("shopify", "webhooks", "orders__create.json")
        )
        self.assertEqual(
            adapter.order_status_action(
                sample.financial_status,
                None,
                bool(sample.cancelled_at),
            ),
            "cancel",
        )
