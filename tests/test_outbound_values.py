"""Odoo's empty values never reach a channel as "False", 0 or an empty price."""

import json
from decimal import Decimal

from odoo.tests import BaseCase, tagged

from ..adapters.catalogue import ProductData, VariantData
from ..adapters.shopify import product_set_input
from ..adapters.values import missing_fields, money_text, outbound, outbound_money


@tagged("post_install", "-at_install")
class TestOutboundValues(BaseCase):
    def test_empty_odoo_values_become_none(self):
        for empty in (False, None, "", "   "):
            self.assertIsNone(outbound(empty), repr(empty))
            self.assertIsNone(outbound_money(empty), repr(empty))
        self.assertEqual(outbound("  SKU-1 "), "SKU-1")
        self.assertEqual(outbound(0), 0, "a real zero is a value, False is not")
        self.assertIs(outbound(True), True)

    def test_money_is_exact_and_rounded_half_up(self):
        self.assertEqual(outbound_money(19.99), Decimal("19.99"))
        self.assertEqual(outbound_money(0.125), Decimal("0.13"))
        self.assertEqual(outbound_money(2.5, digits=0), Decimal("3"))
        self.assertEqual(outbound_money("1e2"), Decimal("100.00"))
        self.assertIsNone(outbound_money("abc"))
        self.assertIsNone(outbound_money(float("nan")))
        self.assertIsNone(outbound_money(True), "a bool is no amount")
        self.assertEqual(money_text(Decimal("7.50")), "7.50")
        self.assertIsNone(money_text(None))

    def test_missing_fields_names_them_in_order(self):
        values = {"sku": None, "price": None, "barcode": None}
        self.assertEqual(missing_fields(values, ("sku", "price")), ["sku", "price"])
        self.assertEqual(missing_fields({"sku": "A", "price": 0}, ("sku",)), [])

    def test_shopify_product_input_leaves_out_what_odoo_does_not_hold(self):
        product = ProductData(
            title="Mug",
            variants=(VariantData(sku="MUG-1", price=Decimal("9.90")),),
        )
        data = product_set_input(product)
        text = json.dumps(data)
        self.assertNotIn("False", text)
        self.assertNotIn("descriptionHtml", data)
        variant = data["variants"][0]
        self.assertEqual(variant["price"], "9.90")
        self.assertNotIn("barcode", variant)
        self.assertNotIn("measurement", variant["inventoryItem"])
        self.assertIsNone(variant["compareAtPrice"], "null clears, never 0")
        self.assertEqual(
            data["productOptions"],
            [{"name": "Title", "position": 1, "values": [{"name": "Default Title"}]}],
        )
