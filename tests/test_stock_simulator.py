"""Stock export against the channel simulator: what the channel received."""

import math
import time
from unittest.mock import patch

from odoo import Command
from odoo.tests import tagged

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import DONE, Job
from odoo.addons.queue_job.tests.common import trap_jobs

from ..adapters.exceptions import ChannelBudgetWaitError, ChannelThrottledError
from ..adapters.shopify import ShopifyAdapter
from ..adapters.stock import StockQuantity
from ..adapters.transport import MAX_WAIT_IN_PLACE, BucketStatus
from ..models import channel_backend_stock
from .test_channel_http import SimulatorCommon


class StockSimulatorCommon(SimulatorCommon):
    def _shopify_level(self, ref, location="1001"):
        item = self.sim.state.variants[ref]["inventory_item"]
        return self.sim.state.levels[(item, location)]

    def _sent_quantities(self):
        """Every quantity Shopify was asked to set, in order."""
        return [q for m in self.sim.state.mutations for q in m["quantities"]]

    def _run_like_the_runner(self, job_uuid, attempts):
        """Perform a stored job as queue_job's runner does, retries included:
        each attempt in a savepoint rolled back on failure, a retryable error
        postpones the job; return the job after `attempts` or when done."""
        for _attempt in range(attempts):
            job = Job.load(self.env, job_uuid)
            if job.state == DONE:
                return job
            job.set_started()
            try:
                with self.env.cr.savepoint():
                    job.perform()
                job.set_done()
            except RetryableJobError as err:
                job.postpone(result=str(err), seconds=err.seconds)
                job.set_pending(reset_retry=False)
            job.store()
        return Job.load(self.env, job_uuid)


