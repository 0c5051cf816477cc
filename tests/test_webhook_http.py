"""The real webhook endpoint over HTTP (pytest --odoo-http): what each kind of
delivery is answered and what it leaves behind.

Bodies come from the channel simulator's webhook sender, or from
simulator/reference/ signed with the reference vectors' secrets (tests/common.py).
"""

import base64
import json
from datetime import timedelta

from odoo import fields
from odoo.tests import freeze_time, tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from ..adapters.signatures import sign_base64
from .common import SHOPIFY_VECTOR_SECRET, generic_delivery, shopify_vector
from .reference import reference_path
from .test_simulator_webhooks import SimulatorWebhookCase


def signed_shopify_reference(topic, event_id, secret=SHOPIFY_VECTOR_SECRET):
    """(headers, body) of Shopify's reference sample of `topic`, signed."""
    name = topic.replace("/", "__")
    body = reference_path("shopify", "webhooks", f"{name}.json").read_bytes()
    # The samples name a placeholder shop; a privacy body must name ours.
    body = body.replace(b"{shop}.myshopify.com", b"demo-shop.myshopify.com")
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign_base64(secret, body),
        "X-Shopify-Shop-Domain": "demo-shop.myshopify.com",
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Webhook-Id": f"webhook-{event_id}",
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Triggered-At": "2026-07-10T16:15:47.000000Z",
    }
    return headers, body


