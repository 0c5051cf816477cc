"""Bulk backfill of order history against the simulator, one page per job."""

from datetime import timedelta
from types import SimpleNamespace
from unittest.mock import patch

from odoo import SUPERUSER_ID, api, fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.queue_job.tests.common import trap_jobs

from simulator.util import utc_now

from ..adapters import shopify as shopify_adapter
from ..adapters import woocommerce as woocommerce_adapter
from ..const import JOB_CHANNEL_ORDERS, ORDER_PULL_TOPIC
from ..models.channel_backfill import BACKFILL_PRIORITY
from .common import CommittedCase
from .test_channel_http import SimulatorCommon

ORDER = {
    "lines": [("SIM-000001", 1)],
    "tax_rate": "0",
    "shipping": None,
    "customer": "repeat",
    "financial_status": "paid",
}


@tagged("post_install", "-at_install")
class TestOrderBackfill(SimulatorCommon):
    catalogue_size = 2

    def _orders(self, channel, count, days_ago=0):
        """`count` orders on `channel`, created `days_ago` on the channel's clock."""
        moment = utc_now() - timedelta(days=days_ago)
        clock, self.sim.state.wall_clock = self.sim.state.wall_clock, lambda: moment
        try:
            return [
                self.sim.scenario.create_order(channel=channel, notify=False, **ORDER)
                for _ in range(count)
            ]
        finally:
            self.sim.state.wall_clock = clock

    def _run_backfill(self, backend):
        """Start, then run every job (pages, and the orders' imports they
        enqueue) as the runner would, in order.

        :return: the page jobs performed
        """
        performed = []
        with trap_jobs() as trap:
            backend.action_start_backfill()
            while len(performed) < len(trap.enqueued_jobs):
                job = trap.enqueued_jobs[len(performed)]
                performed.append(job)
                job.perform()
        return [job for job in performed if job.method_name == "_job_import_page"]

    def _sale_orders(self, backend, orders):
        return self.env["channel.order.binding"].search(
            [
                ("backend_id", "=", backend.id),
                ("external_ref", "in", [str(order["id"]) for order in orders]),
            ]
        )

    def test_shopify_backfill_imports_the_history_since_the_date_page_by_page(self):
        old = self._orders("shopify", 2, days_ago=30)
        recent = self._orders("shopify", 5, days_ago=3)
        self.shopify.backfill_since = fields.Datetime.now() - timedelta(days=10)
        with patch.object(shopify_adapter, "ORDERS_PAGE_SIZE", 2):
            jobs = self._run_backfill(self.shopify)
        self.assertEqual(len(jobs), 3, "5 orders in pages of 2")
        self.assertTrue(
            all(
                job.channel == JOB_CHANNEL_ORDERS and job.priority == BACKFILL_PRIORITY
                for job in jobs
            )
        )
        backfill = self.shopify.backfill_id
        self.assertEqual(backfill.state, "done")
        self.assertEqual(backfill.total, 5)
        self.assertEqual(backfill.processed, 5)
        self.assertEqual(backfill.imported, 5)
        self.assertEqual(backfill.progress, 100.0)
        bindings = self._sale_orders(self.shopify, recent)
        self.assertEqual(len(bindings), 5)
        self.assertEqual(set(bindings.sale_order_id.mapped("state")), {"sale"})
        self.assertEqual(
            len(bindings.sale_order_id.partner_id), 1, "repeat customer: one partner"
        )
        self.assertFalse(self._sale_orders(self.shopify, old), "older than the date")

    def test_woocommerce_backfill_counts_and_skips_what_was_imported(self):
        orders = self._orders("woocommerce", 3, days_ago=2)
        self.woo.backfill_since = fields.Datetime.now() - timedelta(days=5)
        with patch.object(woocommerce_adapter, "ORDERS_PAGE_SIZE", 2):
            self._run_backfill(self.woo)
            first = self.woo.backfill_id
            self.assertEqual(first.imported, 3)
            # A second backfill over the same history creates nothing new.
            self._run_backfill(self.woo)
        second = self.woo.backfill_id
        self.assertNotEqual(second, first, "one record per run")
        self.assertEqual(second.state, "done")
        self.assertEqual(second.processed, 3)
        self.assertEqual(second.imported, 0)
        self.assertEqual(first.imported, 3, "the first run keeps its figures")
        self.assertEqual(len(self._sale_orders(self.woo, orders).sale_order_id), 3)

    def _break_orders(self, unreadable, invalid, database_error=False):
        """Shopify cannot answer for `unreadable` (a currency its schema does
        not know); importing `invalid` raises a ValidationError, or with
        `database_error` the database refuses a row (a NOT NULL violation).

        :return: the context manager of the error
        """
        book = self.sim.state.shopify_orders[str(unreadable["id"])]
        self.shop_currency = book["currency"]
        book["currency"] = "ZZZ"
        SaleOrder = type(self.env["sale.order"])
        prepare = SaleOrder._prepare_channel_order

        def refuse(sale_order, backend, order, *args, **kwargs):
            if order.external_ref == str(invalid["id"]):
                if database_error:
                    with mute_logger("odoo.sql_db"):
                        sale_order.env.cr.execute(
                            "INSERT INTO sale_order (id) VALUES (DEFAULT)"
                        )
                msg = "The delivery address is not valid."
                raise ValidationError(msg)
            return prepare(sale_order, backend, order, *args, **kwargs)

        return patch.object(SaleOrder, "_prepare_channel_order", refuse)

    def _pull_failures(self, backend):
        return self.env["channel.exception"].search(
            [("backend_id", "=", backend.id), ("exception_type", "=", "validation")]
        )

    def _assert_retry_reads_them_again(self, failures, orders, unreadable):
        """Each failure waits on its order's `orders/pull` event; once the
        channel answers, Retry reads and imports the orders."""
        targets = [failure._get_retry_target() for failure in failures]
        self.assertEqual({t.topic for t in targets}, {ORDER_PULL_TOPIC})
        self.sim.state.shopify_orders[str(unreadable["id"])]["currency"] = (
            self.shop_currency
        )
        failures.with_user(self.ops_user).action_retry()
        self.assertEqual(set(failures.mapped("state")), {"resolved"})
        bindings = self._sale_orders(self.shopify, orders)
        self.assertEqual(len(bindings), len(orders))
        self.assertEqual(set(bindings.sale_order_id.mapped("state")), {"sale"})

    def test_a_bad_order_fails_alone_and_the_backfill_goes_on(self):
        orders = self._orders("shopify", 4, days_ago=1)
        unreadable, invalid = orders[0], orders[2]
        self.shopify.backfill_since = fields.Datetime.now() - timedelta(days=2)
        with (
            patch.object(shopify_adapter, "ORDERS_PAGE_SIZE", 2),
            self._break_orders(unreadable, invalid),
        ):
            self._run_backfill(self.shopify)
        backfill = self.shopify.backfill_id
        self.assertEqual(backfill.state, "done")
        self.assertEqual(
            (backfill.processed, backfill.imported, backfill.failed), (4, 2, 2)
        )
        self.assertEqual(len(self._sale_orders(self.shopify, orders)), 2)
        failures = self._pull_failures(self.shopify)
        self.assertEqual(len(failures), 2)
        self.assertIn(unreadable["name"], " ".join(failures.mapped("name")))
        self.assertIn("not valid", " ".join(failures.mapped("name")))
        self.assertEqual(
            {f._get_retry_target().resource_ref for f in failures},
            {str(unreadable["id"]), str(invalid["id"])},
        )
        self._assert_retry_reads_them_again(failures, orders, unreadable)

    def test_a_bad_order_fails_alone_in_the_reconciliation_pull(self):
        orders = self._orders("shopify", 3)
        unreadable, invalid = orders[0], orders[1]
        self.shopify._get_sync_status("order_pull").last_run_at = (
            fields.Datetime.now() - timedelta(hours=1)
        )
        with self._break_orders(unreadable, invalid, database_error=True):
            result = self._reconcile(self.shopify)
        self.assertIn("3 orders pulled", result)
        self.assertEqual(len(self._sale_orders(self.shopify, orders)), 1)
        failures = self._pull_failures(self.shopify)
        self.assertEqual(len(failures), 2)
        self.assertIn("null value", " ".join(failures.mapped("name")))
        self._assert_retry_reads_them_again(failures, orders, unreadable)

    def test_a_reconciliation_page_of_50_orders_makes_50_import_jobs(self):
        """One job per order, keyed per backend and order; the page imports
        nothing itself, and pulling again while they wait adds no job."""
        orders = self._orders("shopify", 50)
        refs = {str(order["id"]) for order in orders}
        self.shopify.last_reconciliation = fields.Datetime.now() - timedelta(hours=1)
        with trap_jobs() as trap:
            self.assertIn("50 orders pulled", self.shopify._job_reconcile_orders())
            self.shopify._reconcile_orders(
                fields.Datetime.now() - timedelta(hours=1), fields.Datetime.now()
            )
            imports = [j for j in trap.enqueued_jobs if j.method_name == "_job_process"]
        self.assertEqual(len(imports), 50)
        self.assertEqual(
            {job.identity_key for job in imports},
            {f"channel_connector.order_import.{self.shopify.id}.{r}" for r in refs},
        )
        self.assertEqual({job.channel for job in imports}, {JOB_CHANNEL_ORDERS})
        self.assertEqual({job.recordset.resource_ref for job in imports}, refs)
        self.assertEqual(set(imports[0].recordset.mapped("topic")), {ORDER_PULL_TOPIC})
        self.assertFalse(self._sale_orders(self.shopify, orders), "not imported yet")

    def test_woocommerce_order_that_does_not_parse_fails_alone(self):
        orders = self._orders("woocommerce", 3, days_ago=1)
        book = self.sim.state.woo_orders[str(orders[1]["id"])]
        currency, book["presentment_currency"] = book["presentment_currency"], ""
        self.woo.backfill_since = fields.Datetime.now() - timedelta(days=2)
        with patch.object(woocommerce_adapter, "ORDERS_PAGE_SIZE", 2):
            self._run_backfill(self.woo)
        backfill = self.woo.backfill_id
        self.assertEqual(backfill.state, "done")
        self.assertEqual((backfill.imported, backfill.failed), (2, 1))
        failure = self._pull_failures(self.woo)
        self.assertIn("no currency", failure.name)
        book["presentment_currency"] = currency
        failure.with_user(self.ops_user).action_retry()
        self.assertEqual(failure.state, "resolved")
        self.assertEqual(len(self._sale_orders(self.woo, orders)), 3)

    def test_cancel_stops_before_the_next_page(self):
        self._orders("shopify", 3, days_ago=1)
        self.shopify.backfill_since = fields.Datetime.now() - timedelta(days=2)
        with (
            patch.object(shopify_adapter, "ORDERS_PAGE_SIZE", 2),
            trap_jobs() as trap,
        ):
            self.shopify.action_start_backfill()
            backfill = self.shopify.backfill_id
            self.assertEqual(backfill.progress, 0.0)
            trap.enqueued_jobs[0].perform()
            self.assertEqual(backfill.processed, 2)
            self.assertAlmostEqual(backfill.progress, 200 / 3)
            self.shopify.action_cancel_backfill()
            pages = [
                job
                for job in trap.enqueued_jobs
                if job.method_name == "_job_import_page"
            ]
            self.assertEqual(len(pages), 2)
            result = pages[1].perform()
        self.assertIn("cancelled", result)
        self.assertEqual(backfill.state, "cancelled")
        self.assertEqual(backfill.processed, 2)

    def test_a_replayed_page_job_imports_nothing_twice(self):
        self._orders("shopify", 1, days_ago=1)
        self.shopify.backfill_since = fields.Datetime.now() - timedelta(days=2)
        with trap_jobs() as trap:
            self.shopify.action_start_backfill()
            first = trap.enqueued_jobs[0]
            first.perform()
            backfill = self.shopify.backfill_id
            backfill.state = "running"  # as if it were still going
            self.assertIn("already imported", first.perform())
        self.assertEqual(backfill.processed, 1)

    def test_backfill_needs_a_date_and_a_channel_that_lists_orders(self):
        with self.assertRaisesRegex(UserError, "date"):
            self.shopify.action_start_backfill()
        generic = self._prepare_backend("generic", state="connected")
        generic.backfill_since = fields.Datetime.now()
        with self.assertRaisesRegex(UserError, "lists its orders"):
            generic.action_start_backfill()


