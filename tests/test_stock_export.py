from datetime import timedelta

from odoo import Command, fields
from odoo.tests import freeze_time, tagged
from odoo.tests.common import new_test_user

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.tests.common import trap_jobs

from ..adapters.stock import StockQuantity
from ..const import JOB_CHANNEL_STOCK
from ..models.channel_backend_stock import STOCK_EXPORT_LOCK, _idempotency_key
from .common import ChannelCommon, load_migration

STOCK_EXPORT_KEY = "channel_connector.stock_export"


@tagged("post_install", "-at_install")
class TestStockExportComputation(ChannelCommon):
    """What the export decides to send, before any HTTP."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._prepare_backend("shopify", state="connected")
        warehouse, cls.shelf = cls._prepare_shelf("Shelf 2")
        cls.stock = warehouse.lot_stock_id
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

    def _levels(self, product=None):
        domain = [("backend_id", "=", self.backend.id)]
        if product:
            domain.append(("product_id", "=", product.id))
        return self.env["channel.stock.level"].search(domain)

    def _sent(self, to_send, marks=None):
        levels = self._levels()
        self.backend._mark_sent(
            [
                (level, to_send[(level.product_id, level.stock_location_id)])
                for level in levels
                if (level.product_id, level.stock_location_id) in to_send
            ],
            marks or levels._read_marks(),
        )

    def test_full_export_sums_mapped_locations_and_sub_locations(self):
        self._receive(self.shirt, 5)
        self._receive(self.shirt, 3, self.shelf)  # child of WH/Stock
        self._receive(self.shirt, 2, self.backroom)
        to_send, skipped, _unchanged = self._export(full=True)
        self.assertEqual(to_send[(self.shirt, self.main)], 10)
        self.assertEqual(to_send[(self.mug, self.main)], 0, "no stock is a real zero")
        self.assertFalse(skipped)

    def test_a_routed_company_product_of_the_variant_publishes_nothing(self):
        """Orders of the variant routed to another company bound it to that
        company's product too: the backend publishes its own company's."""
        other = self.env["res.company"].create({"name": "Routed Co"})
        routed_shirt = self.env["product.product"].create(
            {
                "name": "Shirt (routed)",
                "default_code": "SH-1-ROUTED",
                "type": "consu",
                "is_storable": True,
                "company_id": other.id,
            }
        )
        shirt_binding = self.env["channel.product.binding"].search(
            [("product_id", "=", self.shirt.id)]
        )
        shirt_binding.copy({"product_id": routed_shirt.id, "company_id": other.id})
        self._receive(self.shirt, 5)
        to_send, skipped, _unchanged = self._export(full=True)
        self.assertEqual(to_send[(self.shirt, self.main)], 5)
        self.assertNotIn((routed_shirt, self.main), to_send)
        self.assertFalse(skipped)

    def test_only_internal_locations_below_a_mapping_count(self):
        """A quant below a mapped location that is not stock (here a scrap
        location someone put under WH/Stock) is not for sale."""
        scrap = self.env["stock.location"].create(
            {"name": "Damaged", "location_id": self.stock.id, "usage": "inventory"}
        )
        self._receive(self.shirt, 5)
        self._receive(self.shirt, 4, scrap)
        to_send, _skipped, _unchanged = self._export(full=True)
        self.assertEqual(to_send[(self.shirt, self.main)], 5)

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

    def test_delta_full_and_fast_exports_share_one_job_and_full_is_kept(self):
        self.shirt.channel_fast_mover = True
        with trap_jobs() as trap:
            self.backend._enqueue_stock_export()  # the interval
            self.backend._enqueue_stock_export(full=True)  # the button
            self._receive(self.shirt, 1)  # a fast mover moves
            trap.assert_jobs_count(1)
            job = trap.enqueued_jobs[0]
        self.assertEqual(job.identity_key, f"{STOCK_EXPORT_KEY}.{self.backend.id}")
        self.assertEqual(job.kwargs, {})
        self.assertTrue(self.backend.stock_full_requested, "the full request waits")

    def test_a_second_export_of_the_backend_waits_for_the_running_one(self):
        with self.registry.cursor() as other_worker:
            other_worker.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [STOCK_EXPORT_LOCK, self.backend.id],
            )
            with self.assertRaises(RetryableJobError) as caught:
                self.backend._job_export_stock()
            self.assertTrue(caught.exception.ignore_retry, "waiting is no failure")
        self.assertFalse(self._levels(), "nothing was prepared")

    def test_stock_jobs_have_one_identity_per_backend(self):
        other = self._prepare_backend("shopify", state="connected", name="Other")
        with trap_jobs() as trap:
            for backend in (self.backend, other, self.backend):
                backend._enqueue_stock_export(full=True)
            trap.assert_jobs_count(2)

    def test_move_committed_during_an_export_is_not_lost(self):
        self._receive(self.shirt, 5)
        to_send, _skipped, _unchanged = self._export(full=True)
        self._sent(to_send)
        self._receive(self.shirt, 1)
        level = self._levels(self.shirt)
        _to_send, _skipped, _unchanged, marks = self.backend._plan_stock_export()
        # A move lands between the export's read and its clearing of the flag
        # (what REPEATABLE READ lets happen in another transaction).
        self._receive(self.shirt, 3)
        self.backend._mark_sent([(level, 6)], marks)
        self.assertTrue(level.dirty, "the later move is still to be sent")
        to_send, _skipped, _unchanged = self._export()
        self.assertEqual(to_send, {(self.shirt, self.main): 9})
        # Without a move in between, sending clears the flag.
        _to_send, _skipped, _unchanged, marks = self.backend._plan_stock_export()
        self.backend._mark_sent([(level, 9)], marks)
        self.assertFalse(level.dirty)

    def test_migration_turns_dirty_flags_into_marks(self):
        self.backend._sync_stock_levels()
        levels = self._levels()
        levels._clear_dirty(levels._read_marks())
        shirt = self._levels(self.shirt)
        cr = self.env.cr
        cr.execute(
            "ALTER TABLE channel_stock_level"
            " ADD COLUMN dirty boolean, ADD COLUMN dirty_mark integer"
        )
        cr.execute(
            "UPDATE channel_stock_level SET dirty = (id = %s), dirty_mark = 4"
            " WHERE id = ANY(%s)",
            [shirt.id, levels.ids],
        )
        load_migration("19.0.1.3.0").migrate_stock_marks(cr)
        self.env.invalidate_all()
        self.assertEqual(levels.filtered("dirty"), shirt)
        cr.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = 'channel_stock_level'"
            " AND column_name IN ('dirty', 'dirty_mark')"
        )
        self.assertEqual(cr.fetchall(), [])

    def test_idempotency_key_is_per_export_and_stable_per_retry(self):
        quantities = [
            StockQuantity("11", "1001", 4, change_from=0, inventory_item_ref="911")
        ]
        first = _idempotency_key(self.backend.id, "job-a", quantities)
        self.assertEqual(first, _idempotency_key(self.backend.id, "job-a", quantities))
        self.assertNotEqual(
            first, _idempotency_key(self.backend.id, "job-b", quantities)
        )

    def test_overlapping_mappings_count_a_location_once(self):
        self.main.location_ids = [Command.link(self.shelf.id)]  # child of Stock
        self._receive(self.shirt, 5)
        self._receive(self.shirt, 3, self.shelf)
        to_send, _skipped, _unchanged = self._export(full=True)
        self.assertEqual(to_send[(self.shirt, self.main)], 8)

    def test_levels_of_an_archived_channel_location_are_not_exported(self):
        popup = self.env["channel.stock.location"].create(
            {
                "backend_id": self.backend.id,
                "name": "Popup",
                "location_ref": "1002",
                "location_ids": [Command.set(self.stock.ids)],
            }
        )
        self._receive(self.shirt, 5)
        to_send, _skipped, _unchanged = self._export(full=True)
        self.assertEqual(to_send[(self.shirt, popup)], 5)
        popup.active = False
        to_send, skipped, _unchanged = self._export(full=True)
        self.assertNotIn((self.shirt, popup), to_send)
        self.assertNotIn((self.shirt, popup), skipped)
        self.assertIn((self.shirt, self.main), to_send)

    def _settle(self):
        to_send, _skipped, _unchanged = self._export(full=True)
        self._sent(to_send)
        self.assertFalse(self._export()[0], "all settled")

    def test_buffer_change_goes_out_on_the_next_delta(self):
        self._receive(self.shirt, 5)
        self._settle()
        self.backend.stock_safety_buffer = 2
        to_send, _skipped, unchanged = self._export()
        self.assertEqual(to_send, {(self.shirt, self.main): 3})
        self.assertEqual(unchanged.product_id, self.mug, "0 stays 0: not resent")

    def test_mapping_change_goes_out_on_the_next_delta(self):
        self._receive(self.shirt, 5)
        self._receive(self.shirt, 2, self.backroom)
        self._settle()
        self.main.location_ids = [Command.unlink(self.backroom.id)]
        to_send, _skipped, _unchanged = self._export()
        self.assertEqual(to_send, {(self.shirt, self.main): 5})

    def test_location_moved_out_of_a_mapping_goes_out_on_the_next_delta(self):
        """Shelf 2 (under mapped WH/Stock) is moved to the unmapped view
        location and back: each move changes the sum."""
        self._receive(self.shirt, 5)
        self._receive(self.shirt, 3, self.shelf)
        self._settle()
        self.shelf.location_id = self.stock.location_id  # WH, not mapped
        to_send, _skipped, _unchanged = self._export()
        self.assertEqual(to_send, {(self.shirt, self.main): 5})
        self._sent(to_send)
        self.shelf.location_id = self.stock
        to_send, _skipped, _unchanged = self._export()
        self.assertEqual(to_send, {(self.shirt, self.main): 8})

    def test_a_stock_user_without_channel_rights_moves_a_mapped_location(self):
        self._receive(self.shirt, 3, self.shelf)
        self._settle()
        keeper = new_test_user(
            self.env, login="keeper", groups="stock.group_stock_manager"
        )
        self.shelf.with_user(keeper).location_id = self.stock.location_id
        to_send, _skipped, _unchanged = self._export()
        self.assertEqual(to_send, {(self.shirt, self.main): 0})

    def test_archiving_goes_out_on_the_next_delta_by_policy(self):
        self.backend.stock_archived_policy = "zero"
        self._receive(self.shirt, 5)
        self._settle()
        self.shirt.active = False
        to_send, _skipped, _unchanged = self._export()
        self.assertEqual(to_send, {(self.shirt, self.main): 0})
        self._sent(to_send)
        self.shirt.active = True
        to_send, _skipped, _unchanged = self._export()
        self.assertEqual(to_send, {(self.shirt, self.main): 5})

    def test_unsellable_products_follow_the_archived_policy(self):
        self._receive(self.shirt, 5)
        self._settle()
        self.shirt.product_tmpl_id.sale_ok = False
        to_send, skipped, _unchanged = self._export()
        self.assertFalse(to_send, "skipped, never sent as 0")
        self.assertIn("cannot be sold", skipped[(self.shirt, self.main)])
        self.backend.stock_archived_policy = "zero"
        to_send, skipped, _unchanged = self._export()
        self.assertEqual(to_send, {(self.shirt, self.main): 0})
        self.assertFalse(skipped)

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
            self.assertEqual(job.identity_key, f"{STOCK_EXPORT_KEY}.{self.backend.id}")
            self.assertTrue(job.eta)

    def test_recent_customer_delivery_makes_a_fast_mover(self):
        self._receive(self.mug, 5)
        self._deliver_to_customer(self.mug, self.stock)
        self.assertEqual(self.backend._fast_movers(self.mug.ids), {self.mug.id})
        self.backend.fast_mover_days = 0
        self.assertEqual(self.backend._fast_movers(self.mug.ids), set())


@tagged("post_install", "-at_install")
class TestStockExportScheduling(ChannelCommon):
    """The crons and the button only enqueue the one stock job of a backend."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._prepare_backend(
            "shopify", state="connected", stock_export_interval=10
        )

    def _run_cron(self, xmlid):
        """Run a scheduled action's server code, as the cron worker does."""
        with trap_jobs() as trap:
            self.env.ref(f"channel_connector.{xmlid}").ir_actions_server_id.run()
        return [
            job
            for job in trap.enqueued_jobs
            if job.recordset == self.backend and job.method_name == "_job_export_stock"
        ]

    def _assert_stock_job(self, jobs):
        self.assertEqual(len(jobs), 1)
        self.assertEqual(jobs[0].channel, JOB_CHANNEL_STOCK)
        self.assertEqual(jobs[0].identity_key, f"{STOCK_EXPORT_KEY}.{self.backend.id}")

    def test_interval_cron_enqueues_a_delta_when_the_interval_is_due(self):
        now = fields.Datetime.now()
        self.backend._get_sync_status("stock").last_run_at = now - timedelta(minutes=5)
        with freeze_time(now):
            self.assertFalse(self._run_cron("ir_cron_channel_export_stock"))
        with freeze_time(now + timedelta(minutes=6)):
            self._assert_stock_job(self._run_cron("ir_cron_channel_export_stock"))
        self.assertFalse(self.backend.stock_full_requested, "a delta")

    def test_nightly_cron_enqueues_a_full_resync(self):
        self.backend._get_sync_status("stock").last_run_at = fields.Datetime.now()
        self._assert_stock_job(self._run_cron("ir_cron_channel_resync_stock"))
        self.assertTrue(self.backend.stock_full_requested)

    def test_crons_leave_backends_not_exporting_alone(self):
        self.backend.export_stock = False
        self.assertFalse(self._run_cron("ir_cron_channel_export_stock"))
        self.assertFalse(self._run_cron("ir_cron_channel_resync_stock"))

    def test_full_export_button_enqueues_a_full_export(self):
        with trap_jobs() as trap:
            self.backend.action_export_stock_full()
            trap.assert_jobs_count(1)
            self._assert_stock_job(trap.enqueued_jobs)
        self.assertTrue(self.backend.stock_full_requested)
