from decimal import Decimal

from odoo import Command
from odoo.tests import tagged

from ..adapters.catalogue import ProductData, VariantData
from .test_catalogue_publish import CatalogueCommon


class ChangeOnSend:
    """The backend's adapter, with `change()` run when the job first sends:
    a change committed after the job read the listings and before it
    acknowledges them."""

    def __init__(self, adapter, change):
        self.adapter, self.change = adapter, change

    def __getattr__(self, name):
        return getattr(self.adapter, name)

    def _changed(self):
        change, self.change = self.change, None
        if change:
            change()

    def publish_products(self, products):
        self._changed()
        return self.adapter.publish_products(products)

    def update_prices(self, updates):
        self._changed()
        return self.adapter.update_prices(updates)


@tagged("post_install", "-at_install")
class TestCataloguePublishRace(CatalogueCommon):
    """A change made while a publishing job runs is never acknowledged by
    that job: the listing stays dirty and the next job sends it."""

    def test_change_between_read_and_acknowledgement_stays_dirty(self):
        self.shopify._job_publish_catalogue()
        medium = self._variant(self.template, "M")
        self._price_rule(self.pricelist, medium, 27)
        adapter = ChangeOnSend(
            self.shopify._get_adapter(priority="catalog"),
            lambda: self._price_rule(
                self.pricelist, self._variant(self.template, "S"), 21
            ),
        )
        totals = self.shopify._publish_catalogue(adapter)
        self.assertEqual(totals["prices"], 1)
        variants = self._shop_variants(self.template)
        self.assertEqual(variants["LIN-M"]["price"], Decimal("27.00"))
        self.assertEqual(variants["LIN-S"]["price"], Decimal("30.00"), "read before")
        listing = self._listing(self.template)
        self.assertTrue(listing.dirty, "the change made meanwhile is not lost")
        self.assertIn("prices 1", self.shopify._job_publish_catalogue())
        self.assertEqual(
            self._shop_variants(self.template)["LIN-S"]["price"], Decimal("21.00")
        )
        self.assertFalse(self._listing(self.template).dirty)

    def test_marks_are_inserted_never_the_listing_updated(self):
        self.shopify._job_publish_catalogue()
        listing = self._listing(self.template)
        write_date = listing.write_date
        self.template.name = "Linen shirt, washed"
        self.template.name = "Linen shirt, rinsed"
        self.assertEqual(len(listing.mark_ids), 2)
        self.assertEqual(listing.write_date, write_date)


@tagged("post_install", "-at_install")
class TestCatalogueCurrency(CatalogueCommon):
    """Prices leave only in the store's currency."""

    def test_price_list_in_another_currency_publishes_nothing(self):
        usd = self.env.ref("base.USD")
        eur = self.env.ref("base.EUR")
        eur.active = True
        self.sim.state.currency = "USD"
        self.pricelist.currency_id = eur if self.pricelist.currency_id == usd else usd
        wrong = self.pricelist.currency_id.name
        result = self.shopify._job_publish_catalogue()
        self.assertIn("published 0", result)
        self.assertEqual(self._writes(), [], "no price in the wrong currency")
        exception = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.shopify.id),
                ("exception_type", "=", "catalogue_skipped"),
            ]
        )
        self.assertIn(f"in {wrong}, the store sells in USD", exception.name)
        self.assertTrue(self._listing(self.template).dirty, "kept to publish")
        self.compare_pricelist.currency_id = usd
        self.pricelist.currency_id = usd
        self.assertIn("published 1", self.shopify._job_publish_catalogue())


@tagged("post_install", "-at_install")
class TestCatalogueShopifyAsync(CatalogueCommon):
    """A product of more than ASYNC_PRODUCT_SET_VARIANTS variants is set
    asynchronously: productSet answers an operation, polled until COMPLETE."""

    def test_large_product_is_set_asynchronously_then_bound(self):
        template = self._rainbow_shirt()
        self.assertEqual(len(template.product_variant_ids), 120)
        self.shopify._job_publish_catalogue()
        self.assertEqual(
            self.sim.state.calls["productOperation"], 2, "ACTIVE, COMPLETE"
        )
        self.assertEqual(self.sim.state.calls["product"], 1, "120 variants: 1 page")
        self.assertEqual(len(self._shop_variants(template)), 120)
        bindings = self.env["channel.product.binding"].search(
            [("backend_id", "=", self.shopify.id), ("sku", "=like", "RB-%")]
        )
        self.assertEqual(len(bindings), 120)
        self.assertEqual(self._listing(template).state, "published")

    def test_user_errors_of_the_operation_are_a_refusal(self):
        variant = VariantData(sku="X-1", price=Decimal(5), options=(("Size", "S"),))
        product = ProductData(
            title="Twins",
            variants=(variant,) * 101,
            options=(("Size", ("S",)),),
        )
        adapter = self.shopify._get_adapter(priority="catalog")
        adapter.config["sleep"] = lambda _seconds: None
        (result,), calls = adapter.publish_products([product])
        self.assertIn("same option values", str(result))
        self.assertEqual(calls, 3, "productSet, then two polls")
        self.assertEqual(self.sim.state.product_writes, [])


@tagged("post_install", "-at_install")
class TestCatalogueWooCommerceStore(CatalogueCommon):
    """Variations Odoo no longer has are deleted; weights go out in the
    store's unit."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.woo.write(
            {"publish_catalogue": True, "catalogue_pricelist_id": cls.pricelist.id}
        )
        cls.template.channel_sell_on_ids = [Command.set(cls.woo.ids)]

    def _variations(self):
        listing = self.env["channel.product.listing"].search(
            [
                ("backend_id", "=", self.woo.id),
                ("product_tmpl_id", "=", self.template.id),
            ]
        )
        parent = self.sim.state.woo_products[listing.external_ref]
        return parent, {
            self.sim.state.woo_products[str(ref)]["sku"]: self.sim.state.woo_products[
                str(ref)
            ]
            for ref in parent["variations"]
        }

    def test_archived_variant_is_deleted_from_the_store(self):
        self.woo._job_publish_catalogue()
        _parent, variations = self._variations()
        medium_ref = variations["LIN-M"]["id"]
        self._variant(self.template, "M").active = False
        result = self.woo._job_publish_catalogue()
        self.assertIn("published 1", result)
        parent, variations = self._variations()
        self.assertEqual(sorted(variations), ["LIN-L", "LIN-S"])
        self.assertNotIn(str(medium_ref), self.sim.state.woo_products)
        self.assertNotIn(medium_ref, parent["variations"])
        self.assertIn(("woo_delete", medium_ref, 1), self.sim.state.product_writes)

    def test_weight_is_converted_to_a_pounds_store(self):
        self.sim.state.woo_settings["woocommerce_weight_unit"] = "lbs"
        self.woo._job_publish_catalogue()
        _parent, variations = self._variations()
        # 0.25 kg = 0.5511556 lb
        self.assertEqual(variations["LIN-S"]["weight"], "0.551")

    def test_weight_in_a_unit_we_cannot_convert_is_not_sent(self):
        self.sim.state.woo_settings["woocommerce_weight_unit"] = "stone"
        self.woo._job_publish_catalogue()
        _parent, variations = self._variations()
        self.assertEqual(variations["LIN-S"].get("weight", ""), "")
