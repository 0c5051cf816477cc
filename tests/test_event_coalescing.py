"""Coalescing: deliveries whose work a waiting job will do join that job
(docs/webhooks.rst, *Coalescing*)."""

import base64
import json
from datetime import timedelta, timezone

import psycopg2

from odoo import SUPERUSER_ID, api, fields, sql_db
from odoo.tests import BaseCase, freeze_time, get_db_name, tagged

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.tests.common import trap_jobs

from ..adapters.signatures import sign_base64
from ..models.channel_event import FLOW_JOB_DELAYS
from ..models.channel_event_coalesce import STOCK_JOIN_BATCH
from .reference import reference_path
from .test_channel_http import SimulatorCommon
from .test_order_import import SECRET, OrderImportCommon


def _shopify_headers(secret, topic, body, event_id, triggered_at):
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign_base64(secret, body),
        "X-Shopify-Webhook-Id": f"wh-{event_id}-{topic}",
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Triggered-At": triggered_at,
    }


class CoalescingCommon(OrderImportCommon):
    def _receive(self, payload, topic="orders/create", event_id=None, at=None):
        """Receive one signed delivery without running its job; its event."""
        body = json.dumps(payload).encode()
        event_id = event_id or f"evt-{payload.get('id')}-{topic}"
        headers = _shopify_headers(
            SECRET, topic, body, event_id, at or payload.get("updated_at")
        )
        Event = self.env["channel.event"]
        status, _text = Event._receive_delivery(self.backend, headers, body)
        self.assertEqual(status, 200)
        return Event.search(
            [("backend_id", "=", self.backend.id), ("delivery_id", "!=", False)],
            limit=1,
        )

    def _events(self):
        return self.env["channel.event"].search(
            [("backend_id", "=", self.backend.id)], order="id"
        )