@tagged("post_install", "-at_install")
class TestStockExportOverHttp(StockSimulatorCommon):
    """Stock moves in Odoo, quantities on the simulated channel."""

    catalogue_size = 3

    def setUp(self):
        super().setUp()
        self.refs = list(self.catalogue)
        self.product = self.catalogue[self.refs[0]]
        self.warehouse = self.stock.warehouse_id
        self.shopify._job_export_stock(full=True)
        self.assertEqual(self._shopify_level(self.refs[0]), 4)

    def _picking(self, picking_type, source, destination, quantity):
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": picking_type.id,
                "location_id": source.id,
                "location_dest_id": destination.id,
                "move_ids": [
                    Command.create(
                        {
                            "product_id": self.product.id,
                            "product_uom_qty": quantity,
                            "location_id": source.id,
                            "location_dest_id": destination.id,
                        }
                    )
                ],
            }
        )
        picking.action_confirm()
        return picking

    def test_validated_delivery_goes_out_on_the_next_delta(self):
        customer = self.env.ref("stock.stock_location_customers")
        picking = self._picking(self.warehouse.out_type_id, self.stock, customer, 3)
        picking.action_assign()
        picking.button_validate()
        self.assertEqual(picking.state, "done")
        self.assertIn("sent 1 in 1 calls", self.shopify._job_export_stock())
        self.assertEqual(self._shopify_level(self.refs[0]), 1)
        self.assertEqual(self._shopify_level(self.refs[1]), 4)

    def test_reservation_lowers_then_release_restores_the_channel(self):
        customer = self.env.ref("stock.stock_location_customers")
        picking = self._picking(self.warehouse.out_type_id, self.stock, customer, 3)
        picking.action_assign()  # reserved, not shipped
        self.shopify._job_export_stock()
        self.assertEqual(self._shopify_level(self.refs[0]), 1)
        picking.action_cancel()
        self.shopify._job_export_stock()
        self.assertEqual(self._shopify_level(self.refs[0]), 4)

    def test_validated_receipt_goes_out_on_the_next_delta(self):
        supplier = self.env.ref("stock.stock_location_suppliers")
        picking = self._picking(self.warehouse.in_type_id, supplier, self.stock, 5)
        picking.button_validate()
        self.assertEqual(picking.state, "done")
        self.shopify._job_export_stock()
        self.assertEqual(self._shopify_level(self.refs[0]), 9)

    def test_buffer_change_reaches_the_channel_on_the_next_delta(self):
        self.shopify.stock_safety_buffer = 1
        self.assertIn("sent 3", self.shopify._job_export_stock())
        self.assertEqual({self._shopify_level(ref) for ref in self.refs}, {3})

    def test_mapped_locations_are_summed_once(self):
        backroom = self.env["stock.location"].create(
            {
                "name": "Backroom",
                "location_id": self.warehouse.view_location_id.id,
                "usage": "internal",
            }
        )
        shelf = self.env["stock.location"].create(
            {"name": "Shelf", "location_id": self.stock.id, "usage": "internal"}
        )
        self.env["stock.quant"]._update_available_quantity(self.product, backroom, 2)
        self.env["stock.quant"]._update_available_quantity(self.product, shelf, 1)
        mapping = self.shopify.stock_location_mapping_ids
        # Stock and its own shelf both mapped: the shelf counts once.
        mapping.location_ids = [Command.link(backroom.id), Command.link(shelf.id)]
        self.shopify._job_export_stock()
        self.assertEqual(self._shopify_level(self.refs[0]), 7)

    def test_unknown_quantities_are_never_sent_as_zero(self):
        self.product.active = False  # archived, policy "skip"
        unbound = self.catalogue[self.refs[1]]
        self.env["channel.product.binding"].search(
            [("backend_id", "=", self.shopify.id), ("product_id", "=", unbound.id)]
        ).inventory_item_ref = False
        self.env["channel.stock.location"].create(
            {"backend_id": self.shopify.id, "name": "Pop-up", "location_ref": "1002"}
        )
        for product in self.catalogue.values():
            self.env["stock.quant"]._update_available_quantity(product, self.stock, -4)
        self.shopify._job_export_stock()
        self.shopify._job_export_stock(full=True)
        self.assertEqual(self._shopify_level(self.refs[0]), 4, "archived: untouched")
        self.assertEqual(self._shopify_level(self.refs[1]), 4, "no item: untouched")
        self.assertEqual(self._shopify_level(self.refs[2]), 0, "a real zero is sent")
        self.assertEqual(self._shopify_level(self.refs[2], "1002"), 0)
        real_zero = self.sim.state.variants[self.refs[2]]["inventory_item"]
        zeros = {
            (q["inventoryItemId"], q["locationId"])
            for q in self._sent_quantities()
            if q["quantity"] == 0
        }
        self.assertEqual(
            zeros,
            {
                (
                    f"gid://shopify/InventoryItem/{real_zero}",
                    "gid://shopify/Location/1001",
                )
            },
            "only the real zero",
        )
        skipped = self.env["channel.exception"].search(
            [
                ("backend_id", "=", self.shopify.id),
                ("exception_type", "=", "stock_skipped"),
            ]
        )
        self.assertEqual(len(skipped), 2 + 3, "archived, no item, 3 unmapped")

    def test_a_later_export_with_the_same_content_is_applied(self):
        levels = self.env["channel.stock.level"].search(
            [("backend_id", "=", self.shopify.id)]
        )
        # Someone zeroes the channel; we lose track of its figures. The next
        # full export sends exactly the batch the first one sent.
        for ref in self.refs:
            self.sim.scenario.set_inventory(ref, 0, notify=False)
        levels.write({"channel_qty": 0, "has_channel_qty": False})
        self.shopify._job_export_stock(full=True)
        keys = self.sim.state.idempotency_keys
        self.assertEqual(len(keys), 2)
        self.assertNotEqual(keys[0], keys[1])
        self.assertEqual(
            {self._shopify_level(ref) for ref in self.refs},
            {4},
            "applied, not replayed",
        )

    def test_full_request_makes_the_pending_export_full(self):
        with trap_jobs() as trap:
            self.shopify._enqueue_stock_export()
            self.shopify.action_export_stock_full()
            trap.assert_jobs_count(1)
            trap.perform_enqueued_jobs()
        self.assertFalse(self.shopify.stock_full_requested)
        self.assertEqual(len(self.sim.state.mutations), 2, "setUp's, then the full")
        self.assertEqual(len(self.sim.state.mutations[-1]["quantities"]), 3)

    def test_http_429_storm_longer_than_in_place_retries_ends_done(self):
        attempts_per_job = ShopifyAdapter.throttle_retries + 1
        for product in self.catalogue.values():
            self.env["stock.quant"]._update_available_quantity(product, self.stock, 1)
        # Seven job attempts throttled through: more than queue_job's 5 retries.
        self.sim.state.inject("shopify", "429", attempts_per_job * 7, retry_after=0.001)
        self.sim.state.inject(
            "woocommerce", "429", attempts_per_job * 7, retry_after=0.001
        )
        for backend in (self.shopify, self.woo):
            job_uuid = backend._enqueue_stock_export().uuid
            job = self._run_like_the_runner(job_uuid, attempts=10)
            self.assertEqual(job.state, DONE, backend.provider)
            self.assertEqual(job.retry, 1, "only the attempt that succeeded counts")
        self.assertEqual({self._shopify_level(ref) for ref in self.refs}, {5})
        products = self.sim.state.woo_products
        self.assertEqual({products[ref]["stock_quantity"] for ref in self.refs}, {5})

    def test_throttled_storm_longer_than_in_place_retries_ends_done(self):
        """Shopify's own THROTTLED answers (an empty cost bucket), not a 429:
        the job waits for the refill each time and never fails."""
        attempts_per_job = ShopifyAdapter.throttle_retries + 1
        for product in self.catalogue.values():
            self.env["stock.quant"]._update_available_quantity(product, self.stock, 1)
        self.sim.state.inject("shopify", "throttled", attempts_per_job * 7)
        job = self._run_like_the_runner(
            self.shopify._enqueue_stock_export().uuid, attempts=10
        )
        self.assertEqual(job.state, DONE)
        self.assertEqual(job.retry, 1, "only the attempt that succeeded counts")
        self.assertEqual({self._shopify_level(ref) for ref in self.refs}, {5})
        # How many throttled answers one attempt meets before it hands over to
        # the job's retry depends on the refill waits (capped in place), so
        # only the premise is pinned: the storm outlasted one attempt.
        left = sum(fault["remaining"] for fault in self.sim.state.faults.pending())
        self.assertGreater(attempts_per_job * 7 - left, attempts_per_job)


