"""Work bounded per run: reconciliation and catalogue pages per job, stuck
events per cron run, malformed bodies matched in PostgreSQL in batches."""

import base64
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import freeze_time, tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from ..adapters import shopify as shopify_adapter
from ..models import channel_backend_catalogue, channel_backend_sync
from .common import ChannelCommon
from .test_channel_http import SimulatorCommon

NOW = datetime(2026, 11, 30, 3, 0, 0)


@tagged("post_install", "-at_install")
class TestPagesPerJob(SimulatorCommon):
    catalogue_size = 2

    def setUp(self):
        super().setUp()
        # Two orders a page, one page a job: three orders take two jobs.
        self.enterContext(patch.object(shopify_adapter, "ORDERS_PAGE_SIZE", 2))
        self.enterContext(
            patch.object(channel_backend_sync, "RECONCILE_PAGES_PER_JOB", 1)
        )

    def test_a_long_reconciliation_goes_on_in_a_next_job(self):
        started = fields.Datetime.now() - timedelta(hours=1)
        self.shopify._get_sync_status("order_pull").last_run_at = started
        for _order in range(3):
            self.sim.scenario.create_order(
                channel="shopify", notify=False, lines=[("SIM-000001", 1)]
            )
        with trap_jobs() as trap:
            self.assertIn("2 orders pulled", self.shopify._job_reconcile_orders())
            trap.assert_jobs_count(1, only=self.shopify._job_reconcile_orders)
            self.assertEqual(self.shopify.last_reconciliation, started, "not done")
            (continuation,) = (
                job
                for job in trap.enqueued_jobs
                if job.method_name == "_job_reconcile_orders"
            )
            self.assertTrue(continuation.kwargs["cursor"])
            self.assertIn("1 orders pulled", continuation.perform())
            trap.assert_jobs_count(1, only=self.shopify._job_reconcile_orders)
        self.assertGreater(self.shopify.last_reconciliation, started)

    def test_a_long_catalogue_match_goes_on_in_a_next_job(self):
        self.sim.state.seed_catalogue(150)  # two pages of 100
        self.enterContext(
            patch.object(channel_backend_catalogue, "CATALOGUE_PAGES_PER_JOB", 1)
        )
        with trap_jobs() as trap:
            self.shopify._job_match_catalogue()
            self.assertIn("more pages", self.shopify.catalogue_match_message)
            trap.assert_jobs_count(1, only=self.shopify._job_match_catalogue)
            (continuation,) = trap.enqueued_jobs
            continuation.perform()
            trap.assert_jobs_count(1, only=self.shopify._job_match_catalogue)
        self.assertNotIn("more pages", self.shopify.catalogue_match_message)


@tagged("post_install", "-at_install")
class TestBoundedEventWork(ChannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shopify = cls._prepare_backend("shopify")
        cls.woo = cls._prepare_backend("woocommerce")
        cls.Event = cls.env["channel.event"]
        cls.cron = cls.env.ref("channel_connector.ir_cron_channel_requeue_stuck_events")

    def _event(self, key, backend=None, **values):
        return self.Event.create(
            {
                "backend_id": (backend or self.shopify).id,
                "topic": "app/uninstalled",
                "flow": "app",
                "dedupe_key": key,
                **values,
            }
        )

    def _queued(self, key, minutes_ago):
        return self._event(
            key, state="queued", queued_at=NOW - timedelta(minutes=minutes_ago)
        )

    def _triggers(self):
        return self.env["ir.cron.trigger"].search_count(
            [("cron_id", "=", self.cron.id)]
        )

    def test_requeue_takes_the_oldest_batch_and_calls_itself_again(self):
        waiting = self._queued("waiting", 300)  # oldest, but its job waits
        waiting.with_delay()._job_process()
        stuck = [self._queued(f"stuck-{n}", 200 - n) for n in range(3)]
        triggers = self._triggers()
        with freeze_time(NOW):
            self.assertEqual(self.Event._cron_requeue_stuck(batch_size=2), 2)
            self.assertEqual(self._triggers(), triggers + 1, "more remain")
            self.assertEqual(stuck[0].queued_at, NOW, "oldest first")
            self.assertEqual(stuck[1].queued_at, NOW)
            self.assertEqual(stuck[2].queued_at, NOW - timedelta(minutes=198))
            self.assertEqual(self.Event._cron_requeue_stuck(batch_size=2), 1)
            self.assertEqual(self._triggers(), triggers + 1, "nothing left")
        self.assertEqual(stuck[2].queued_at, NOW)
        self.assertEqual(waiting.queued_at, NOW - timedelta(minutes=300))

    def _malformed(self, key, body, backend=None):
        return self._event(
            f"malformed:{key}",
            backend,
            state="failed",
            raw_body=base64.b64encode(body),
        )

    def test_malformed_bodies_are_matched_in_the_database(self):
        redact = self._event("redact", topic="customers/redact", flow="privacy")
        named = self._malformed("a", b'{"note": "order 4242."')
        shouted = self._malformed("b", b"\xff\xfe JOHN.Doe@Example.COM \xc3")
        look_alike = self._malformed("c", b'{"note": "order 42420"')
        other_email = self._malformed("d", b"john.doe@example-com")
        self._malformed("e", b"order 4242", backend=self.woo)  # other backend
        self._event("order", raw_body=base64.b64encode(b"order 4242"))
        self.env.flush_all()
        for batch_size in (1, 2, 1000):
            with self.assertQueryCount(4 // batch_size + 1):
                found = redact._malformed_mentioning(
                    ["4242", ""], "john.doe@example.com", batch_size=batch_size
                )
            self.assertEqual(found, named | shouted, batch_size)
        self.assertFalse(found & (look_alike | other_email))