@tagged("post_install", "-at_install")
class TestOrderDeliveriesJoin(CoalescingCommon):
    """A whole-order delivery joins its order's import still waiting."""

    def test_paid_delivery_joins_the_queued_import_one_job_per_order(self):
        payload = self._order(order_id=5001)
        with trap_jobs() as trap:
            created = self._receive(payload, "orders/create", event_id="evt-a")
            paid = self._receive(payload, "orders/paid", event_id="evt-a")
            trap.assert_jobs_count(1)
            self.assertEqual(paid.state, "queued")
            self.assertEqual(paid.joined_event_id, created)
            trap.perform_enqueued_jobs()
            trap.assert_jobs_count(0)
        self.assertEqual(self._events().mapped("state"), ["done", "done"])
        # Same channel time: the later arrival stands for both.
        self.assertEqual(created.joined_event_id, paid)
        self.assertFalse(paid.joined_event_id)
        self.assertEqual(paid.attempts, 1)
        self.assertEqual(created.attempts, 0, "its payload was not imported again")
        order = self._sale_order(5001)
        self.assertEqual(order.state, "sale")
        self.assertEqual((created.res_model, created.res_id), ("sale.order", order.id))

    def test_newest_payload_wins_whatever_the_arrival_order(self):
        self.backend.order_confirm = False
        newer = self._order(
            order_id=5002,
            lines=[("TS-RED-M", 501, 5, "10.00", "0.00", "0.1")],
            updated_at="2026-11-01T12:00:00Z",
        )
        older = self._order(
            order_id=5002,
            lines=[("TS-RED-M", 501, 3, "10.00", "0.00", "0.1")],
            updated_at="2026-11-01T11:00:00Z",
        )
        with trap_jobs() as trap:
            first = self._receive(newer, "orders/updated", event_id="evt-new")
            late = self._receive(older, "orders/updated", event_id="evt-old")
            trap.assert_jobs_count(1)
            trap.perform_enqueued_jobs()
        self.assertEqual(self._sale_order(5002).order_line.product_uom_qty, 5)
        self.assertEqual(late.joined_event_id, first)
        self.assertEqual((first.state, late.state), ("done", "done"))

    def test_redelivery_while_queued_is_a_duplicate_and_no_job(self):
        payload = self._order(order_id=5003)
        with trap_jobs() as trap:
            event = self._receive(payload, event_id="evt-b")
            self._receive(payload, event_id="evt-b")
            trap.assert_jobs_count(1)
            trap.perform_enqueued_jobs()
        self.assertEqual(len(self._events()), 1)
        self.assertEqual(event.duplicates_prevented, 1)
        self.assertEqual(event.state, "done")

    def test_delivery_after_the_import_gets_a_job_of_its_own(self):
        payload = self._order(order_id=5004)
        with trap_jobs() as trap:
            self._receive(payload, event_id="evt-c")
            trap.perform_enqueued_jobs()
            later = self._receive(payload, "orders/updated", event_id="evt-d")
            trap.assert_jobs_count(1)
            self.assertFalse(later.joined_event_id)
            trap.perform_enqueued_jobs()
        self.assertEqual(self._events().mapped("state"), ["done", "duplicate"])

    def test_other_orders_and_topics_do_not_join(self):
        with trap_jobs() as trap:
            self._receive(self._order(order_id=5005), event_id="evt-e")
            self._receive(self._order(order_id=5006), event_id="evt-f")
            self._receive(
                {"id": 77, "order_id": 5005, "refund_line_items": []},
                "refunds/create",
                event_id="evt-g",
                at="2026-11-01T10:00:00Z",
            )
            trap.assert_jobs_count(3)
        self.assertFalse(self._events().joined_event_id)

    def test_pull_import_waiting_is_joined_and_reads_the_order(self):
        """A delivery joins a queued `orders/pull`; its job reads the order
        (newer than any payload that came before it ran) for both."""
        pull = self.env["channel.event"].create(
            {
                "backend_id": self.backend.id,
                "topic": "orders/pull",
                "flow": "orders",
                "dedupe_key": "pull:5007",
                "resource_ref": "5007",
                "state": "queued",
            }
        )
        with trap_jobs() as trap:
            joined = self._receive(self._order(order_id=5007), event_id="evt-h")
            trap.assert_jobs_count(0)
        self.assertEqual(joined.joined_event_id, pull)

    def test_joined_delivery_costs_one_query(self):
        """The first delivery of an order costs what any delivery costs
        (tests/test_channel_event.py); one joining it a single statement and
        no job."""
        Backend = self.env["channel.backend"]
        payload = self._order(order_id=5008)
        with trap_jobs() as trap:
            self._receive(self._order(order_id=5009), event_id="evt-warm")
            self._receive(payload, event_id="evt-i")
            body = json.dumps(payload).encode()
            headers = _shopify_headers(
                SECRET, "orders/paid", body, "evt-i", payload["updated_at"]
            )
            self.env.invalidate_all()
            with self.assertQueryCount(1):
                backend = Backend._get_webhook_receiver(self.backend.id)
                self.assertEqual(
                    self.env["channel.event"]._receive_delivery(backend, headers, body),
                    (200, "ok"),
                )
            trap.assert_jobs_count(2)

    def test_failed_job_gives_the_joined_events_jobs_of_their_own(self):
        payload = self._order(order_id=5010)
        with trap_jobs() as trap:
            head = self._receive(payload, event_id="evt-j")
            joined = self._receive(payload, "orders/paid", event_id="evt-j")
            head._on_job_failed("ValueError", "boom")
            trap.assert_jobs_count(2)
            self.assertEqual(head.state, "failed")
            self.assertFalse(joined.joined_event_id)
            trap.perform_enqueued_jobs()
        self.assertEqual((head | joined).mapped("state"), ["done", "duplicate"])
        self.assertTrue(self._sale_order(5010))

    def test_replayed_follower_runs_alone_and_retry_settles_followers(self):
        """A follower replayed gets its own job; a failed order retried by its
        exception settles the events that followed it."""
        payload = self._order(
            order_id=5011, lines=[("TS-GREEN-S", 503, 1, "10.00", "0.00", "0.1")]
        )
        with trap_jobs() as trap:
            head = self._receive(payload, event_id="evt-k")
            paid = self._receive(payload, "orders/paid", event_id="evt-k")
            trap.perform_enqueued_jobs()
        self.assertEqual((head.state, paid.state), ("failed", "failed"))
        self.assertEqual(head.joined_event_id, paid)
        self._product("T-shirt green S", "TS-GREEN-S")
        self.assertTrue(paid.sudo()._channel_retry())
        self.assertEqual((head.state, paid.state), ("done", "done"))
        with trap_jobs() as trap:
            head.action_force_replay()
            trap.assert_jobs_count(1)
            self.assertFalse(head.joined_event_id)
            trap.perform_enqueued_jobs()
        self.assertEqual(head.state, "duplicate")

    def test_joined_event_is_stuck_only_once_its_event_has_no_job(self):
        payload = self._order(order_id=5012)
        with freeze_time("2026-11-01 10:00:00"):
            head = self._receive(payload, event_id="evt-l")
            joined = self._receive(payload, "orders/paid", event_id="evt-l")
        self.assertEqual(joined.joined_event_id, head)
        Event = self.env["channel.event"]
        with freeze_time("2026-11-01 11:00:00"):
            self.assertEqual(Event._get_stuck_ids(30, 10), [])
            head.job_id.unlink()
            head.invalidate_recordset(["job_id"])
            self.assertEqual(Event._get_stuck_ids(30, 10), [head.id, joined.id])