@tagged("post_install", "-at_install")
class TestWebhookHttpAnswers(SimulatorWebhookCase):
    """Unknown, forged and unreadable deliveries."""

    def setUp(self):
        super().setUp()
        self.shopify.webhook_secret = SHOPIFY_VECTOR_SECRET

    def test_unknown_topic_is_acknowledged_and_ignored(self):
        headers, body = signed_shopify_reference("customers/create", "evt-unknown")
        response = self._post(self.shopify, headers, body)
        self.assertEqual(response.status_code, 200)
        event = self._events(self.shopify)
        self.assertEqual(event.topic, "customers/create")
        self.assertEqual(event.state, "ignored")
        self.assertFalse(event.job_id, "nothing to process: no job")

    def test_bad_signature_is_401_audited_without_the_payload(self):
        headers, body = shopify_vector("orders/create")
        headers["X-Shopify-Hmac-Sha256"] = sign_base64("not-our-secret", body)
        headers["X-Forwarded-For"] = "203.0.113.9"
        response = self._post(self.shopify, headers, body)
        self.assertEqual(response.status_code, 401)
        self.assertFalse(self._events(self.shopify), "no payload stored")
        rejected = self._exceptions(self.shopify, "rejected_delivery")
        self.assertEqual(len(rejected), 1)
        self.assertEqual(rejected.state, "open")
        self.assertIn("203.0.113.9", rejected.technical_detail)
        for text in (rejected.name, rejected.technical_detail):
            self.assertNotIn("820982911946154508", text, "nothing of the body")
            self.assertNotIn("jon@example.com", text)

    def test_malformed_json_with_valid_signature_is_400_kept_byte_exact(self):
        headers, body = shopify_vector("orders/create")
        body = body[: len(body) // 2]  # cut by a proxy
        headers["X-Shopify-Hmac-Sha256"] = sign_base64(SHOPIFY_VECTOR_SECRET, body)
        response = self._post(self.shopify, headers, body)
        self.assertEqual(response.status_code, 400)
        event = self._events(self.shopify)
        self.assertEqual(event.state, "failed")
        self.assertEqual(event.topic, "orders/create")
        self.assertEqual(base64.b64decode(event.raw_body), body, "byte-exact")
        exception = self._exceptions(self.shopify, "validation")
        self.assertEqual(exception.retry_model, "channel.event")
        self.assertEqual(exception.retry_res_id, event.id)
        self.assertEqual(exception.state, "open")

    def test_missing_topic_header_with_valid_signature_is_400_kept(self):
        headers, body = shopify_vector("orders/create")
        del headers["X-Shopify-Topic"]
        response = self._post(self.shopify, headers, body)
        self.assertEqual(response.status_code, 400)
        self.assertIn("X-Shopify-Topic", response.text)
        event = self._events(self.shopify)
        self.assertEqual(event.state, "failed")
        self.assertEqual(event.topic, "unknown")
        self.assertEqual(base64.b64decode(event.raw_body), body)
        self.assertEqual(
            self._exceptions(self.shopify, "validation").retry_res_id, event.id
        )


@tagged("post_install", "-at_install")
class TestWebhookHttpDelivery(SimulatorWebhookCase):
    """Deliveries the simulator sends, their duplicates, and what repairs
    the ones that never arrive or whose job is lost."""

    catalogue_size = 2

    def test_lost_job_of_an_http_delivery_is_requeued_and_processed(self):
        self._channel_acts(self.shopify._sync_webhook_subscriptions)
        order = self._channel_sends(lambda: self._order("shopify"))
        event = self._events(self.shopify, "orders/create")
        self.assertEqual(event.state, "queued")
        self.assertTrue(event.job_id, "the request enqueued its job")
        event.job_id.unlink()  # lost: a restore, a purge, a crash
        event.invalidate_recordset(["job_id"])
        later = fields.Datetime.now() + timedelta(minutes=45)
        with trap_jobs() as trap:
            with freeze_time(later):
                self.assertEqual(self.Event._cron_requeue_stuck(), 1)
            trap.assert_jobs_count(1)
            self._run_trapped(trap)
        self.assertEqual(event.state, "done")
        self.assertEqual(event.attempts, 1)
        self.assertEqual(self._sale_order(self.shopify, order).state, "sale")

    def test_recent_queued_event_is_not_requeued(self):
        self._channel_acts(self.shopify._sync_webhook_subscriptions)
        self._channel_sends(lambda: self._order("shopify"))
        event = self._events(self.shopify, "orders/create")
        event.job_id.unlink()
        with trap_jobs() as trap:
            self.assertEqual(self.Event._cron_requeue_stuck(), 0, "may still run")
            trap.assert_jobs_count(0)

    def test_reconciliation_pull_imports_the_order_of_a_dropped_webhook(self):
        self.shopify.export_stock = False  # only order topics are subscribed
        self._channel_acts(self.shopify._sync_webhook_subscriptions)
        self.shopify._get_sync_status("order_pull").last_run_at = (
            fields.Datetime.now() - timedelta(hours=2)
        )
        self.sim.scenario.inject("shopify_webhooks", "drop")
        order = self._channel_acts(lambda: self._order("shopify"))
        dropped = [d for d in self.sim.deliveries if d.status == "dropped"]
        self.assertEqual([d.topic for d in dropped], ["orders/create"])
        self.assertFalse(self._events(self.shopify), "nothing reached Odoo")
        with trap_jobs() as trap:
            self.env["channel.backend"]._cron_reconcile_orders()
            trap.assert_enqueued_job(
                self.shopify._job_reconcile_orders,
                properties={
                    "identity_key": f"channel_connector.reconcile.{self.shopify.id}"
                },
            )
            jobs = [j for j in trap.enqueued_jobs if j.recordset == self.shopify]
            self.assertEqual(len(jobs), 1)
        result = self._reconcile(self.shopify)
        self.assertEqual(result, "1 orders pulled, 1 without webhook")
        sale_order = self._sale_order(self.shopify, order)
        self.assertEqual(sale_order.state, "sale")
        self.assertEqual(sale_order.amount_total, float(order["total"]))
        gap = self._exceptions(self.shopify, "delivery_gap")
        self.assertIn("1 of the 1 orders", gap.name)
        self.assertEqual(gap.technical_detail, order["name"])

    def test_woocommerce_delivery_and_its_duplicate(self):
        self._channel_acts(self.woo._sync_webhook_subscriptions)
        self.sim.scenario.inject("woocommerce_webhooks", "duplicate")
        order = self._channel_acts(lambda: self._order("woocommerce"))
        sent = [d for d in self.sim.deliveries if d.topic == "order.created"]
        self.assertEqual([d.status for d in sent], [200, 200], "both acknowledged")
        self.assertEqual(sent[0].body, sent[1].body)
        event = self._events(self.woo, "order.created")
        self.assertEqual(len(event), 1)
        self.assertEqual(event.duplicates_prevented, 1)
        self.assertEqual(event.state, "done")
        self.assertEqual(self._sale_order(self.woo, order).state, "sale")


@tagged("post_install", "-at_install")
class TestGenericWebhookHttp(SimulatorWebhookCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.generic = cls._prepare_backend("generic", state="connected")

    def test_generic_delivery_and_its_duplicate(self):
        body = json.dumps({"id": "G-1001", "updated_at": "2026-11-02T10:00:00Z"})
        headers, body = generic_delivery(body.encode(), "generic_webhook_secret")
        first = self._post(self.generic, headers, body)
        again = self._post(self.generic, headers, body)
        self.assertEqual((first.status_code, again.status_code), (200, 200))
        event = self._events(self.generic)
        self.assertEqual(len(event), 1)
        self.assertEqual(event.resource_ref, "G-1001")
        self.assertEqual(event.state, "queued")
        self.assertEqual(event.duplicates_prevented, 1)


@tagged("post_install", "-at_install")
class TestShopifyPrivacyHttp(SimulatorWebhookCase):
    """Shopify's mandatory compliance topics, from its reference samples."""

    def setUp(self):
        super().setUp()
        self.shopify.webhook_secret = SHOPIFY_VECTOR_SECRET
        headers, self.order_body = shopify_vector("orders/create")
        self.assertTrue(self._post(self.shopify, headers, self.order_body).ok)
        self.earlier = self._events(self.shopify)

    def _deliver_and_process(self, topic, event_id):
        headers, body = signed_shopify_reference(topic, event_id)
        self.assertEqual(self._post(self.shopify, headers, body).status_code, 200)
        event = self._events(self.shopify, topic)
        self.assertEqual(event.state, "queued")
        self.assertTrue(event.job_id, "processed by a job, not in the request")
        self.assertEqual(event._job_process(), "done")
        return event

    def test_shop_redact_erases_every_stored_payload_of_the_backend(self):
        other = self.Event.create(
            {
                "backend_id": self.woo.id,
                "topic": "order.created",
                "dedupe_key": "woo-1",
                "raw_body": base64.b64encode(b'{"id": 727, "email": "a@b.example"}'),
            }
        )
        self._deliver_and_process("shop/redact", "evt-shop-redact")
        for event in self.earlier:
            raw = event._get_raw_body()
            self.assertNotEqual(raw, self.order_body)
            self.assertNotIn(b"820982911946154508", raw)
            self.assertNotIn(b"jon@example.com", raw)
        self.assertIn(b"a@b.example", other._get_raw_body(), "other backends kept")

    def test_customers_data_request_records_the_owner_task(self):
        event = self._deliver_and_process("customers/data_request", "evt-data-req")
        self.assertEqual(event.resource_ref, "191167")
        task = self._exceptions(self.shopify, "validation")
        self.assertEqual(len(task), 1)
        self.assertIn("191167", task.name)
        self.assertIn("30 days", task.name)
        self.assertEqual(task.severity, "warning")
        self.assertEqual(task.state, "open")
        self.assertEqual(
            self.earlier._get_raw_body(), self.order_body, "a request erases nothing"
        )


@tagged("post_install", "-at_install")
class TestAppUninstalledHttp(SimulatorWebhookCase):
    """app/uninstalled over HTTP: the backend goes to error and its flows stop."""

    catalogue_size = 2

    def setUp(self):
        super().setUp()
        self.shopify.webhook_secret = SHOPIFY_VECTOR_SECRET
        headers, body = signed_shopify_reference("app/uninstalled", "evt-uninstall")
        shop = {**json.loads(body), "myshopify_domain": "demo-shop.myshopify.com"}
        body = json.dumps(shop).encode()
        headers["X-Shopify-Hmac-Sha256"] = sign_base64(SHOPIFY_VECTOR_SECRET, body)
        self.assertEqual(self._post(self.shopify, headers, body).status_code, 200)
        event = self._events(self.shopify, "app/uninstalled")
        self.sim.state.app_installed = False  # Shopify revokes the token
        with self.allow_requests(all_requests=True):
            self.assertEqual(event._job_process(), "done")
        self.assertEqual(self.shopify.state, "error")

    def _enqueued_by(self, cron):
        with trap_jobs() as trap:
            cron()
            return trap.enqueued_jobs

    def test_crons_skip_the_uninstalled_backend(self):
        Backend = self.env["channel.backend"]
        for cron in (
            Backend._cron_export_stock,
            Backend._cron_resync_stock,
            Backend._cron_check_stock_differences,
            Backend._cron_reconcile_orders,
            Backend._cron_sync_webhooks,
        ):
            backends = {job.recordset for job in self._enqueued_by(cron)}
            # The connected WooCommerce backend shows each cron does enqueue.
            self.assertEqual(backends, {self.woo}, cron.__name__)

    def test_jobs_enqueued_before_the_uninstall_skip_without_calling(self):
        calls = sum(self.sim.state.calls.values())
        self.assertIn("skipped", self.shopify._job_export_stock())
        self.assertIn("skipped", self.shopify._job_reconcile_orders())
        self.assertEqual(self.shopify._job_sync_webhooks(), "skipped")
        self.assertEqual(sum(self.sim.state.calls.values()), calls, "no API call")

    def test_later_deliveries_are_still_received(self):
        """Only a disabled or archived backend answers 404: after an uninstall
        Shopify still sends shop/redact (48 hours later), which must be kept."""
        headers, body = signed_shopify_reference("shop/redact", "evt-after")
        response = self._post(self.shopify, headers, body)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self._events(self.shopify, "shop/redact").state, "queued")
        self.shopify.state = "disabled"
        headers, body = shopify_vector("orders/create")
        self.assertEqual(self._post(self.shopify, headers, body).status_code, 404)
