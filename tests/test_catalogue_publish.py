import base64
import json
from decimal import Decimal

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from .test_channel_http import SimulatorCommon


class CatalogueCommon(SimulatorCommon):
    """A price list, a compare-at price list and a shirt in three sizes
    sold on Shopify."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pricelist = cls.env["product.pricelist"].create(
            {"name": "Shop prices", "currency_id": cls.env.company.currency_id.id}
        )
        cls.compare_pricelist = cls.env["product.pricelist"].create(
            {"name": "Was prices", "currency_id": cls.env.company.currency_id.id}
        )
        cls.shopify.write(
            {
                "publish_catalogue": True,
                "catalogue_pricelist_id": cls.pricelist.id,
                "catalogue_compare_pricelist_id": cls.compare_pricelist.id,
            }
        )
        cls.size = cls.env["product.attribute"].create(
            {
                "name": "Size",
                "value_ids": [Command.create({"name": n}) for n in ("S", "M", "L")],
            }
        )
        cls.template = cls._tshirt("Linen shirt", "LIN")

    @classmethod
    def _tshirt(cls, name, prefix, **values):
        template = cls.env["product.template"].create(
            {
                "name": name,
                "list_price": 30.0,
                "is_storable": True,
                "channel_sell_on_ids": [Command.link(cls.shopify.id)],
                "attribute_line_ids": [
                    Command.create(
                        {
                            "attribute_id": cls.size.id,
                            "value_ids": [Command.set(cls.size.value_ids.ids)],
                        }
                    )
                ],
                **values,
            }
        )
        for variant in template.product_variant_ids:
            size = variant.product_template_attribute_value_ids.name
            variant.write({"default_code": f"{prefix}-{size}", "weight": 0.25})
        return template

    def _rainbow_shirt(self):
        """A shirt in 3 sizes and 40 colours: 120 variants, more than
        Shopify's synchronous productSet takes (ASYNC_PRODUCT_SET_VARIANTS)."""
        colour = self.env["product.attribute"].create(
            {
                "name": "Colour",
                "value_ids": [Command.create({"name": f"C{n}"}) for n in range(40)],
            }
        )
        template = self._tshirt("Rainbow shirt", "RB")
        template.attribute_line_ids = [
            Command.create(
                {
                    "attribute_id": colour.id,
                    "value_ids": [Command.set(colour.value_ids.ids)],
                }
            )
        ]
        for variant in template.product_variant_ids:
            variant.default_code = "RB-" + "-".join(
                variant.product_template_attribute_value_ids.mapped("name")
            )
        return template

    def _variant(self, template, size):
        return template.product_variant_ids.filtered(
            lambda v: v.product_template_attribute_value_ids.name == size
        )

    def _price_rule(self, pricelist, variant, price):
        return self.env["product.pricelist.item"].create(
            {
                "pricelist_id": pricelist.id,
                "applied_on": "0_product_variant",
                "product_id": variant.id,
                "compute_price": "fixed",
                "fixed_price": price,
            }
        )

    def _listing(self, template):
        return self.env["channel.product.listing"].search(
            [
                ("backend_id", "=", self.shopify.id),
                ("product_tmpl_id", "=", template.id),
            ]
        )

    def _shop_product(self, template):
        return self.sim.state.products[self._listing(template).external_ref]

    def _shop_variants(self, template):
        product = self._shop_product(template)
        return {
            self.sim.state.variants[ref]["sku"]: self.sim.state.variants[ref]
            for ref in product["variant_ids"]
        }

    def _writes(self):
        return list(self.sim.state.product_writes)