@tagged("post_install", "-at_install")
class TestStockReportsCoalesce(CoalescingCommon):
    """Stock reports of a backend share one waiting job."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        location = cls.env["channel.stock.location"].create(
            {"backend_id": cls.backend.id, "name": "Main", "location_ref": "1001"}
        )
        binding = cls.env["channel.product.binding"].create(
            {
                "backend_id": cls.backend.id,
                "company_id": cls.env.company.id,
                "product_id": cls.red_m.id,
                "external_ref": "501",
                "inventory_item_ref": "901",
            }
        )
        cls.level = cls.env["channel.stock.level"].create(
            {
                "backend_id": cls.backend.id,
                "product_id": cls.red_m.id,
                "product_binding_id": binding.id,
                "stock_location_id": location.id,
            }
        )

    def _report(self, item, available, at, event_id):
        return self._receive(
            {"inventory_item_id": item, "location_id": 1001, "available": available},
            "inventory_levels/update",
            event_id=event_id,
            at=at,
        )

    def test_reports_of_a_backend_share_one_job_applied_in_channel_order(self):
        with trap_jobs() as trap:
            head = self._report(901, 7, "2026-11-01T10:02:00Z", "evt-s1")
            late = self._report(901, 5, "2026-11-01T10:01:00Z", "evt-s2")
            other = self._report(902, 1, "2026-11-01T10:03:00Z", "evt-s3")
            trap.assert_jobs_count(1)
            trap.perform_enqueued_jobs()
            trap.assert_jobs_count(0)
        self.assertEqual((late | other).joined_event_id, head)
        self.assertEqual(self.level.channel_qty, 7, "the channel's latest figure")
        self.assertEqual(
            (head | late | other).mapped("state"), ["done", "done", "ignored"]
        )
        self.assertEqual((head | late | other).mapped("attempts"), [1, 1, 1])

    def test_a_new_report_waits_for_its_burst_a_replay_runs_at_once(self):
        with freeze_time("2026-11-01 10:05:00"), trap_jobs() as trap:
            report = self._report(901, 7, "2026-11-01T10:04:59Z", "evt-w1")
            self._receive(self._order(order_id=5101), "orders/create")
            stock_job, order_job = trap.enqueued_jobs
            self.assertEqual(
                stock_job.eta,
                fields.Datetime.now() + timedelta(seconds=FLOW_JOB_DELAYS["stock"]),
            )
            self.assertFalse(order_job.eta, "an order's import does not wait")
            stock_job.perform()
            self.assertEqual(report.state, "done")
            trap.enqueued_jobs.clear()
            report.action_force_replay()
            (replay,) = trap.enqueued_jobs
            self.assertFalse(replay.eta, "someone waits for a replay")

    def test_a_long_backlog_goes_on_in_a_next_job(self):
        with trap_jobs() as trap:
            for index in range(STOCK_JOIN_BATCH + 2):
                self._report(902, index, "2026-11-01T10:00:00Z", f"evt-b{index}")
            trap.assert_jobs_count(1)
            trap.enqueued_jobs[0].perform()
            trap.assert_jobs_count(2)
            events = self._events()
            self.assertEqual(events[-2:].mapped("state"), ["queued", "queued"])
            self.assertEqual(events[-1].joined_event_id, events[-2])
            trap.perform_enqueued_jobs()
        self.assertEqual(set(self._events().mapped("state")), {"ignored"})


@tagged("post_install", "-at_install")
class TestJoinRaces(BaseCase):
    """A delivery and the job it would join, on real committed cursors.

    No test transaction here: everything is committed, then deleted.
    """

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
        self.body = json.dumps(
            self._order(
                order_id=89001, lines=[("JOIN-SKU", 89501, 1, "10.00", "0", None)]
            )
        ).encode()
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["channel.backend"].create(
                {
                    "name": "Join race test",
                    "provider": "shopify",
                    "api_url": "http://127.0.0.1:9",
                    "webhook_secret": "join",
                    "state": "connected",
                    "order_confirm": False,
                    "order_read_from_channel": False,
                }
            )
            product = env["product.product"].create(
                {"name": "Join shirt", "default_code": "JOIN-SKU", "type": "consu"}
            )
            head = env["channel.event"].create(
                {
                    "backend_id": backend.id,
                    "topic": "orders/create",
                    "flow": "orders",
                    "dedupe_key": "join-head",
                    "resource_ref": "89001",
                    "raw_body": base64.b64encode(self.body),
                    "state": "queued",
                    "queued_at": fields.Datetime.now(),
                }
            )
            self.backend_id, self.product_id, self.head_id = (
                backend.id,
                product.id,
                head.id,
            )
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

    def _deliver_paid(self, cr):
        """The orders/paid delivery of the order, received on `cr`; its event
        and the jobs it enqueued."""
        env = api.Environment(cr, SUPERUSER_ID, {})
        headers = _shopify_headers(
            "join", "orders/paid", self.body, "evt-paid", "2026-11-01T10:00:00Z"
        )
        backend = env["channel.backend"].browse(self.backend_id)
        with trap_jobs() as trap:
            status, _text = env["channel.event"]._receive_delivery(
                backend, headers, self.body
            )
        self.assertEqual(status, 200)
        event = env["channel.event"].search(
            [("backend_id", "=", self.backend_id), ("topic", "=", "orders/paid")]
        )
        return event, len(trap.enqueued_jobs)

    def test_delivery_while_the_job_runs_gets_a_job_of_its_own(self):
        with self.db.cursor() as job_cr:
            env = api.Environment(job_cr, SUPERUSER_ID, {})
            env["channel.event"].browse(self.head_id)._lock_joined()
            with self.db.cursor() as cr:
                event, jobs = self._deliver_paid(cr)
                self.assertFalse(event.joined_event_id)
                self.assertEqual(jobs, 1, "not left to the running job")
            job_cr.rollback()

    def test_delivery_joining_after_the_job_began_makes_it_run_again(self):
        """The job's snapshot predates the join: it cannot see the delivery,
        so it runs again instead of leaving it behind."""
        with self.db.cursor() as job_cr:
            env = api.Environment(job_cr, SUPERUSER_ID, {})
            head = env["channel.event"].browse(self.head_id)
            self.assertEqual(head.state, "queued")  # the snapshot is taken
            with self.db.cursor() as cr:
                event, jobs = self._deliver_paid(cr)
                self.assertEqual(event.joined_event_id.id, self.head_id)
                self.assertEqual(jobs, 0)
            with self.assertRaises(RetryableJobError) as caught:
                head._job_process()
            self.assertTrue(caught.exception.ignore_retry)
            self.assertIsInstance(
                caught.exception.__cause__, psycopg2.errors.SerializationFailure
            )
            job_cr.rollback()
        with self.db.cursor() as job_cr:
            env = api.Environment(job_cr, SUPERUSER_ID, {})
            env["channel.event"].browse(self.head_id)._job_process()
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            events = env["channel.event"].search([("backend_id", "=", self.backend_id)])
            self.assertEqual(events.mapped("state"), ["done", "done"])
            self.assertEqual(
                len(
                    env["sale.order"].search(
                        [("channel_backend_id", "=", self.backend_id)]
                    )
                ),
                1,
            )


@tagged("post_install", "-at_install")
class TestPullGrace(OrderImportCommon):
    """The reconciliation leaves an order changed very recently to its
    webhook."""

    def test_orders_changed_within_the_grace_are_left_to_their_webhook(self):
        backend = self.backend
        backend.reconcile_grace_minutes = 10
        now = fields.Datetime.now()
        adapter = backend._get_adapter(priority="orders")
        recent = adapter.parse_order(
            self._order(
                order_id=6001, updated_at=(now - timedelta(minutes=3)).isoformat() + "Z"
            )
        )
        old = adapter.parse_order(
            self._order(
                order_id=6002,
                updated_at=(now - timedelta(minutes=30)).isoformat() + "Z",
            )
        )
        kept = backend._outside_webhook_grace([recent, old], now)
        self.assertEqual([o.external_ref for o in kept], ["6002"])
        self.assertEqual(backend._get_pull_overlap(), timedelta(minutes=10))
        backend.reconcile_grace_minutes = 0
        self.assertEqual(len(backend._outside_webhook_grace([recent, old], now)), 2)
        self.assertEqual(backend._get_pull_overlap(), timedelta(minutes=5))


@tagged("post_install", "-at_install")
class TestPullGraceOverHttp(SimulatorCommon):
    catalogue_size = 1

    def _create(self, moment):
        self.sim.state.wall_clock = lambda: moment
        return self.sim.scenario.create_order(
            channel="shopify",
            notify=False,
            lines=[("SIM-000001", 1)],
            tax_rate="0",
            shipping=None,
            customer="guest",
            financial_status="paid",
        )

    def _pulled(self):
        return set(
            self.env["channel.order.binding"]
            .search([("backend_id", "=", self.shopify.id)])
            .mapped("external_ref")
        )

    def test_pull_leaves_orders_changed_within_the_grace_then_takes_them(self):
        now = fields.Datetime.now()
        self.shopify.reconcile_grace_minutes = 5
        self.shopify._get_sync_status("order_pull").last_run_at = now - timedelta(
            hours=1
        )
        utc = timezone.utc
        old = self._create((now - timedelta(minutes=20)).replace(tzinfo=utc))
        recent = self._create((now - timedelta(minutes=1)).replace(tzinfo=utc))
        result = self._reconcile(self.shopify)
        self.assertIn("1 orders pulled, 1 without webhook", result)
        self.assertEqual(self._pulled(), {str(old["id"])})
        # Its webhook never came: once out of the grace, a pull imports it.
        self.shopify.reconcile_grace_minutes = 0
        self.shopify._get_sync_status("order_pull").last_run_at = now - timedelta(
            hours=1
        )
        self._reconcile(self.shopify)
        self.assertEqual(self._pulled(), {str(old["id"]), str(recent["id"])})
