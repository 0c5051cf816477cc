from datetime import timedelta

from odoo import Command, fields
from odoo.tests import tagged

from .test_channel_http import SimulatorCommon


@tagged("post_install", "-at_install")
class TestCatalogueMatch(SimulatorCommon):
    """Channel variants bound to Odoo variants by SKU, with the refs that stock
    export needs (Shopify inventory items, WooCommerce variation parents)."""

    def _products(self, skus):
        return self.env["product.product"].create(
            [{"name": sku, "default_code": sku, "is_storable": True} for sku in skus]
        )

    def _map_location(self, backend, location_ref):
        self.env["channel.stock.location"].create(
            {
                "backend_id": backend.id,
                "name": location_ref,
                "location_ref": location_ref,
                "location_ids": [Command.set(self.stock.ids)],
            }
        )

    def _bindings(self, backend):
        return self.env["channel.product.binding"].search(
            [("backend_id", "=", backend.id)]
        )

    def test_shopify_variants_bound_by_sku_with_inventory_items(self):
        variant_ids = self.sim.state.seed_catalogue(130, max_variants=3)
        products = self._products([f"SIM-{n:06d}" for n in range(1, 130)])
        summary = self.shopify._match_catalogue()
        self.assertEqual(summary["bound"], 129, "two pages of 100 walked")
        self.assertEqual(summary["unmatched"], ["SIM-000130"])
        self.assertIn(
            "1 without an Odoo variant: SIM-000130",
            self.shopify.catalogue_match_message,
        )
        binding = self._bindings(self.shopify).filtered(
            lambda b: b.external_ref == variant_ids[0]
        )
        variant = self.sim.state.variants[variant_ids[0]]
        self.assertEqual(binding.product_id, products[0])
        self.assertEqual(binding.inventory_item_ref, variant["inventory_item"])
        self.assertEqual(binding.product_ref, variant["product"])
        again = self.shopify._match_catalogue()
        self.assertEqual((again["bound"], again["refreshed"]), (0, 0))
        self.assertEqual(len(self._bindings(self.shopify)), 129)

    def test_binding_made_by_an_order_gets_its_inventory_item(self):
        """An order line knows the variant, not its inventory item: the match
        fills it, and the variant's stock can then be published."""
        (ref,) = self.sim.state.seed_catalogue(1)
        (product,) = self._products(["SIM-000001"])
        binding = self.env["channel.product.binding"].create(
            {
                "backend_id": self.shopify.id,
                "company_id": self.env.company.id,
                "external_ref": ref,
                "product_id": product.id,
            }
        )
        self._map_location(self.shopify, "1001")
        self.env["stock.quant"]._update_available_quantity(product, self.stock, 7)
        summary = self.shopify._match_catalogue()
        self.assertEqual((summary["bound"], summary["refreshed"]), (0, 1))
        item = self.sim.state.variants[ref]["inventory_item"]
        self.assertEqual(binding.inventory_item_ref, item)
        self.assertIn("sent 1", self.shopify._job_export_stock(full=True))
        self.assertEqual(self.sim.state.levels[(item, "1001")], 7)

    def test_woocommerce_variations_carry_their_parent(self):
        variant_ids = self.sim.state.seed_catalogue(9, max_variants=3)
        products = self._products([f"SIM-{n:06d}" for n in range(1, 10)])
        summary = self.woo._match_catalogue()
        self.assertEqual((summary["bound"], summary["unmatched"]), (9, []))
        for ref in variant_ids:
            variant = self.sim.state.variants[ref]
            binding = self._bindings(self.woo).filtered(
                lambda b, r=ref: b.external_ref == r
            )
            self.assertEqual(binding.product_ref or None, variant["woo_parent_id"])
            self.assertEqual(binding.sku, variant["sku"])
        self.assertTrue(
            any(self.sim.state.variants[r]["woo_parent_id"] for r in variant_ids),
            "the seed made variable products",
        )
        # Variations are written under their parent, simple products directly.
        self._map_location(self.woo, "store")
        for product in products:
            self.env["stock.quant"]._update_available_quantity(product, self.stock, 6)
        self.assertIn("sent 9", self.woo._job_export_stock(full=True))
        woo_products = self.sim.state.woo_products
        self.assertEqual(
            [woo_products[ref]["stock_quantity"] for ref in variant_ids], [6] * 9
        )

    def test_woocommerce_order_binds_a_variation_under_its_parent(self):
        """Without a catalogue match, the order import records the parent too."""
        variant_ids = self.sim.state.seed_catalogue(6, max_variants=3)
        variation = next(
            ref for ref in variant_ids if self.sim.state.variants[ref]["woo_parent_id"]
        )
        sku = self.sim.state.variants[variation]["sku"]
        self._products([sku])
        self.woo._get_sync_status("order_pull").last_run_at = (
            fields.Datetime.now() - timedelta(hours=1)
        )
        self.sim.scenario.create_order(
            channel="woocommerce",
            notify=False,
            lines=[(sku, 1)],
            tax_rate="0",
            shipping=None,
        )
        self._reconcile(self.woo)
        binding = self._bindings(self.woo)
        self.assertEqual(binding.external_ref, variation)
        self.assertEqual(
            binding.product_ref, self.sim.state.variants[variation]["woo_parent_id"]
        )

    def test_sku_problems_are_exceptions_listing_every_variant(self):
        refs = self.sim.state.seed_catalogue(30)
        variants = self.sim.state.variants
        for ref in refs[:25]:
            variants[ref]["sku"] = ""
        variants[refs[26]]["sku"] = variants[refs[25]]["sku"]
        other = self.env["res.company"].create({"name": "Other shop company"})
        self.env["product.product"].create(
            {"name": "Theirs", "default_code": "SIM-000030", "company_id": other.id}
        )
        self.shopify._match_catalogue()
        exceptions = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.shopify.id),
                ("exception_type", "=", "catalogue_sku"),
            ]
        )
        self.assertEqual(len(exceptions), 3)
        no_sku = exceptions.filtered(lambda e: "have no SKU" in e.name)
        self.assertIn("25 variants", no_sku.name)
        self.assertEqual(no_sku.technical_detail.split("\n"), refs[:25], "all 25")
        twice = exceptions.filtered(lambda e: "several variants" in e.name)
        self.assertEqual(
            twice.technical_detail,
            f"SIM-000026: {refs[25]}, {refs[26]}",
        )
        theirs = exceptions.filtered(lambda e: "another company" in e.name)
        self.assertEqual(theirs.technical_detail, "SIM-000030")
        self.assertNotIn("Theirs", theirs.name, "no other company's product name")
        # Walking again counts the same problems, no new records.
        self.shopify._match_catalogue()
        self.assertEqual(
            self.env["channel.exception"].search_count(
                [("exception_type", "=", "catalogue_sku")]
            ),
            3,
        )
