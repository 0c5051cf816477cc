"""Rows that concurrent jobs write, on real committed cursors: stock marks,
exception recurrences and the shared rate-limit budget never fail a
transaction to serialize."""

import threading
import time

from odoo import SUPERUSER_ID, Command, api, sql_db
from odoo.tests import BaseCase, get_db_name, tagged

from ..adapters.transport import BucketStatus


class CommittedCase(BaseCase):
    """No test transaction: what a test makes is committed, then deleted."""

    def setUp(self):
        super().setUp()
        self.db = sql_db.db_connect(get_db_name())

    def _env(self, cr):
        return api.Environment(cr, SUPERUSER_ID, {})

    def _create_backend(self, env, name):
        """A connected Shopify backend no call reaches."""
        return env["channel.backend"].create(
            {
                "name": name,
                "provider": "shopify",
                "api_url": "http://127.0.0.1:9",
                "state": "connected",
            }
        )


@tagged("post_install", "-at_install")
class TestConcurrentWrites(CommittedCase):
    """No test transaction here: everything is committed, then deleted."""

    def setUp(self):
        super().setUp()
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = self._create_backend(env, "Contention test")
            stock = env["stock.warehouse"].search([], limit=1).lot_stock_id
            location = env["channel.stock.location"].create(
                {
                    "backend_id": backend.id,
                    "name": "Main",
                    "location_ref": "1",
                    "location_ids": [Command.set(stock.ids)],
                }
            )
            product = env["product.product"].create(
                {"name": "Contended", "type": "consu", "is_storable": True}
            )
            level = env["channel.stock.level"].create(
                {
                    "backend_id": backend.id,
                    "product_id": product.id,
                    "stock_location_id": location.id,
                }
            )
            self.backend_id, self.product_id = backend.id, product.id
            self.level_id = level.id
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["channel.backend"].browse(self.backend_id).unlink()
            env["product.product"].browse(self.product_id).unlink()

    def _marks(self):
        with self.db.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM channel_stock_mark WHERE level_id = %s",
                [self.level_id],
            )
            return cr.fetchone()[0]

    def test_two_jobs_moving_one_variant_both_commit(self):
        Level = "channel.stock.level"
        with self.db.cursor() as first, self.db.cursor() as second:
            # The second job's snapshot predates the first job's commit.
            second.execute("SELECT 1 FROM channel_stock_level WHERE id = %s", [1])
            self._env(first)[Level]._mark_dirty([self.product_id])
            first.commit()
            self._env(second)[Level]._mark_dirty([self.product_id])
            second.commit()
        self.assertEqual(self._marks(), 2)

    def test_export_deletes_only_the_marks_it_read(self):
        """A mark numbered before the newest one the export read, committed
        after the export's snapshot, survives the export's clearing."""
        Level = "channel.stock.level"
        cursors = [self.db.cursor() for _name in range(3)]
        late, other, export = cursors
        try:
            self._env(late)[Level]._mark_dirty([self.product_id])
            self._env(other)[Level]._mark_dirty([self.product_id])
            other.commit()
            level = self._env(export)[Level].browse(self.level_id)
            marks = level._read_marks()
            late.commit()
            level._clear_dirty(marks)
            export.commit()
        finally:
            for cr in cursors:
                cr.close()
        self.assertEqual(self._marks(), 1, "the late mark waits for next export")
        with self.db.cursor() as cr:
            level = self._env(cr)[Level].browse(self.level_id)
            self.assertTrue(level.dirty)
            level._clear_dirty(level._read_marks())
            self.assertFalse(level.dirty)

    def test_two_jobs_meeting_one_open_exception_both_commit(self):
        def record(cr):
            env = self._env(cr)
            return env["channel.exception"]._record(
                "missing_mapping",
                "SKU RACE is not on any product",
                backend=env["channel.backend"].browse(self.backend_id),
                key="sku:RACE",
            )

        with self.db.cursor() as cr:
            exception_id = record(cr).id
        with self.db.cursor() as first, self.db.cursor() as second:
            second.execute("SELECT 1")  # its snapshot predates first's commit
            record(first)
            first.commit()
            self.assertEqual(record(second).id, exception_id)
            second.commit()
        with self.db.cursor() as cr:
            exception = self._env(cr)["channel.exception"].browse(exception_id)
            self.assertEqual(exception.occurrences, 3)

    def test_budget_reports_of_two_workers_wait_for_each_other(self):
        """A worker writes the budget row while another's report is under
        way: the second waits and wins, it does not fail to serialize."""
        with self.db.cursor() as cr:
            env = self._env(cr)
            backend = env["channel.backend"].browse(self.backend_id)
            budget = env["channel.api.budget"]._for_backend(backend, "stock")
        budget.after(BucketStatus(1000, 500, 50))  # the row exists
        errors = []

        def report():
            try:
                budget.after(BucketStatus(1000, 900, 50))
            except Exception as exc:  # noqa: BLE001 - the assertion below
                errors.append(exc)

        with self.db.cursor() as other:
            other.execute(
                "UPDATE channel_api_budget SET available = 10 WHERE backend_id = %s",
                [self.backend_id],
            )
            worker = threading.Thread(target=report)
            worker.start()
            deadline = time.monotonic() + 10
            while not self._waiting_on_lock() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertTrue(self._waiting_on_lock(), "the report waits")
            other.commit()
        worker.join(10)
        self.assertEqual(errors, [])
        with self.db.cursor() as cr:
            cr.execute(
                "SELECT available FROM channel_api_budget WHERE backend_id = %s",
                [self.backend_id],
            )
            self.assertEqual(cr.fetchone()[0], 900, "the last report wins")

    def _waiting_on_lock(self):
        with self.db.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            return cr.fetchone()[0]
