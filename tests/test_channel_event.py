import base64
import json
from datetime import timedelta

from odoo import SUPERUSER_ID, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import freeze_time, tagged

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.tests.common import trap_jobs

from ..adapters.signatures import sign_base64
from ..const import JOB_CHANNEL_ORDERS, JOB_CHANNEL_WEBHOOKS, WEBHOOK_MAX_BYTES_PARAM
from ..models.queue_job import INSERT_JOB_ROWS, INSERT_JOB_ROWS_SENTINEL
from .common import (
    SHOPIFY_VECTOR_SECRET,
    WOOCOMMERCE_VECTOR_SECRET,
    ChannelCommon,
    generic_delivery,
    shopify_vector,
    woocommerce_vector,
)


class ChannelEventCommon(ChannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shopify = cls._prepare_backend(
            "shopify", webhook_secret=SHOPIFY_VECTOR_SECRET
        )
        cls.woocommerce = cls._prepare_backend(
            "woocommerce", webhook_secret=WOOCOMMERCE_VECTOR_SECRET
        )
        cls.generic = cls._prepare_backend("generic", webhook_secret="generic")
        cls.Event = cls.env["channel.event"]

    def _receive(self, backend, headers, body):
        return self.Event._receive_delivery(backend, headers, body)

    def _events(self, backend):
        return self.Event.search([("backend_id", "=", backend.id)])

    def _exceptions(self, backend, exception_type):
        return self.env["channel.exception"].search(
            [("backend_id", "=", backend.id), ("exception_type", "=", exception_type)]
        )

    def _data_request(self, event_id="evt-data"):
        """A signed customers/data_request: a handled topic that calls no API."""
        return self._signed_shopify(
            "customers/data_request",
            {
                "shop_id": 1,
                "shop_domain": "demo-shop.myshopify.com",
                "customer": {"id": 191167},
                "data_request": {"id": 9999},
            },
            event_id=event_id,
        )

    def _signed_shopify(self, topic, payload, event_id="evt-1", webhook_id="wh-1"):
        body = json.dumps(payload).encode()
        headers = {
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign_base64(SHOPIFY_VECTOR_SECRET, body),
            "X-Shopify-Shop-Domain": "demo-shop.myshopify.com",
            "X-Shopify-API-Version": "2026-07",
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Event-Id": event_id,
            "X-Shopify-Triggered-At": "2026-07-10T16:15:47.000000Z",
        }
        return headers, body


@tagged("post_install", "-at_install")
class TestChannelEventReceive(ChannelEventCommon):
    def test_reference_delivery_is_stored_byte_exact(self):
        headers, body = shopify_vector("orders/create")
        self.assertEqual(self._receive(self.shopify, headers, body), (200, "ok"))
        event = self._events(self.shopify)
        self.assertEqual(len(event), 1)
        self.assertEqual(base64.b64decode(event.raw_body), body)
        self.assertEqual(event.topic, "orders/create")
        self.assertEqual(event.flow, "orders")
        self.assertEqual(event.resource_ref, "820982911946154508")
        self.assertEqual(
            event.dedupe_key,
            "orders/create:820982911946154508:98880550-7158-44d4-b7cd-2c97c8a091b5",
        )
        self.assertEqual(str(event.channel_timestamp), "2026-07-10 16:15:47")
        self.assertNotIn("X-Shopify-Hmac-Sha256", event.headers)
        self.assertEqual(
            event.headers["X-Shopify-Shop-Domain"], headers["X-Shopify-Shop-Domain"]
        )

    def test_redelivery_counts_a_prevented_duplicate(self):
        headers, body = shopify_vector("orders/create")
        self._receive(self.shopify, headers, body)
        again = {**headers, "X-Shopify-Webhook-Id": "another-delivery-of-same-event"}
        self.assertEqual(self._receive(self.shopify, again, body), (200, "ok"))
        self.assertEqual(self._receive(self.shopify, headers, body), (200, "ok"))
        event = self._events(self.shopify)
        self.assertEqual(len(event), 1)
        self.assertEqual(event.duplicates_prevented, 2)

    def test_same_event_id_on_another_topic_is_a_new_event(self):
        headers, body = self._signed_shopify("orders/create", {"id": 1})
        self._receive(self.shopify, headers, body)
        headers, body = self._signed_shopify("orders/paid", {"id": 1})
        self._receive(self.shopify, headers, body)
        self.assertEqual(len(self._events(self.shopify)), 2)

    def test_one_event_changing_several_resources_is_one_event_each(self):
        """One stock write of 2 items: 2 inventory_levels/update, 1 event id."""
        for item in (801, 802):
            headers, body = self._signed_shopify(
                "inventory_levels/update",
                {"inventory_item_id": item, "location_id": 1001, "available": 3},
                event_id="evt-stock-write",
                webhook_id=f"wh-{item}",
            )
            self._receive(self.shopify, headers, body)
        events = self._events(self.shopify)
        self.assertEqual(
            sorted(events.mapped("resource_ref")), ["801@1001", "802@1001"]
        )

    def test_webhook_id_is_the_fallback_key(self):
        headers, body = self._signed_shopify("orders/updated", {"id": 5})
        del headers["X-Shopify-Event-Id"]
        self._receive(self.shopify, headers, body)
        self.assertEqual(self._events(self.shopify).dedupe_key, "orders/updated:5:wh-1")

    def test_bad_signature_is_rejected_and_audited_without_payload(self):
        headers, body = shopify_vector("orders/create")
        forged = {**headers, "X-Shopify-Hmac-Sha256": sign_base64("wrong", body)}
        self.assertEqual(self._receive(self.shopify, forged, body)[0], 401)
        unsigned = {k: v for k, v in headers.items() if k != "X-Shopify-Hmac-Sha256"}
        self.assertEqual(self._receive(self.shopify, unsigned, body)[0], 401)
        self.assertFalse(self._events(self.shopify))
        audit = self._exceptions(self.shopify, "rejected_delivery")
        self.assertEqual(len(audit), 1, "one record for all rejected deliveries")
        self.assertEqual(audit.occurrences, 1, "updated at most once a minute")
        with freeze_time(fields.Datetime.now() + timedelta(minutes=2)):
            self.assertEqual(self._receive(self.shopify, unsigned, body)[0], 401)
        self.assertEqual(audit.occurrences, 2)
        self.assertNotIn("Jon", audit.technical_detail or "")

    def test_malformed_json_is_kept_as_failed_event_with_exception(self):
        body = b'{"id": 1, "broken": '
        headers = {
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Webhook-Id": "wh-bad",
            "X-Shopify-Hmac-Sha256": sign_base64(SHOPIFY_VECTOR_SECRET, body),
        }
        status, text = self._receive(self.shopify, headers, body)
        self.assertEqual(status, 400)
        self.assertIn("not valid JSON", text)
        event = self._events(self.shopify)
        self.assertEqual(event.state, "failed")
        self.assertEqual(base64.b64decode(event.raw_body), body)
        exception = self._exceptions(self.shopify, "validation")
        self.assertEqual(exception.retry_res_id, event.id)

    def test_missing_topic_header_with_valid_signature_is_400(self):
        headers, body = shopify_vector("orders/create")
        del headers["X-Shopify-Topic"]
        status, text = self._receive(self.shopify, headers, body)
        self.assertEqual(status, 400)
        self.assertIn("X-Shopify-Topic", text)
        self.assertEqual(self._events(self.shopify).state, "failed")

    def test_oversized_body_is_413(self):
        self.env["ir.config_parameter"].set_param(WEBHOOK_MAX_BYTES_PARAM, "1000")
        headers, body = shopify_vector("orders/create")
        self.assertGreater(len(body), 1000)
        self.assertEqual(self._receive(self.shopify, headers, body)[0], 413)
        self.assertFalse(self._events(self.shopify))

    def test_unknown_topic_is_acknowledged_and_ignored(self):
        headers, body = self._signed_shopify("carts/update", {"id": 3})
        self.assertEqual(self._receive(self.shopify, headers, body), (200, "ok"))
        self.assertEqual(self._events(self.shopify).state, "ignored")

    def test_woocommerce_ping_is_answered_and_not_stored(self):
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        self.assertEqual(
            self._receive(self.woocommerce, headers, b"webhook_id=12"), (200, "pong")
        )
        self.assertFalse(self._events(self.woocommerce))

    def test_woocommerce_dedupes_on_resource_version_not_delivery_id(self):
        headers, body = woocommerce_vector("order.created")
        self.assertEqual(self._receive(self.woocommerce, headers, body), (200, "ok"))
        event = self._events(self.woocommerce)
        payload = json.loads(body)
        self.assertEqual(
            event.dedupe_key, f"3:{payload['id']}:{payload['date_modified_gmt']}"
        )
        # The same delivery id for another version of the order is a new event.
        headers, body = woocommerce_vector("order.updated")
        self._receive(self.woocommerce, headers, body)
        self.assertEqual(len(self._events(self.woocommerce)), 2)

    def test_a_delivery_costs_three_queries(self):
        """The hot path stays lean: the backend's receiver values come from a
        per-worker cache, then insert the event, look up and insert its job
        (which carries the link to the event)."""
        Backend = self.env["channel.backend"]
        warm_up = self._signed_shopify("orders/create", {"id": 1}, event_id="evt-0")
        self._receive(Backend._get_webhook_receiver(self.shopify.id), *warm_up)
        headers, body = self._signed_shopify("orders/create", {"id": 2})
        self.env.invalidate_all()
        with self.assertQueryCount(3):
            backend = Backend._get_webhook_receiver(self.shopify.id)
            self.assertEqual(self._receive(backend, headers, body), (200, "ok"))
        events = self._events(self.shopify)
        self.assertEqual(events.mapped("state"), ["queued"] * 2)
        jobs = events.mapped("job_id")
        self.assertEqual(len(jobs), 2, "each event shows its own job")
        self.assertEqual(jobs.mapped("channel_event_id"), events)
        self.assertEqual(set(jobs.mapped("channel")), {JOB_CHANNEL_ORDERS})

    def test_receiver_values_are_read_in_one_query(self):
        """Every field the cached receiver values come from is listed in
        `_get_webhook_field_names`: one missing would cost a second query
        and, worse, writing it would not clear the cache."""
        for backend in (self.shopify, self.woocommerce, self.generic):
            self.env.registry.clear_cache()
            self.env.invalidate_all()
            with self.subTest(backend.provider), self.assertQueryCount(1):
                self.assertTrue(backend._get_webhook_receiver_values(backend.id))

    def test_a_backend_change_reaches_the_next_delivery(self):
        """The cache never answers with an old secret or state."""
        Backend = self.env["channel.backend"]
        headers, body = self._signed_shopify("orders/create", {"id": 3})
        self.assertEqual(self._receive(self.shopify, headers, body), (200, "ok"))
        # Rotated with no grace period: the old secret stops at once.
        self.shopify.write(
            {"webhook_secret": "rotated", "webhook_secret_grace_hours": 0}
        )
        headers, body = self._signed_shopify("orders/create", {"id": 4})
        self.assertEqual(self._receive(self.shopify, headers, body)[0], 401)
        headers["X-Shopify-Hmac-Sha256"] = sign_base64("rotated", body)
        self.assertEqual(self._receive(self.shopify, headers, body), (200, "ok"))
        self.shopify.state = "disabled"
        self.assertFalse(Backend._get_webhook_receiver(self.shopify.id))
        self.assertEqual(self._receive(self.shopify, headers, body)[0], 404)
        self.shopify.state = "connected"
        self.assertEqual(Backend._get_webhook_receiver(self.shopify.id), self.shopify)
        self.env.cr.execute("SELECT last_value + 1 FROM channel_backend_id_seq")
        missing_id = self.env.cr.fetchone()[0]  # the next backend's id
        self.assertFalse(Backend._get_webhook_receiver(missing_id))
        created = self._prepare_backend("generic", webhook_secret="new")
        self.assertEqual(created.id, missing_id)
        self.assertEqual(Backend._get_webhook_receiver(missing_id), created)
        # A write that changes nothing keeps the cache.
        self.shopify.write({"state": self.shopify.state})
        with self.assertQueryCount(0):
            Backend._get_webhook_receivers()

    def test_a_job_outlives_its_purged_event(self):
        """queue_job rewrites a job's values at each state change; the link
        to an event purged since is not written again (no foreign key
        error)."""
        self._receive(self.shopify, *self._signed_shopify("orders/create", {"id": 8}))
        event = self._events(self.shopify)
        job = event.job_id
        event.unlink()
        job.invalidate_recordset()
        self.assertFalse(job.channel_event_id)
        loaded = Job.load(self.env, job.uuid)
        loaded.set_done(result="checked")
        loaded.store()
        self.env.flush_all()
        self.assertEqual(job.state, "done")
        self.assertFalse(job.channel_event_id)

    def _job_row(self, job):
        self.env.flush_all()
        self.env.cr.execute("SELECT * FROM queue_job WHERE uuid = %s", [job.uuid])
        names = [column.name for column in self.env.cr.description]
        return dict(zip(names, self.env.cr.fetchone(), strict=True))

    def test_inserted_job_row_equals_the_orm_row(self):
        """The endpoint's one-statement job insert writes the row queue_job's
        own ORM create writes (a queue_job upgrade that changes it fails
        here), and queue_job loads and runs that job."""
        self._receive(self.shopify, *self._signed_shopify("orders/create", {"id": 7}))
        event = self._events(self.shopify)
        delayed = event.with_user(SUPERUSER_ID).with_context(
            tracking_disable=True, allowed_company_ids=event.company_id.ids
        )
        orm_job = delayed.with_delay(description="Process")._job_process()
        inserted_job = (
            delayed.with_context(**{INSERT_JOB_ROWS: INSERT_JOB_ROWS_SENTINEL})
            .with_delay(description="Process")
            ._job_process()
        )
        orm_row, inserted_row = self._job_row(orm_job), self._job_row(inserted_job)
        self.assertEqual(inserted_row["channel_event_id"], event.id)
        for own in ("id", "uuid", "date_created"):
            self.assertNotEqual(orm_row.pop(own), inserted_row.pop(own), own)
        self.assertEqual(inserted_row, orm_row)
        loaded = Job.load(self.env, inserted_job.uuid)
        self.assertEqual(loaded.recordset, event)
        self.assertNotIn(INSERT_JOB_ROWS, loaded.recordset.env.context)
        # Applied there (the backend is not connected: the order waits).
        self.assertEqual(loaded.perform(), "failed")
        self.assertIn("the order waits", event.error)

    def test_generic_signature_is_hex_with_prefix(self):
        body = json.dumps({"id": "G-1"}).encode()
        headers, body = generic_delivery(body, "generic")
        self.assertTrue(headers["X-Channel-Signature"].startswith("sha256="))
        self.assertEqual(self._receive(self.generic, headers, body), (200, "ok"))
        _other, body = generic_delivery(body, "other")
        headers["X-Channel-Signature"] = _other["X-Channel-Signature"]
        self.assertEqual(self._receive(self.generic, headers, body)[0], 401)
        self.assertEqual(self._events(self.generic).resource_ref, "G-1")


@tagged("post_install", "-at_install")
class TestChannelEventProcessing(ChannelEventCommon):
    def test_app_uninstalled_waits_for_the_api_to_confirm(self):
        """Enqueued on the webhooks channel; the backend is paused only once
        the API confirms (tests/test_security_webhook.py, with the simulator):
        no API answering here, so the job is retried and nothing changes."""
        self.shopify.state = "connected"
        headers, body = self._signed_shopify(
            "app/uninstalled", {"id": 1, "myshopify_domain": "demo-shop.myshopify.com"}
        )
        with trap_jobs() as trap:
            self._receive(self.shopify, headers, body)
            event = self._events(self.shopify)
            self.assertEqual(event.state, "queued")
            trap.assert_jobs_count(1)
            self.assertEqual(trap.enqueued_jobs[0].channel, JOB_CHANNEL_WEBHOOKS)
            with self.assertRaises(RetryableJobError):
                trap.perform_enqueued_jobs()
        self.assertEqual(self.shopify.state, "connected")

    def test_order_event_is_processed_by_one_job_of_the_orders_channel(self):
        headers, body = shopify_vector("orders/create")
        with trap_jobs() as trap:
            self._receive(self.shopify, headers, body)
            trap.assert_jobs_count(1)
            self.assertEqual(trap.enqueued_jobs[0].channel, JOB_CHANNEL_ORDERS)
            self.assertEqual(trap.enqueued_jobs[0].method_name, "_job_process")
            trap.enqueued_jobs[0].perform()
            trap.assert_jobs_count(1)  # applied there, nothing enqueued
        # Applied by its handler: the backend is not connected, so it waits.
        self.assertIn("the order waits", self._events(self.shopify).error)

    def test_replay_of_done_event_needs_force(self):
        headers, body = self._data_request()
        with trap_jobs() as trap:
            self._receive(self.shopify, headers, body)
            trap.perform_enqueued_jobs()
            event = self._events(self.shopify)
            self.assertEqual(event.state, "done")
            with self.assertRaises(UserError):
                event.action_replay()
            event.action_force_replay()
            self.assertEqual(event.state, "queued")
            trap.perform_enqueued_jobs()
        self.assertEqual(event.state, "done")
        self.assertEqual(event.attempts, 2)

    def test_customers_redact_erases_stored_payloads_of_the_customer(self):
        headers, body = self._signed_shopify("orders/create", {"id": 299938})
        self._receive(self.shopify, headers, body)
        self._events(self.shopify)._apply_correction(
            {"id": 299938, "email": "john@example.com"}
        )
        headers, body = self._signed_shopify(
            "orders/create", {"id": 111}, event_id="evt-2"
        )
        self._receive(self.shopify, headers, body)
        for event_id, text in (("evt-4", b"x 299938 x"), ("evt-5", b"x 2999380 x")):
            malformed = b'{"id": 1, "email": "other@example.com", "note": "' + text
            headers, body = self._signed_shopify("orders/create", {}, event_id)
            headers["X-Shopify-Hmac-Sha256"] = sign_base64(
                SHOPIFY_VECTOR_SECRET, malformed
            )
            self._receive(self.shopify, headers, malformed)
        headers, redact_body = self._signed_shopify(
            "customers/redact",
            {
                "shop_id": 1,
                "shop_domain": "demo-shop.myshopify.com",
                "customer": {"id": 191167, "email": "john@example.com"},
                "orders_to_redact": [299938, 280263],
            },
            event_id="evt-3",
        )
        with trap_jobs() as trap:
            self._receive(self.shopify, headers, redact_body)
            trap.perform_enqueued_jobs()
        events = self._events(self.shopify)
        order_event = events.filtered(lambda e: e.resource_ref == "299938")
        kept = events.filtered(lambda e: e.resource_ref == "111")
        redact_event = events.filtered(lambda e: e.topic == "customers/redact")
        malformed = events.filtered(lambda e: e.state == "failed")
        self.assertEqual(redact_event.state, "done")
        for event in order_event | redact_event:
            self.assertEqual(base64.b64decode(event.raw_body), b'{"redacted": true}')
        self.assertFalse(order_event.corrected_payload)
        self.assertEqual(
            order_event.correction_ids.mapped("corrected_payload"),
            [{"redacted": True}],
        )
        self.assertEqual(
            sorted(base64.b64decode(e.raw_body)[-11:] for e in malformed),
            [b'{"redacted": true}'[-11:], b"x 2999380 x"],
            "the malformed body naming the order is erased, not its look-alike",
        )
        self.assertIn(b"111", base64.b64decode(kept.raw_body))

    def test_stuck_queued_event_is_requeued(self):
        headers, body = self._data_request()
        with freeze_time("2026-11-01 10:00:00"), trap_jobs():
            self._receive(self.shopify, headers, body)
        event = self._events(self.shopify)
        event.job_id.unlink()  # the job was lost
        event.invalidate_recordset(["job_id"])
        with freeze_time("2026-11-01 11:00:00"), trap_jobs() as trap:
            self.assertEqual(self.Event._cron_requeue_stuck(), 1)
            trap.assert_jobs_count(1)
            trap.perform_enqueued_jobs()
        self.assertEqual(event.state, "done")

    def test_event_with_a_job_still_to_run_is_not_requeued(self):
        """After a replay the event's latest job may be done while an older
        one still waits: not stuck."""
        with freeze_time("2026-11-01 10:00:00"):
            self._receive(
                self.shopify, *self._signed_shopify("orders/create", {"id": 9})
            )
        event = self._events(self.shopify)
        waiting = event.job_id
        latest = event.with_delay()._job_process()
        latest.db_record().state = "done"
        event.invalidate_recordset(["job_id"])
        self.assertEqual(event.job_id.state, "done")
        with freeze_time("2026-11-01 11:00:00"):
            self.assertEqual(self.Event._cron_requeue_stuck(), 0)
            waiting.state = "failed"
            self.assertEqual(self.Event._cron_requeue_stuck(), 1)

    def test_event_without_handler_waits_and_is_not_requeued(self):
        headers, body = self._signed_shopify("products/create", {"id": 632910392})
        self._receive(self.shopify, headers, body)
        event = self._events(self.shopify)
        self.assertEqual(event.state, "received")
        with self.assertRaisesRegex(UserError, "No flow handles"):
            event.action_force_replay()
        # Queued all the same (say its handler's module was uninstalled since):
        # the job sends it back to waiting instead of leaving it queued.
        event.sudo().write({"state": "queued", "queued_at": fields.Datetime.now()})
        self.assertIn("no handler", event._job_process())
        self.assertEqual(event.state, "received")
        with freeze_time(fields.Datetime.now() + timedelta(hours=2)):
            self.assertEqual(self.Event._cron_requeue_stuck(), 0)

    def test_purge_keeps_failed_events(self):
        old = fields.Datetime.now() - timedelta(days=40)
        done = self.Event.create(
            {
                "backend_id": self.shopify.id,
                "topic": "orders/create",
                "dedupe_key": "a",
                "state": "done",
                "received_at": old,
            }
        )
        failed = done.copy({"dedupe_key": "b", "state": "failed", "received_at": old})
        recent = done.copy({"dedupe_key": "c", "received_at": fields.Datetime.now()})
        self.assertEqual(self.Event._cron_purge(), 1)
        self.assertFalse(done.exists())
        self.assertTrue(failed.exists())
        self.assertTrue(recent.exists())


@tagged("post_install", "-at_install")
class TestDeadLetterCorrection(ChannelEventCommon):
    def _receive_malformed(self):
        body = b'{"id": 548380009, "name": "Super Toys"'  # truncated by a proxy
        headers = {
            "X-Shopify-Topic": "customers/data_request",
            "X-Shopify-Webhook-Id": "wh-dead",
            "X-Shopify-Hmac-Sha256": sign_base64(SHOPIFY_VECTOR_SECRET, body),
        }
        self.assertEqual(self._receive(self.shopify, headers, body)[0], 400)
        return self._events(self.shopify), body

    def test_manager_corrects_payload_and_replays(self):
        event, body = self._receive_malformed()
        exception = self._exceptions(self.shopify, "validation")
        self.assertEqual(exception.state, "open")
        action = event.with_user(self.manager_user).action_edit_payload()
        wizard = self.env["channel.event.edit"].browse(action["res_id"])
        self.assertIn("Super Toys", wizard.original_text)
        wizard = wizard.with_user(self.manager_user)
        wizard.payload_text = '{"id": 548380009, "name": "Super Toys"}'
        self.assertIn('+  "name": "Super Toys"', wizard.diff)
        with trap_jobs() as trap:
            wizard.action_save_and_replay()
            trap.perform_enqueued_jobs()
        self.assertEqual(event.state, "done")
        self.assertEqual(base64.b64decode(event.raw_body), body, "raw body untouched")
        self.assertEqual(event.corrected_payload["id"], 548380009)
        self.assertEqual(event.resource_ref, "548380009")
        correction = event.correction_ids
        self.assertEqual(correction.user_id, self.manager_user)
        self.assertIn("Super Toys", correction.diff)
        self.assertEqual(exception.state, "resolved")

    def test_invalid_correction_is_refused(self):
        event, _body = self._receive_malformed()
        action = event.action_edit_payload()
        wizard = self.env["channel.event.edit"].browse(action["res_id"])
        wizard.payload_text = "[1, 2"
        self.assertIn("Not valid JSON", wizard.diff)
        with self.assertRaises(UserError):
            wizard.action_save()
        self.assertFalse(event.correction_ids)

    def test_ops_user_cannot_correct_payloads(self):
        event, _body = self._receive_malformed()
        with self.assertRaises(AccessError):
            event.with_user(self.ops_user).action_edit_payload()
