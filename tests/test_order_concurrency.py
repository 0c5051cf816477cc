"""Concurrent imports of channel orders, on real committed cursors."""

import base64
import json
import threading
import time
from datetime import timedelta

import psycopg2

from odoo import SUPERUSER_ID, api, fields, sql_db
from odoo.tests import BaseCase, get_db_name, tagged

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.tests.common import trap_jobs

from simulator import ChannelSimulator

from .reference import reference_path
from .test_order_import import OrderImportCommon

SKU = "RACE-SKU-1"


@tagged("post_install", "-at_install")
class TestConcurrentOrderImport(BaseCase):
    """Worker A imports an order and holds its transaction open; worker B took
    its snapshot before A committed and waits on the order's lock. B must end
    as a clean duplicate (after the job is retried), never as an exception.

    No test transaction here: everything is committed, then deleted.
    """

    # The payload builder of the order import tests, reused as is.
    _order = OrderImportCommon._order
    _line = OrderImportCommon._line
    _tax_lines = staticmethod(OrderImportCommon._tax_lines)
    _fill_totals = staticmethod(OrderImportCommon._fill_totals)

    def setUp(self):
        super().setUp()
        self.sample = json.loads(
            reference_path("shopify", "webhooks", "orders__create.json").read_text()
        )
        self.db = sql_db.db_connect(get_db_name())
        body = json.dumps(
            self._order(order_id=88001, lines=[(SKU, 88501, 1, "10.00", "0", None)])
        ).encode()
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["channel.backend"].create(
                {
                    "name": "Race test",
                    "provider": "shopify",
                    "api_url": "http://127.0.0.1:9",
                    "webhook_secret": "race",
                    "state": "connected",
                    "order_confirm": False,
                    "order_read_from_channel": False,
                }
            )
            product = env["product.product"].create(
                {"name": "Race shirt", "default_code": SKU, "type": "consu"}
            )
            events = env["channel.event"].create(
                [
                    {
                        "backend_id": backend.id,
                        "topic": topic,
                        "flow": "orders",
                        "dedupe_key": f"race-{topic}",
                        "resource_ref": "88001",
                        "raw_body": base64.b64encode(body),
                        "state": "queued",
                    }
                    for topic in ("orders/create", "orders/updated")
                ]
            )
            self.backend_id, self.product_id = backend.id, product.id
            self.event_ids = events.ids
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            orders = env["sale.order"].search(
                [("channel_backend_id", "=", self.backend_id)]
            )
            partners = orders.partner_id
            orders.unlink()
            env["channel.backend"].browse(self.backend_id).unlink()
            partners.with_context(active_test=False).child_ids.unlink()
            partners.unlink()
            env["product.product"].browse(self.product_id).unlink()

    def _work(self, event_id, imported, may_commit, errors):
        """One job runner worker: run the job, retry it in a new transaction
        on RetryableJobError or a serialization failure, record an exception
        on any other failure (the job's on_fail hook), like queue_job does."""
        for _attempt in range(3):
            with self.db.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                event = env["channel.event"].browse(event_id)
                try:
                    event._job_process()
                    imported.set()
                    may_commit.wait(20)
                    return
                except (RetryableJobError, psycopg2.errors.SerializationFailure):
                    cr.rollback()
                    continue
                except Exception as exc:  # noqa: BLE001 - as the runner does
                    cr.rollback()
                    errors.append(exc)
                    event._on_job_failed(type(exc).__name__, str(exc))
                    return

    def _lock_waiters(self):
        with self.db.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM pg_locks"
                " WHERE locktype = 'advisory' AND NOT granted"
            )
            return cr.fetchone()[0]

    def test_second_worker_is_a_clean_duplicate(self):
        errors = []
        a_ready, b_ready = threading.Event(), threading.Event()
        a_commit, b_commit = threading.Event(), threading.Event()
        b_commit.set()
        first = threading.Thread(
            target=self._work, args=(self.event_ids[0], a_ready, a_commit, errors)
        )
        second = threading.Thread(
            target=self._work, args=(self.event_ids[1], b_ready, b_commit, errors)
        )
        # A imports first, keeping its transaction open until B waits.
        first.start()
        self.assertTrue(a_ready.wait(30), "A imported the order")
        second.start()
        deadline = time.monotonic() + 20
        while not self._lock_waiters() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(self._lock_waiters(), "B waits on the order's lock")
        a_commit.set()
        first.join(30)
        second.join(30)
        self.assertEqual(errors, [])
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            orders = env["sale.order"].search(
                [("channel_backend_id", "=", self.backend_id)]
            )
            self.assertEqual(len(orders), 1)
            exceptions = env["channel.exception"].search(
                [("backend_id", "=", self.backend_id)]
            )
            self.assertFalse(exceptions.mapped("name"))
            events = env["channel.event"].browse(self.event_ids)
            self.assertEqual(
                sorted(events.mapped("state")),
                ["done", "duplicate"],
                events.mapped("error"),
            )
            bindings = env["channel.partner.binding"].search(
                [("backend_id", "=", self.backend_id)]
            )
            self.assertEqual(len(bindings.partner_id), 1)