@tagged("post_install", "-at_install")
class TestBackfillFulfilledHistory(SimulatorCommon):
    """History fulfilled on the channel before Odoo knew it is imported as
    delivered: its delivery is validated, so it reserves nothing."""

    catalogue_size = 2
    _orders = TestOrderBackfill._orders
    _run_backfill = TestOrderBackfill._run_backfill
    _sale_orders = TestOrderBackfill._sale_orders

    def setUp(self):
        super().setUp()
        self.product = self.env["product.product"].search(
            [("default_code", "=", "SIM-000001")]
        )
        self.env["stock.quant"]._update_available_quantity(self.product, self.stock, 10)

    def _deliveries(self, backend, orders):
        return self._sale_orders(backend, orders).sale_order_id.picking_ids

    def test_backfill_imports_fulfilled_orders_as_delivered(self):
        shipped = self._orders("shopify", 2, days_ago=3)
        open_order = self._orders("shopify", 1, days_ago=3)
        for order in shipped:
            self.sim.scenario.fulfill_on_channel(
                "shopify", order["id"], tracking={"number": "OLD"}, notify=False
            )
        self.shopify.backfill_since = fields.Datetime.now() - timedelta(days=10)
        product = self.product.with_context(location=self.stock.id)
        on_hand, free = product.qty_available, product.free_qty
        self._run_backfill(self.shopify)
        delivered = self._deliveries(self.shopify, shipped)
        self.assertEqual(len(delivered), 2)
        self.assertEqual(set(delivered.mapped("state")), {"done"})
        self.assertEqual(
            set(delivered.channel_fulfilment_ids.mapped("origin")), {"channel"}
        )
        waiting = self._deliveries(self.shopify, open_order)
        self.assertEqual(waiting.state, "assigned", "an open order still ships")
        self.env.invalidate_all()
        self.assertEqual(
            product.qty_available, on_hand, "the history left before the count"
        )
        self.assertEqual(product.free_qty, free - 1, "the open order reserves 1")
        self.assertEqual(set(delivered.move_ids.mapped("state")), {"done"})
        self.assertEqual(
            self._sale_orders(self.shopify, shipped)
            .sale_order_id.order_line.filtered("channel_line_ref")
            .mapped("qty_delivered"),
            [1.0, 1.0],
        )
        self.assertFalse(
            self.sim.state.shopify_orders[str(open_order[0]["id"])]["fulfillments"]
        )
        # Backfilling again imports nothing twice.
        self._run_backfill(self.shopify)
        self.assertEqual(len(self._deliveries(self.shopify, shipped)), 2)

    def test_woocommerce_backfill_of_completed_orders(self):
        completed = self._orders("woocommerce", 1, days_ago=3)
        self.sim.scenario.fulfill_on_channel(
            "woocommerce", completed[0]["id"], notify=False
        )
        self.woo.backfill_since = fields.Datetime.now() - timedelta(days=10)
        product = self.product.with_context(location=self.stock.id)
        on_hand = product.qty_available
        self._run_backfill(self.woo)
        delivery = self._deliveries(self.woo, completed)
        self.assertEqual(delivery.state, "done")
        self.env.invalidate_all()
        self.assertEqual(product.qty_available, on_hand)
        self.assertFalse(
            self.sim.state.woo_orders[str(completed[0]["id"])].get("notes"),
            "nothing reported back",
        )


