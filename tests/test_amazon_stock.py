"""Amazon stock over real HTTP against the simulator's SP-API stand-in: MFN
quantities through patchListingsItem or a JSON listings feed, refusals as
exceptions naming the SKU, throttling waited out, FBA inventory read into
the FBA warehouse."""

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import BaseCase, tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from simulator.amazon import SELLER_ID

from ..adapters.amazon_listings import _fulfilled, _refusals
from .test_amazon import US, AmazonCase


class AmazonStockCase(AmazonCase):
    """Three products of 50 units, two of them listed on Amazon.com."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.amazon.write(
            {
                "amazon_seller_id": SELLER_ID,
                "export_stock": True,
                "amazon_stock_feed_threshold": 100,
            }
        )
        cls.mfn = cls.env["channel.stock.location"].create(
            {
                "backend_id": cls.amazon.id,
                "name": "Amazon.com (MFN)",
                "location_ref": US,
                "location_ids": [Command.set(cls.stock.ids)],
            }
        )
        cls.bindings = cls.env["channel.product.binding"].create(
            [
                {
                    "backend_id": cls.amazon.id,
                    "company_id": cls.env.company.id,
                    "product_id": product.id,
                    "external_ref": product.default_code,
                    "sku": product.default_code,
                }
                for product in cls.products
            ]
        )

    def setUp(self):
        super().setUp()
        self.sim.amazon.add_listing("AMZ-1")
        self.sim.amazon.add_listing("AMZ-2")

    def _listing(self, sku):
        return self.sim.amazon.listings.get(sku)

    def _exceptions(self, exception_type="stock_skipped"):
        return self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.amazon.id),
                ("exception_type", "=", exception_type),
            ]
        )


@tagged("post_install", "-at_install")
class TestAmazonMfnStock(AmazonStockCase):
    def test_a_stock_change_is_published_to_the_listing(self):
        self.amazon._job_export_stock(full=True)
        self.assertEqual(self._listing("AMZ-1")["quantity"], 50)
        self.assertEqual(self._listing("AMZ-2")["quantity"], 50)
        self.assertEqual(self._listing("AMZ-1")["patches"], 1)

        self._deliver_to_customer(self.products[0], self.stock, 8)
        result = self.amazon._job_export_stock()

        self.assertEqual(self._listing("AMZ-1")["quantity"], 42)
        self.assertEqual(self._listing("AMZ-1")["patches"], 2)
        # Only what changed is sent again.
        self.assertEqual(self._listing("AMZ-2")["patches"], 1)
        self.assertIn("sent 1", result)
        self.assertFalse(self.sim.amazon.feeds, "a few SKUs are patched, not fed")

    def test_an_invalid_listing_is_an_exception_naming_the_sku(self):
        result = self.amazon._job_export_stock(full=True)
        self.assertIn("sent 2 in", result, "a refused quantity is not counted sent")
        refused = self._exceptions().filtered(lambda e: "AMZ-3" in e.name)
        self.assertEqual(len(refused), 1)
        self.assertIn("SKU AMZ-3 is not listed.", refused.name)
        level = self.env["channel.stock.level"].search(
            [
                ("backend_id", "=", self.amazon.id),
                ("product_id", "=", self.products[2].id),
            ]
        )
        self.assertFalse(level.last_sent_at, "a refused quantity is not taken as sent")
        self.assertFalse(level.dirty, "it waits for the next change, not every run")
        self.assertEqual(self._listing("AMZ-1")["quantity"], 50)

    def test_a_429_on_patch_listings_item_is_waited_out(self):
        self.sim.amazon.drain("patchListingsItem")
        self.amazon._job_export_stock(full=True)
        self.assertGreaterEqual(self.sim.amazon.throttled["patchListingsItem"], 1)
        self.assertEqual(self._listing("AMZ-1")["quantity"], 50)
        self.assertEqual(self._listing("AMZ-2")["quantity"], 50)

    def test_each_operation_has_a_budget_row_counting_its_429s(self):
        operations = self.amazon.api_operation_ids
        patch = operations.filtered(lambda o: o.name == "patchListingsItem")
        self.assertEqual((patch.rate, patch.burst), (5, 5))
        feed = operations.filtered(lambda o: o.name == "createFeed")
        self.assertEqual((feed.rate, feed.burst), (0.0083, 15))
        self.assertFalse(patch.throttled_count)
        self.sim.amazon.drain("patchListingsItem")
        self.amazon._job_export_stock(full=True)
        patch.invalidate_recordset()
        self.assertEqual(
            patch.throttled_count, self.sim.amazon.throttled["patchListingsItem"]
        )
        self.assertTrue(patch.last_throttled_at)
        self.assertAlmostEqual(patch.paced_interval, 0.2)
        # The operator (channel user) reads them.
        self.assertEqual(
            len(self.amazon.with_user(self.ops_user).api_operation_ids),
            len(operations),
        )

    def test_no_sku_or_no_quantity_publishes_nothing(self):
        self.bindings[0].sku = False  # Amazon's SKU unknown
        self.products[1].is_storable = False  # Odoo cannot state a quantity
        self.amazon._job_export_stock(full=True)
        self.assertEqual(self._listing("AMZ-1")["patches"], 0)
        self.assertEqual(self._listing("AMZ-2")["patches"], 0)
        messages = " ".join(self._exceptions().mapped("name"))
        self.assertIn("Amazon SKU of the variant is unknown", messages)
        self.assertIn("not tracked in stock", messages)

    def test_an_unmapped_marketplace_never_publishes_a_false_zero(self):
        self.mfn.location_ids = [Command.clear()]
        self.sim.amazon.add_listing("AMZ-1", quantity=7)
        self.amazon._job_export_stock(full=True)
        self.assertEqual(self._listing("AMZ-1"), {"quantity": 7, "patches": 0})
        self.assertIn("maps no Odoo location", self._exceptions()[:1].name)

    def test_a_large_catalogue_goes_in_one_listings_feed(self):
        self.amazon.amazon_stock_feed_threshold = 2
        self.amazon._job_export_stock(full=True)
        self.assertEqual(len(self.sim.amazon.feeds), 1)
        (feed,) = [entry["feed"] for entry in self.sim.amazon.feeds.values()]
        self.assertEqual(feed["feedType"], "JSON_LISTINGS_FEED")
        self.assertEqual(feed["processingStatus"], "DONE")
        self.assertEqual(feed["marketplaceIds"], [US])
        for sku in ("AMZ-1", "AMZ-2"):
            self.assertEqual(self._listing(sku)["quantity"], 50)
            self.assertEqual(self._listing(sku)["patches"], 0)
            self.assertEqual(self._listing(sku)["feed_updates"], 1)
        # The report's error on AMZ-3's message is mapped back to its SKU.
        refused = self._exceptions().filtered(lambda e: "AMZ-3" in e.name)
        self.assertIn("SKU AMZ-3 is not listed.", refused.name)

    def test_catalogue_match_binds_the_listed_skus(self):
        self.bindings.unlink()
        summary = self.amazon._match_catalogue()
        self.assertEqual(summary["bound"], 2)
        bound = self.env["channel.product.binding"].search(
            [("backend_id", "=", self.amazon.id)]
        )
        self.assertEqual(sorted(bound.mapped("external_ref")), ["AMZ-1", "AMZ-2"])


@tagged("post_install", "-at_install")
class TestAmazonFbaInventory(AmazonStockCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fba = cls.env["stock.warehouse"].create(
            {"name": "Amazon FBA", "code": "FBA"}
        )
        cls.amazon.amazon_fba_warehouse_id = cls.fba
        # Odoo believed Amazon held 5 of AMZ-3.
        cls.env["stock.quant"]._update_available_quantity(
            cls.products[2], cls.fba.lot_stock_id, 5
        )

    def _held(self, product):
        return sum(
            self.env["stock.quant"]
            .search(
                [
                    ("product_id", "=", product.id),
                    ("location_id", "=", self.fba.lot_stock_id.id),
                ]
            )
            .mapped("quantity")
        )

    def test_fba_inventory_is_read_page_by_page_into_the_fba_location(self):
        amazon = self.sim.amazon
        amazon.fba_page_size = 1
        amazon.set_fba_inventory(
            "AMZ-1", fulfillable=10, processing=2, pending_orders=3
        )
        amazon.set_fba_inventory("AMZ-2", fulfillable=4)
        amazon.set_fba_inventory("NOT-IN-ODOO", fulfillable=9)

        result = self.amazon._job_amazon_read_fba_inventory()

        # Three pages, one SKU each (burst 2: the third waited a refill).
        calls = self.sim.state.calls["amazon getInventorySummaries"]
        throttled = amazon.throttled.get("getInventorySummaries", 0)
        self.assertEqual(calls - throttled, 3)
        self.assertEqual(self._held(self.products[0]), 12)
        self.assertEqual(self._held(self.products[1]), 4)
        self.assertEqual(self._held(self.products[2]), 0, "Amazon no longer holds it")
        self.assertIn("3 SKUs read, 3 adjusted", result)
        self.assertIn("5 → 0", result)
        status = self.amazon._get_sync_status("fba_inventory")
        self.assertEqual(status.message, result)
        missing = self._exceptions("missing_mapping")
        self.assertIn("NOT-IN-ODOO", missing.name)
        # Read again: nothing differs any more.
        self.assertIn("0 adjusted", self.amazon._job_amazon_read_fba_inventory())

    def test_only_managers_adjust_the_fba_inventory(self):
        with self.assertRaises(AccessError):
            self.amazon.with_user(self.ops_user).action_amazon_read_fba_inventory()
        with trap_jobs() as trap:
            self.amazon.with_user(self.manager_user).action_amazon_read_fba_inventory()
            trap.assert_jobs_count(1)


@tagged("post_install", "-at_install")
class TestAmazonStockParsing(BaseCase):
    def test_only_error_issues_of_known_messages_refuse_their_sku(self):
        report = {
            "issues": [
                {"messageId": 1, "severity": "WARNING", "message": "image low"},
                {"messageId": 2, "severity": "ERROR", "message": "not listed"},
                {"messageId": 2, "severity": "ERROR", "code": "90220"},
                {"messageId": 9, "severity": "ERROR", "message": "no such message"},
                {"severity": "ERROR", "message": "feed-wide"},
            ]
        }
        self.assertEqual(_refusals(report, 3), {2: "not listed; 90220"})

    def test_fba_quantity_leaves_out_customer_orders_inbound_and_damaged(self):
        summary = {
            "sellerSku": "AMZ-1",
            "totalQuantity": 40,
            "inventoryDetails": {
                "fulfillableQuantity": 10,
                "inboundShippedQuantity": 12,
                "reservedQuantity": {
                    "pendingCustomerOrderQuantity": 3,
                    "fcProcessingQuantity": 2,
                    "pendingTransshipmentQuantity": 1,
                },
                "unfulfillableQuantity": {"totalUnfulfillableQuantity": 12},
            },
        }
        held = _fulfilled(summary)
        self.assertEqual((held.sku, held.quantity, held.total), ("AMZ-1", 13, 40))
