import threading
import time

from odoo import SUPERUSER_ID, api, sql_db
from odoo.service.model import retrying
from odoo.tests import BaseCase, HttpCase, get_db_name, tagged

from ..adapters.signatures import sign_base64
from ..const import WEBHOOK_MAX_BYTES_PARAM
from .common import SHOPIFY_VECTOR_SECRET, ChannelCommon, shopify_vector


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
class TestConcurrentDuplicate(BaseCase):
    """Two transactions store the same delivery at once: one event survives.

    Runs on real, committed cursors (no test transaction) and cleans up.
    """

    def setUp(self):
        super().setUp()
        self.db = sql_db.db_connect(get_db_name())
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["channel.backend"].create(
                {
                    "name": "Concurrency test",
                    "provider": "shopify",
                    "webhook_secret": SHOPIFY_VECTOR_SECRET,
                }
            )
            self.backend_id = backend.id
        self.addCleanup(self._delete_backend)

    def _delete_backend(self):
        with self.db.cursor() as cr:
            api.Environment(cr, SUPERUSER_ID, {})["channel.backend"].browse(
                self.backend_id
            ).unlink()

    def _deliver(self, results, inserted, hold_seconds):
        """Like a request: in `retrying`, which replays serialization failures."""
        headers, body = shopify_vector("orders/create")

        def receive():
            backend = env["channel.backend"].browse(self.backend_id)
            answer = env["channel.event"]._receive_delivery(backend, headers, body)
            inserted.set()
            time.sleep(hold_seconds)  # keep the transaction open
            return answer

        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            results.append(retrying(receive, env))

    def test_concurrent_twins_make_one_event(self):
        results, first_inserted, second_inserted = (
            [],
            threading.Event(),
            threading.Event(),
        )
        first = threading.Thread(
            target=self._deliver, args=(results, first_inserted, 0.5)
        )
        first.start()
        first_inserted.wait(10)
        second = threading.Thread(
            target=self._deliver, args=(results, second_inserted, 0)
        )
        second.start()
        first.join(20)
        second.join(20)
        self.assertEqual(results, [(200, "ok"), (200, "ok")])
        with self.db.cursor() as cr:
            cr.execute(
                "SELECT count(*), sum(duplicates_prevented) FROM channel_event"
                " WHERE backend_id = %s",
                [self.backend_id],
            )
            self.assertEqual(cr.fetchone(), (1, 1))
