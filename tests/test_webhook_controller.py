import threading
import time

from werkzeug.test import Client

from odoo import http
from odoo.tests import HttpCase, tagged

from ..adapters.signatures import sign_base64
from ..const import WEBHOOK_MAX_BYTES_PARAM
from .common import (
    SHOPIFY_VECTOR_SECRET,
    ChannelCommon,
    CommittedCase,
    shopify_vector,
)


@tagged("post_install", "-at_install")
class TestWebhookController(HttpCase, ChannelCommon):
    """The real endpoint over HTTP (pytest --odoo-http)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._prepare_backend(
            "shopify", webhook_secret=SHOPIFY_VECTOR_SECRET
        )

    def _post(self, backend_id, headers, body):
        self.env.flush_all()  # the server thread reads the database, not our cache
        return self.url_open(
            f"/channel_connector/webhook/{backend_id}", data=body, headers=headers
        )

    def _events(self):
        return self.env["channel.event"].search([("backend_id", "=", self.backend.id)])

    def test_valid_delivery_is_stored_and_acknowledged(self):
        headers, body = shopify_vector("orders/create")
        response = self._post(self.backend.id, headers, body)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.text, "ok")
        self.assertEqual(len(self._events()), 1)
        self.assertNotIn("session_id", response.cookies)

    def test_duplicate_over_http_creates_nothing(self):
        headers, body = shopify_vector("orders/create")
        self._post(self.backend.id, headers, body)
        response = self._post(self.backend.id, headers, body)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self._events().duplicates_prevented, 1)

    def test_unknown_archived_or_disabled_backend_is_404(self):
        headers, body = shopify_vector("orders/create")
        self.assertEqual(self._post(999999, headers, body).status_code, 404)
        self.backend.state = "disabled"
        self.assertEqual(self._post(self.backend.id, headers, body).status_code, 404)
        self.backend.write({"state": "connected", "active": False})
        self.assertEqual(self._post(self.backend.id, headers, body).status_code, 404)
        self.assertFalse(self._events())

    def test_bad_signature_is_401(self):
        headers, body = shopify_vector("orders/create")
        headers["X-Shopify-Hmac-Sha256"] = "AAAA"
        self.assertEqual(self._post(self.backend.id, headers, body).status_code, 401)
        self.assertFalse(self._events())

    def test_malformed_json_is_400_and_kept(self):
        headers, body = shopify_vector("orders/create")
        body = body[:-10]
        headers["X-Shopify-Hmac-Sha256"] = sign_base64(SHOPIFY_VECTOR_SECRET, body)
        response = self._post(self.backend.id, headers, body)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self._events().state, "failed")

    def test_oversized_body_is_413(self):
        self.env["ir.config_parameter"].set_param(WEBHOOK_MAX_BYTES_PARAM, "2048")
        headers, body = shopify_vector("orders/create")
        response = self._post(self.backend.id, headers, body)
        self.assertEqual(response.status_code, 413)
        self.assertFalse(self._events())


@tagged("post_install", "-at_install")
class TestConcurrentDuplicate(CommittedCase):
    """Two requests deliver the same event at once: one event, two 200s.

    Both go through Odoo's real WSGI application on real, committed cursors
    (an HttpCase serializes its requests on the test cursor). The test holds
    a lock on the job table, so the first request has inserted its event
    but not committed when the second inserts the same key: the second
    waits, then (READ COMMITTED) counts a duplicate without failing to
    serialize, so Odoo replays nothing.
    """

    def setUp(self):
        super().setUp()
        self.backend_id = self._committed_backend(
            name="Concurrency test",
            provider="shopify",
            state="connected",
            webhook_secret=SHOPIFY_VECTOR_SECRET,
        )

    def _post(self, answers):
        headers, body = shopify_vector("orders/create")
        response = Client(http.root).post(
            f"/channel_connector/webhook/{self.backend_id}",
            data=body,
            headers=headers,
        )
        answers.append((response.status_code, response.get_data(as_text=True)))

    def _wait_for(self, cr, statement):
        """Wait until a request running `statement` waits on a lock."""
        for _ in range(200):
            cr.rollback()  # pg_stat_activity is a snapshot per transaction
            cr.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND query LIKE %s",
                [f"%{statement}%"],
            )
            if cr.fetchone()[0]:
                return
            time.sleep(0.05)
        self.fail(f"no request waited in {statement}")

    def test_concurrent_twins_make_one_event(self):
        answers = []
        first = threading.Thread(target=self._post, args=(answers,))
        second = threading.Thread(target=self._post, args=(answers,))
        # Odoo logs each replay of a request that failed to serialize.
        with self.assertNoLogs("odoo.service.model", "INFO"):
            with self.db.cursor() as lock_cr, self.db.cursor() as watch_cr:
                lock_cr.execute("LOCK TABLE queue_job IN SHARE MODE")
                first.start()
                self._wait_for(watch_cr, 'INSERT INTO "queue_job"')
                second.start()
                self._wait_for(watch_cr, "INSERT INTO channel_event")
            # Leaving the block commits the lock's transaction: the first
            # request goes on and commits, the second counts a duplicate.
            first.join(30)
            second.join(30)
        self.assertEqual(answers, [(200, "ok"), (200, "ok")])
        with self.db.cursor() as cr:
            cr.execute(
                "SELECT count(*), sum(duplicates_prevented) FROM channel_event"
                " WHERE backend_id = %s",
                [self.backend_id],
            )
            self.assertEqual(cr.fetchone(), (1, 1))
            cr.execute(
                "SELECT count(*) FROM channel_exception"
                " WHERE backend_id = %s AND exception_type = 'rejected_delivery'",
                [self.backend_id],
            )
            self.assertEqual(cr.fetchone()[0], 0, "no delivery was refused")