@tagged("post_install", "-at_install")
class TestStockExportRetry(StockSimulatorCommon):
    """A job retried after some batches went out: nothing applied twice."""

    catalogue_size = 260

    def test_retry_after_a_partial_send_replays_and_completes(self):
        push_stock = ShopifyAdapter.push_stock
        calls = []

        def throttled_once(adapter, quantities, key):
            calls.append(key)
            if len(calls) == 2:  # the second batch, first attempt only
                raise ChannelThrottledError("Shopify throttled", retry_after=1)
            return push_stock(adapter, quantities, key)

        job = self.shopify.with_context(job_uuid="stock-retry-test")
        with patch.object(ShopifyAdapter, "push_stock", throttled_once):
            # queue_job rolls the failed attempt back: a savepoint here.
            with (
                self.assertRaises(RetryableJobError) as caught,
                self.env.cr.savepoint(),
            ):
                job._job_export_stock(full=True)
            self.assertTrue(caught.exception.ignore_retry)
            job._job_export_stock(full=True)
        self.assertTrue(
            all(self._shopify_level(ref) == 4 for ref in self.catalogue),
        )
        keys = self.sim.state.idempotency_keys
        self.assertEqual(len(keys), 3)
        self.assertEqual(keys[0], keys[1], "the retried first batch reused its key")
        self.assertEqual(len(self.sim.state.mutations), 2, "nothing applied twice")
        levels = self.env["channel.stock.level"].search(
            [("backend_id", "=", self.shopify.id)]
        )
        self.assertEqual(set(levels.mapped("channel_qty")), {4})
        self.assertFalse(any(levels.mapped("dirty")))


@tagged("post_install", "-at_install")
class TestStockExportStreaming(StockSimulatorCommon):
    """A full export computed a chunk at a time, sent as batches fill up."""

    catalogue_size = 260

    def test_chunks_smaller_than_a_batch_cost_no_extra_call(self):
        with patch.object(channel_backend_stock, "STOCK_EXPORT_CHUNK", 100):
            result = self.shopify._job_export_stock(full=True)
        self.assertEqual(result, "sent 260 in 2 calls, skipped 0")
        self.assertEqual(self.sim.state.calls["inventorySetQuantities"], 2)
        self.assertEqual(
            [len(m["quantities"]) for m in self.sim.state.mutations], [250, 10]
        )
        self.assertTrue(all(self._shopify_level(ref) == 4 for ref in self.catalogue))
        levels = self.env["channel.stock.level"].search(
            [("backend_id", "=", self.shopify.id)]
        )
        self.assertEqual(set(levels.mapped("last_sent_qty")), {4})
        self.assertFalse(any(levels.mapped("dirty")))

    def test_export_waits_for_the_refill_instead_of_meeting_throttled(self):
        self.enterContext(self.enter_registry_test_mode())  # budget rows shared
        bucket = self.sim.bucket
        with bucket.lock:
            bucket.available, bucket.updated = 5.0, bucket.clock()
        self.env["channel.api.budget"]._for_backend(self.shopify, "stock").after(
            BucketStatus(maximum=1000, available=5, restore_rate=100)
        )
        started = time.monotonic()
        self.shopify._job_export_stock(full=True)
        # 10 points + the 20 % left to orders - 5: 2.05 s before the first call.
        self.assertGreater(time.monotonic() - started, 2.0)
        self.assertEqual(self.sim.state.calls["inventorySetQuantities"], 2)
        self.assertEqual(
            self.sim.state.cost["inventorySetQuantities"], 20, "no THROTTLED answer"
        )