@tagged("post_install", "-at_install")
class TestCataloguePublish(CatalogueCommon):
    """Odoo's products published to Shopify over HTTP (simulator): variants
    with SKUs, price list prices and weights; only what changed is sent."""

    def test_new_product_with_three_variants_appears_with_skus_prices_weights(self):
        self._price_rule(self.pricelist, self._variant(self.template, "L"), 34.5)
        self._price_rule(self.compare_pricelist, self._variant(self.template, "L"), 40)
        result = self.shopify._job_publish_catalogue()
        self.assertIn("published 1", result)
        variants = self._shop_variants(self.template)
        self.assertEqual(sorted(variants), ["LIN-L", "LIN-M", "LIN-S"])
        self.assertEqual(variants["LIN-S"]["price"], Decimal("30.00"))
        self.assertEqual(variants["LIN-L"]["price"], Decimal("34.50"))
        self.assertEqual(variants["LIN-L"]["compare_at_price"], Decimal("40.00"))
        self.assertIsNone(variants["LIN-M"]["compare_at_price"])
        self.assertEqual(variants["LIN-M"]["weight"], 0.25)
        self.assertEqual(variants["LIN-M"]["weight_unit"], "KILOGRAMS")
        self.assertIsNone(variants["LIN-M"]["barcode"], "no barcode: none sent")
        product = self._shop_product(self.template)
        self.assertEqual(product["title"], "Linen shirt")
        self.assertEqual(product["options"], [("Size", ["S", "M", "L"])])
        bindings = self.env["channel.product.binding"].search(
            [("backend_id", "=", self.shopify.id)]
        )
        self.assertEqual(bindings.product_id, self.template.product_variant_ids)
        large = bindings.filtered(lambda b: b.sku == "LIN-L")
        self.assertEqual(large.inventory_item_ref, variants["LIN-L"]["inventory_item"])
        self.assertEqual(large.product_ref, product["id"])
        self.assertEqual(self._listing(self.template).state, "published")

    def test_nothing_changed_makes_no_call(self):
        self.shopify._job_publish_catalogue()
        calls = sum(self.sim.state.calls.values())
        self.shopify._job_publish_catalogue()
        with trap_jobs() as trap:
            self.shopify.action_publish_catalogue()
            trap.assert_jobs_count(1)
        self._listing(self.template).sudo().dirty = True
        self.shopify._job_publish_catalogue()
        self.assertEqual(sum(self.sim.state.calls.values()), calls)

    def test_price_change_sends_only_changed_prices_in_one_call(self):
        other = self._tshirt("Wool shirt", "WOOL")
        self.shopify._job_publish_catalogue()
        before = self._writes()
        self._price_rule(self.pricelist, self._variant(self.template, "M"), 27)
        self.assertTrue(self._listing(self.template).dirty)
        self.assertFalse(self._listing(other).dirty, "a variant's rule flags its own")
        result = self.shopify._job_publish_catalogue()
        self.assertIn("calls 1", result)
        new = self._writes()[len(before) :]
        listing = self._listing(self.template)
        self.assertEqual(new, [("productVariantsBulkUpdate", listing.external_ref, 1)])
        variants = self._shop_variants(self.template)
        self.assertEqual(variants["LIN-M"]["price"], Decimal("27.00"))
        self.assertEqual(variants["LIN-S"]["price"], Decimal("30.00"))

    def test_title_change_republishes_the_product_keeping_its_variants(self):
        self.shopify._job_publish_catalogue()
        refs = set(self._shop_product(self.template)["variant_ids"])
        products = len(self.sim.state.products)
        self.template.name = "Linen shirt, washed"
        self.shopify._job_publish_catalogue()
        product = self._shop_product(self.template)
        self.assertEqual(product["title"], "Linen shirt, washed")
        self.assertEqual(set(product["variant_ids"]), refs)
        self.assertEqual(len(self.sim.state.products), products)

    def test_catalogue_language_is_published(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.template.with_context(lang="fr_FR").name = "Chemise en lin"
        self.shopify.catalogue_lang = "fr_FR"
        self.shopify._job_publish_catalogue()
        self.assertEqual(self._shop_product(self.template)["title"], "Chemise en lin")

    def test_variant_without_sku_skips_the_product_never_sends_it(self):
        self._variant(self.template, "M").default_code = False
        result = self.shopify._job_publish_catalogue()
        self.assertIn("skipped 1", result)
        self.assertEqual(self._writes(), [])
        listing = self._listing(self.template)
        self.assertEqual(listing.state, "skipped")
        exception = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.shopify.id),
                ("exception_type", "=", "catalogue_skipped"),
            ]
        )
        self.assertEqual(len(exception), 1)
        self.assertIn("internal reference (SKU)", exception.name)
        self.assertIn("(M)", exception.name)

    def test_product_without_price_is_skipped_naming_the_price(self):
        self.template.list_price = 0.0
        self.shopify._job_publish_catalogue()
        self.assertEqual(self._writes(), [])
        exception = self.env["channel.exception"].search(
            [("exception_type", "=", "catalogue_skipped")]
        )
        self.assertIn("price", exception.name)
        self.template.list_price = 12.0
        self.assertIn("published 1", self.shopify._job_publish_catalogue())

    def test_category_rule_selects_products_without_sell_on(self):
        category = self.env["product.category"].create({"name": "Shirts"})
        other = self._tshirt(
            "Silk shirt", "SILK", channel_sell_on_ids=[], categ_id=category.id
        )
        self.shopify._job_publish_catalogue()
        self.assertFalse(self._listing(other))
        self.shopify.catalogue_categ_ids = category
        self.assertIn("published 1", self.shopify._job_publish_catalogue())
        self.assertEqual(
            sorted(self._shop_variants(other)), ["SILK-L", "SILK-M", "SILK-S"]
        )

    def test_full_resync_sends_every_product_again(self):
        self.shopify._job_publish_catalogue()
        self.shopify.action_publish_catalogue_full()
        self.assertIn("published 1", self.shopify._job_publish_catalogue())
        self.assertEqual([w[0] for w in self._writes()], ["productSet"] * 2)

    def test_publish_now_on_a_product_checks_rights_then_enqueues(self):
        salesman = new_test_user(
            self.env, login="seller", groups="sales_team.group_sale_salesman"
        )
        with self.assertRaises(AccessError):
            self.template.with_user(salesman).action_channel_publish_now()
        user = new_test_user(
            self.env,
            login="channel_user_now",
            groups="channel_connector.group_channel_user,sales_team.group_sale_salesman",
        )
        with trap_jobs() as trap:
            self.template.with_user(user).action_channel_publish_now()
            trap.assert_jobs_count(1, only=self.shopify._job_publish_catalogue)
            trap.perform_enqueued_jobs()
        self.assertEqual(self._listing(self.template).state, "published")

    def test_dashboard_counts_catalogue_exceptions(self):
        self._variant(self.template, "S").default_code = False
        self.shopify._job_publish_catalogue()
        self.shopify.invalidate_recordset(["kpi_catalogue_exceptions"])
        self.assertEqual(self.shopify.kpi_catalogue_exceptions, 1)

    def test_only_managers_publish(self):
        user = new_test_user(
            self.env,
            login="channel_user",
            groups="channel_connector.group_channel_user",
        )
        with self.assertRaises(AccessError):
            self.shopify.with_user(user).action_publish_catalogue()