class TestConcurrentPulls(CommittedCase):
    """The reconciliation and a backfill page read the same order at once
    (seen in `make bench-backfill`): the second insert of its `orders/pull`
    event met the first's unique key and failed the reconciliation job."""

    def test_a_pull_meeting_a_concurrent_twin_leaves_the_import_to_it(self):
        backend_id = self._committed_backend(
            name="Concurrent pulls",
            provider="shopify",
            api_url="http://127.0.0.1:9",
            state="connected",
        )
        order = SimpleNamespace(external_ref="77001", updated_at=utc_now())
        with self.db.cursor() as cr_late:
            env_late = api.Environment(cr_late, SUPERUSER_ID, {})
            backend_late = env_late["channel.backend"].browse(backend_id)
            # Its snapshot is taken before the other pull commits.
            env_late["channel.event"].search_count([("backend_id", "=", backend_id)])
            with self.db.cursor() as cr_first:
                env_first = api.Environment(cr_first, SUPERUSER_ID, {})
                first = env_first["channel.event"]._get_pull_event(
                    env_first["channel.backend"].browse(backend_id), order
                )
                self.assertTrue(first)
            Binding = env_late["channel.order.binding"]
            with trap_jobs() as trap:
                Binding._enqueue_pulled_orders(backend_late, [order], 10)
            trap.assert_jobs_count(0)
            # The transaction is still usable after the twin's unique key.
            self.assertTrue(backend_late.name)
            cr_late.rollback()
        with self.db.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM channel_event WHERE backend_id = %s"
                " AND dedupe_key = 'pull:77001'",
                [backend_id],
            )
            self.assertEqual(cr.fetchone()[0], 1)