@tagged("post_install", "-at_install")
class TestContendedPulledOrder(BaseCase):
    """A reconciliation page meets an order whose binding another transaction
    holds locked: the page and the other orders' imports go through; only
    that order's job waits, and imports once the lock is gone.

    No test transaction here: everything is committed, then deleted.
    """

    def setUp(self):
        super().setUp()
        self.sim = ChannelSimulator(seed=3, bucket_size=1000, restore_rate=100).start()
        self.addCleanup(self.sim.stop)
        self.sim.state.seed_catalogue(1, quantity=0)
        self.db = sql_db.db_connect(get_db_name())
        self.since = fields.Datetime.now() - timedelta(hours=1)
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["channel.backend"].create(
                {
                    "name": "Contention test",
                    "provider": "shopify",
                    "api_url": self.sim.base_url,
                    "shopify_access_token": "shpat_sim_token",
                    "state": "connected",
                    "order_confirm": False,
                    "reconcile_grace_minutes": 0,
                }
            )
            product = env["product.product"].create(
                {"name": "Pulled shirt", "default_code": "SIM-000001", "type": "consu"}
            )
            self.backend_id, self.product_id = backend.id, product.id
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["channel.backend"].browse(self.backend_id)
            orders = env["sale.order"].search([("channel_backend_id", "=", backend.id)])
            partners = orders.partner_id
            orders.unlink()
            env["queue.job"].search(
                [("identity_key", "like", f"channel_connector.%.{backend.id}.%")]
            ).unlink()
            backend.unlink()
            partners.with_context(active_test=False).child_ids.unlink()
            partners.unlink()
            env["product.product"].browse(self.product_id).unlink()

    def _order(self):
        return self.sim.scenario.create_order(
            channel="shopify",
            notify=False,
            lines=[("SIM-000001", 1)],
            tax_rate="0",
            shipping=None,
            financial_status="paid",
        )

    def _pull(self):
        """The reconciliation page, committed: the ids of the events it queued."""
        with self.db.cursor() as cr, trap_jobs() as trap:
            cr.execute("SET LOCAL lock_timeout = '2s'")
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["channel.backend"].browse(self.backend_id)
            backend._reconcile_orders(self.since, fields.Datetime.now())
            return [job.recordset.id for job in trap.enqueued_jobs]

    def _run(self, event_id):
        """One order's import job in its own transaction, as the runner does."""
        with self.db.cursor() as cr:
            cr.execute("SET LOCAL lock_timeout = '2s'")
            env = api.Environment(cr, SUPERUSER_ID, {})
            event = env["channel.event"].browse(event_id)
            return event._job_process(), event.resource_ref

    def test_a_contended_order_does_not_fail_its_page(self):
        contended = self._order()
        (first,) = self._pull()
        self._run(first)
        with self.db.cursor() as cr:
            cr.execute(
                "UPDATE channel_order_binding SET is_import_pending = TRUE"
                " WHERE backend_id = %s",
                [self.backend_id],
            )
        others = {str(self._order()["id"]) for _n in range(2)}
        with self.db.cursor() as lock_cr:
            lock_cr.execute(
                "SELECT id FROM channel_order_binding WHERE backend_id = %s FOR UPDATE",
                [self.backend_id],
            )
            event_ids = self._pull()
            self.assertEqual(len(event_ids), 3, "one job per order of the page")
            done, waiting = {}, []
            for event_id in event_ids:
                try:
                    outcome, ref = self._run(event_id)
                    done[ref] = outcome
                except psycopg2.errors.LockNotAvailable:
                    waiting.append(event_id)
            self.assertEqual(done, dict.fromkeys(others, "done"))
            self.assertEqual(len(waiting), 1)
            lock_cr.rollback()
        self.assertEqual(self._run(waiting[0]), ("done", str(contended["id"])))
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            orders = env["sale.order"].search(
                [("channel_backend_id", "=", self.backend_id)]
            )
            self.assertEqual(len(orders), 3)
