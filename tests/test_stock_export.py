from odoo import Command
from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from ..const import JOB_CHANNEL_STOCK
from .common import ChannelCommon


@tagged("post_install", "-at_install")
class TestStockExportComputation(ChannelCommon):
    """What the export decides to send, before any HTTP."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._prepare_backend("shopify", state="connected")
        warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.env.company.id)], limit=1
        )
        cls.stock = warehouse.lot_stock_id
        cls.shelf = cls.env["stock.location"].create(
            {"name": "Shelf 2", "location_id": cls.stock.id, "usage": "internal"}
        )
        cls.backroom = cls.env["stock.location"].create(
            {
                "name": "Backroom",
                "location_id": warehouse.view_location_id.id,
                "usage": "internal",
            }
        )
        cls.main = cls.env["channel.stock.location"].create(
            {
                "backend_id": cls.backend.id,
                "name": "Main store",
                "location_ref": "1001",
                "location_ids": [Command.set((cls.stock | cls.backroom).ids)],
            }
        )
        cls.shirt = cls._bound_product("Shirt", "SH-1", "11")
        cls.mug = cls._bound_product("Mug", "MUG-1", "12")

    @classmethod
    def _bound_product(cls, name, sku, ref, inventory_item="auto", **values):
        product = cls.env["product.product"].create(
            {
                "name": name,
                "default_code": sku,
                "type": "consu",
                "is_storable": True,
                **values,
            }
        )
        cls.env["channel.product.binding"].create(
            {
                "backend_id": cls.backend.id,
                "company_id": cls.env.company.id,
                "product_id": product.id,
                "external_ref": ref,
                "sku": sku,
                "inventory_item_ref": f"9{ref}" if inventory_item == "auto" else False,
            }
        )
        return product

    def _receive(self, product, quantity, location=None):
        self.env["stock.quant"]._update_available_quantity(
            product, location or self.stock, quantity
        )

    def _export(self, full=False):
        to_send, skipped, unchanged = self.backend._prepare_stock_export(full=full)
        return (
            {
                (level.product_id, level.stock_location_id): qty
                for level, qty in to_send
            },
            {
                (level.product_id, level.stock_location_id): reason
                for level, reason in skipped
            },
            unchanged,
        )

    def _sent(self, to_send):
        levels = self.env["channel.stock.level"].search(
            [("backend_id", "=", self.backend.id)]
        )
        self.backend._mark_sent(
            [
                (level, to_send[(level.product_id, level.stock_location_id)])
                for level in levels
                if (level.product_id, level.stock_location_id) in to_send
            ]
        )

    def test_full_export_sums_mapped_locations_and_sub_locations(self):
        self._receive(self.shirt, 5)
        self._receive(self.shirt, 3, self.shelf)  # child of WH/Stock
        self._receive(self.shirt, 2, self.backroom)
        to_send, skipped, _unchanged = self._export(full=True)
        self.assertEqual(to_send[(self.shirt, self.main)], 10)
        self.assertEqual(to_send[(self.mug, self.main)], 0, "no stock is a real zero")
        self.assertFalse(skipped)

    def test_delta_after_receipt_and_delivery(self):
        self._receive(self.shirt, 5)
        self._receive(self.mug, 7)
        to_send, _skipped, _unchanged = self._export(full=True)
        self._sent(to_send)
        to_send, _skipped, _unchanged = self._export()
        self.assertFalse(to_send, "nothing changed, nothing to send")
        self._receive(self.mug, 4)  # a receipt
        to_send, _skipped, _unchanged = self._export()
        self.assertEqual(to_send, {(self.mug, self.main): 11})
        self._sent(to_send)
        self._receive(self.mug, -6)  # a delivery
        to_send, _skipped, _unchanged = self._export()
        self.assertEqual(to_send, {(self.mug, self.main): 5})

    def test_dirty_variant_with_same_quantity_is_not_resent(self):
        self._receive(self.shirt, 5)
        to_send, _skipped, _unchanged = self._export(full=True)
        self._sent(to_send)
        self._receive(self.shirt, 2)
        self._receive(self.shirt, -2)
        to_send, _skipped, unchanged = self._export()
        self.assertFalse(to_send)
        self.assertEqual(unchanged.product_id, self.shirt)

    def test_reservation_lowers_the_published_quantity(self):
        self._receive(self.shirt, 5)
        self.env["stock.quant"]._update_reserved_quantity(self.shirt, self.stock, 2)
        to_send, _skipped, _unchanged = self._export(full=True)
        self.assertEqual(to_send[(self.shirt, self.main)], 3)

    def test_safety_buffer_is_floored_at_zero(self):
        self.backend.stock_safety_buffer = 3
        self._receive(self.shirt, 5)
        self._receive(self.mug, 2)
        to_send, _skipped, _unchanged = self._export(full=True)
        self.assertEqual(to_send[(self.shirt, self.main)], 2)
        self.assertEqual(to_send[(self.mug, self.main)], 0)

    def test_unknowns_are_skipped_never_sent_as_zero(self):
        archived = self._bound_product("Old", "OLD-1", "13")
        archived.active = False
        service = self._bound_product(
            "Warranty", "WAR-1", "14", type="service", is_storable=False
        )
        no_item = self._bound_product("No item", "NI-1", "15", inventory_item=None)
        empty_location = self.env["channel.stock.location"].create(
            {"backend_id": self.backend.id, "name": "Popup", "location_ref": "1002"}
        )
        to_send, skipped, _unchanged = self._export(full=True)
        for product in (archived, service, no_item):
            self.assertIn((product, self.main), skipped)
            self.assertNotIn((product, self.main), to_send)
        self.assertNotIn((self.shirt, empty_location), to_send)
        self.backend._record_stock_skips(self.backend._prepare_stock_export(True)[1])
        exceptions = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.backend.id),
                ("exception_type", "=", "stock_skipped"),
            ]
        )
        self.assertTrue(any("archived" in e.name for e in exceptions))
        self.assertTrue(any("maps no Odoo location" in e.name for e in exceptions))

    def test_archived_products_published_as_zero_by_policy(self):
        self.backend.stock_archived_policy = "zero"
        archived = self._bound_product("Old", "OLD-1", "13")
        self._receive(archived, 4)
        archived.active = False
        to_send, skipped, _unchanged = self._export(full=True)
        self.assertEqual(to_send[(archived, self.main)], 0)
        self.assertNotIn((archived, self.main), skipped)

    def test_export_job_runs_on_stock_channel_once_per_backend(self):
        with trap_jobs() as trap:
            self.backend._enqueue_stock_export()
            self.backend._enqueue_stock_export()
            trap.assert_jobs_count(1)
            self.assertEqual(trap.enqueued_jobs[0].channel, JOB_CHANNEL_STOCK)

    def test_fast_mover_is_exported_after_the_debounce_once(self):
        self.shirt.channel_fast_mover = True
        to_send, _skipped, _unchanged = self._export(full=True)
        self._sent(to_send)
        with trap_jobs() as trap:
            self._receive(self.shirt, 1)
            self._receive(self.mug, 1)  # not a fast mover: waits for the interval
            self._receive(self.shirt, 1)
            trap.assert_jobs_count(1)
            job = trap.enqueued_jobs[0]
            self.assertEqual(job.channel, JOB_CHANNEL_STOCK)
            self.assertEqual(
                job.identity_key,
                f"channel_connector.stock_export_fast.{self.backend.id}",
            )
            self.assertTrue(job.eta)

    def test_recent_customer_delivery_makes_a_fast_mover(self):
        customer = self.env.ref("stock.stock_location_customers")
        self._receive(self.mug, 5)
        move = self.env["stock.move"].create(
            {
                "product_id": self.mug.id,
                "product_uom_qty": 1,
                "location_id": self.stock.id,
                "location_dest_id": customer.id,
            }
        )
        move._action_confirm()
        move._action_assign()
        move.picked = True
        move._action_done()
        self.assertEqual(self.backend._fast_movers(self.mug.ids), {self.mug.id})
        self.backend.fast_mover_days = 0
        self.assertEqual(self.backend._fast_movers(self.mug.ids), set())