@tagged("post_install", "-at_install")
class TestWooCommerceStockBatches(StockSimulatorCommon):
    """Variations are written through their parent: batches follow parents."""

    def _bind_woo(self, refs):
        variants = self.sim.state.variants
        products = self.env["product.product"].create(
            [
                {"name": f"Woo {ref}", "type": "consu", "is_storable": True}
                for ref in refs
            ]
        )
        self.env["channel.product.binding"].create(
            [
                {
                    "backend_id": self.woo.id,
                    "company_id": self.env.company.id,
                    "product_id": product.id,
                    "external_ref": ref,
                    "product_ref": variants[ref]["woo_parent_id"] or False,
                }
                for ref, product in zip(refs, products, strict=True)
            ]
        )
        for product in products:
            self.env["stock.quant"]._update_available_quantity(product, self.stock, 2)

    def test_variations_cost_one_call_per_parent_per_100(self):
        state = self.sim.state
        with state.lock:
            simple_before = state.seed_catalogue(60)
            variations = state._seed_product(120, 0)
            simple_after = state.seed_catalogue(60)
        # Odoo ids interleave: simple, variations, simple.
        for refs in (simple_before, variations, simple_after):
            self._bind_woo(refs)
        self.env["channel.stock.location"].create(
            {
                "backend_id": self.woo.id,
                "name": "Store",
                "location_ref": "store",
                "location_ids": [Command.set(self.stock.ids)],
            }
        )
        self.woo._job_export_stock(full=True)
        self.assertEqual(state.calls["POST products"], math.ceil(120 / 100))
        self.assertEqual(state.calls["POST variations"], math.ceil(120 / 100))
        self.assertEqual(
            {state.woo_products[ref]["stock_quantity"] for ref in variations}, {2}
        )


@tagged("post_install", "-at_install")
class TestWooCommerceSharedThrottle(StockSimulatorCommon):
    """A 429 one worker meets makes every worker of the account wait."""

    catalogue_size = 2

    def setUp(self):
        super().setUp()
        self.enterContext(self.enter_registry_test_mode())

    def test_retry_after_of_one_worker_is_waited_by_the_others(self):
        ref = next(iter(self.catalogue))
        self.sim.scenario.set_woo_stock(ref, 7, notify=False)
        self.sim.state.inject("woocommerce", "429", 1, retry_after=3)
        slept = []
        adapter = self.woo._get_adapter(priority="stock")
        adapter.config["sleep"] = slept.append
        adapter.config["budget"].sleep = slept.append
        quantity = StockQuantity(variant_ref=ref, location_ref="store", quantity=0)
        # A short wait (within MAX_WAIT_IN_PLACE) is waited out in place.
        self.assertEqual(adapter.read_stock([quantity]), {quantity: 7})
        self.assertEqual(slept[0], 3)
        budget = self.env["channel.api.budget"].search(
            [("backend_id", "=", self.woo.id)]
        )
        self.assertTrue(budget.blocked_until)
        other_waits = []
        other_worker = self.env["channel.api.budget"]._for_backend(
            self.woo, "orders", sleep=other_waits.append
        )
        other_worker.before(0)
        self.assertEqual(len(other_waits), 1)
        self.assertGreater(other_waits[0], 0)

    def test_long_retry_after_is_left_to_the_job_retry(self):
        """A 429 asking for more than MAX_WAIT_IN_PLACE: the export ends with
        a retry after the channel's delay instead of sleeping, and so does
        another worker of the account that meets the block."""
        self.sim.state.inject("woocommerce", "429", 1, retry_after=30)
        started = time.monotonic()
        with self.assertRaises(RetryableJobError) as caught:
            self.woo._job_export_stock(full=True)
        self.assertLess(time.monotonic() - started, MAX_WAIT_IN_PLACE)
        self.assertEqual(caught.exception.seconds, 30)
        self.assertTrue(caught.exception.ignore_retry, "throttling is no failure")
        other_waits = []
        other_worker = self.env["channel.api.budget"]._for_backend(
            self.woo, "orders", sleep=other_waits.append
        )
        # The block that 429 wrote (on the budget's own cursor in production,
        # rolled back here with the failed export's savepoint).
        other_worker.throttled(30)
        with self.assertRaises(ChannelBudgetWaitError) as caught:
            other_worker.before(0)
        self.assertGreater(caught.exception.retry_after, 25)
        self.assertEqual(other_waits, [])