@tagged("post_install", "-at_install")
class TestCataloguePublishWooCommerce(CatalogueCommon):
    """The same product to WooCommerce: a variable product and its
    variations through the batch endpoints."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.woo.write(
            {
                "publish_catalogue": True,
                "catalogue_pricelist_id": cls.pricelist.id,
                "catalogue_compare_pricelist_id": cls.compare_pricelist.id,
            }
        )
        cls.template.channel_sell_on_ids = [Command.set(cls.woo.ids)]

    def _woo_listing(self, template):
        return self.env["channel.product.listing"].search(
            [("backend_id", "=", self.woo.id), ("product_tmpl_id", "=", template.id)]
        )

    def _woo_items(self, template):
        parent = self.sim.state.woo_products[self._woo_listing(template).external_ref]
        return parent, {
            item["sku"]: item
            for item in self.sim.state.woo_products.values()
            if item["parent_id"] == parent["id"]
        }

    def test_variable_product_with_three_variations_appears_on_woocommerce(self):
        self._price_rule(self.pricelist, self._variant(self.template, "L"), 34.5)
        self._price_rule(self.compare_pricelist, self._variant(self.template, "L"), 40)
        calls = dict(self.sim.state.calls)
        result = self.woo._job_publish_catalogue()
        self.assertIn("published 1", result)
        self.assertIn("calls 2", result, "one products/batch, one variations/batch")
        parent, variations = self._woo_items(self.template)
        self.assertEqual(parent["type"], "variable")
        self.assertEqual(
            parent["attributes"][0]["options"], ["S", "M", "L"], "option order kept"
        )
        self.assertEqual(sorted(variations), ["LIN-L", "LIN-M", "LIN-S"])
        self.assertEqual(variations["LIN-S"]["regular_price"], "30.00")
        self.assertEqual(variations["LIN-S"]["sale_price"], "")
        self.assertEqual(variations["LIN-L"]["regular_price"], "40.00")
        self.assertEqual(variations["LIN-L"]["sale_price"], "34.50")
        self.assertEqual(variations["LIN-M"]["weight"], "0.250")
        binding = self.env["channel.product.binding"].search(
            [("backend_id", "=", self.woo.id), ("sku", "=", "LIN-M")]
        )
        self.assertEqual(binding.external_ref, str(variations["LIN-M"]["id"]))
        self.assertEqual(binding.product_ref, str(parent["id"]))
        self.assertEqual(
            self.sim.state.calls["POST products"] - calls.get("POST products", 0), 1
        )
        # A price change: one variations/batch call, that variation only.
        self._price_rule(self.pricelist, self._variant(self.template, "M"), 27)
        result = self.woo._job_publish_catalogue()
        self.assertIn("prices 1", result)
        self.assertIn("calls 1", result)
        _parent, variations = self._woo_items(self.template)
        # The compare-at list prices M at its sales price, 30: now a sale.
        self.assertEqual(variations["LIN-M"]["regular_price"], "30.00")
        self.assertEqual(variations["LIN-M"]["sale_price"], "27.00")
        self.assertEqual(variations["LIN-S"]["sale_price"], "", "S not sent")
        self.assertIn("calls 0", self.woo._job_publish_catalogue())

    def test_simple_products_share_one_batch_call(self):
        simples = self.env["product.template"].create(
            [
                {
                    "name": f"Mug {n}",
                    "default_code": f"MUG-{n}",
                    "list_price": 9.5,
                    "is_storable": True,
                    "channel_sell_on_ids": [Command.link(self.woo.id)],
                }
                for n in range(5)
            ]
        )
        result = self.woo._job_publish_catalogue()
        self.assertIn("published 6", result)
        self.assertIn("calls 2", result, "5 simple + 1 parent in one products/batch")
        listing = self._woo_listing(simples[0])
        item = self.sim.state.woo_products[listing.external_ref]
        self.assertEqual(
            (item["type"], item["sku"], item["price"]), ("simple", "MUG-0", "9.50")
        )
        binding = self.env["channel.product.binding"].search(
            [("backend_id", "=", self.woo.id), ("sku", "=", "MUG-0")]
        )
        self.assertFalse(binding.product_ref, "a simple product is written directly")

    def test_duplicate_sku_on_the_store_is_refused_and_reported(self):
        (ref,) = self.sim.state.seed_catalogue(1)
        self._variant(self.template, "S").default_code = self.sim.state.variants[ref][
            "sku"
        ]
        result = self.woo._job_publish_catalogue()
        self.assertIn("refused 1", result)
        exception = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.woo.id),
                ("exception_type", "=", "catalogue_refused"),
            ]
        )
        self.assertIn("duplicated SKU", exception.name)


@tagged("post_install", "-at_install")
class TestCatalogueChannelEdits(CatalogueCommon):
    """A title or price changed on the channel while Odoo is the master is
    a difference, republished or kept per the backend's policy."""

    def _delivery(self, backend, topic, body):
        return self.env["channel.event"].create(
            {
                "backend_id": backend.id,
                "topic": topic,
                "flow": "catalog",
                "dedupe_key": f"{topic}:{body['id']}:{len(body)}",
                "raw_body": base64.b64encode(json.dumps(body).encode()),
            }
        )

    def _shopify_body(self, **changes):
        listing = self.env["channel.product.listing"].search(
            [("backend_id", "=", self.shopify.id)]
        )
        product = self.sim.state.products[listing.external_ref]
        variants = [
            {"id": int(ref), "price": str(self.sim.state.variants[ref]["price"])}
            for ref in product["variant_ids"]
        ]
        return {
            "id": int(product["id"]),
            "title": product["title"],
            "variants": variants,
            **changes,
        }

    def test_own_echo_is_ignored(self):
        self.shopify._job_publish_catalogue()
        event = self._delivery(self.shopify, "products/update", self._shopify_body())
        event._process()
        self.assertEqual(event.state, "ignored")

    def test_channel_price_edit_is_reported_and_republished(self):
        self.shopify._job_publish_catalogue()
        body = self._shopify_body()
        body["variants"][0]["price"] = "19.00"
        edited_ref = str(body["variants"][0]["id"])
        self.sim.state.variants[edited_ref]["price"] = Decimal("19.00")
        event = self._delivery(self.shopify, "products/update", body)
        with trap_jobs() as trap:
            event._process()
            trap.assert_jobs_count(1, only=self.shopify._job_publish_catalogue)
        self.assertEqual(event.state, "done")
        listing = event.res_model and self.env[event.res_model].browse(event.res_id)
        self.assertIn("19.00 / 30.00", listing.difference)
        exception = self.env["channel.exception"].search(
            [("exception_type", "=", "catalogue_difference")]
        )
        self.assertIn("published again", exception.name)
        self.shopify._job_publish_catalogue()
        self.assertEqual(self.sim.state.variants[edited_ref]["price"], Decimal("30.00"))

    def test_keep_policy_flags_without_republishing(self):
        self.shopify.catalogue_edit_policy = "keep"
        self.shopify._job_publish_catalogue()
        writes = len(self.sim.state.product_writes)
        event = self._delivery(
            self.shopify, "products/update", self._shopify_body(title="Renamed")
        )
        with trap_jobs() as trap:
            event._process()
            trap.assert_jobs_count(0)
        self.assertIn(
            "title: Renamed / Linen shirt",
            event.res_model
            and self.env[event.res_model].browse(event.res_id).difference,
        )
        self.shopify._job_publish_catalogue()
        self.assertEqual(len(self.sim.state.product_writes), writes)

    def test_product_update_deliveries_are_queued_not_left_received(self):
        Event = self.env["channel.event"]
        for topic in ("products/update", "product.updated"):
            new = Event.new({"flow": "catalog", "topic": topic})
            self.assertTrue(new._get_flow_handler(), topic)
        creation = Event.new({"flow": "catalog", "topic": "products/create"})
        self.assertFalse(creation._get_flow_handler())
