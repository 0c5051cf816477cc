"""Shopify credentials as Shopify issues them since 2026 (client credentials
grant, tokens of about a day), and signing secret rotation, over real HTTP
against the simulator."""

import threading
import time
from datetime import timedelta

from odoo import SUPERUSER_ID, api, sql_db
from odoo.exceptions import AccessError
from odoo.tests import BaseCase, freeze_time, get_db_name, tagged

from ..adapters.shopify import AccessToken
from ..adapters.signatures import sign_base64
from ..models.channel_access_token import RENEW_MARGIN
from .test_simulator_webhooks import SIM_SHOPIFY_SECRET, SimulatorWebhookCase
from .test_webhook_http import signed_shopify_reference


@tagged("post_install", "-at_install")
class TestShopifyClientCredentials(SimulatorWebhookCase):
    def setUp(self):
        super().setUp()
        self.shopify.write(
            {
                "shopify_auth_method": "client_credentials",
                "shopify_client_id": "sim_client_id",
                "shopify_access_token": False,
            }
        )

    def _stored_token(self):
        self.env.invalidate_all()  # written on its own cursor, in SQL
        return self.env["channel.access.token"].search(
            [("backend_id", "=", self.shopify.id)]
        )

    def _call(self):
        """One Admin API call through the backend's adapter."""
        return self.shopify._get_adapter(priority="orders").test_connection()

    def test_token_is_fetched_once_and_shared(self):
        self.assertTrue(self.shopify._check_connection(), self.shopify.state_message)
        self._call()
        self.assertEqual(self.sim.token_requests, 1, "the stored token is reused")
        stored = self._stored_token()
        self.assertTrue(stored.token.startswith("shpat_cc_"))
        self.assertGreater(stored.expires_at, time.time() + 86000)

    def test_the_token_and_the_client_secret_are_never_logged(self):
        with self.assertLogs("odoo.addons.channel_connector", "DEBUG") as logs:
            self._call()
            self.sim.expire_tokens()
            self._call()
        output = "\n".join(logs.output)
        self.assertIn("Renewed the API token", output)
        for secret in (self._stored_token().token, SIM_SHOPIFY_SECRET):
            self.assertNotIn(secret, output)

    def test_token_expired_mid_run_is_renewed_once_on_401(self):
        self._call()
        first = self._stored_token().token
        self.sim.expire_tokens()  # Shopify's day passed; our record says valid
        self.assertIn("Simulated shop", self._call())
        self.assertEqual(self.sim.token_requests, 2)
        self.assertNotEqual(self._stored_token().token, first)

    def test_token_about_to_expire_is_renewed_before_use(self):
        self._call()
        stored = self._stored_token()
        stored.sudo().write({"expires_at": time.time() + RENEW_MARGIN - 1})
        self.env.flush_all()
        old = stored.token
        self._call()
        self.assertEqual(self.sim.token_requests, 2)
        self.assertNotEqual(self._stored_token().token, old)
        self.assertTrue(self.sim._shopify_token_valid(old), "renewed, not refused")

    def test_wrong_client_secret_is_a_clear_auth_error(self):
        self.shopify.webhook_secret = "not-the-client-secret"
        self.assertFalse(self.shopify._check_connection())
        self.assertEqual(self.shopify.state, "error")
        self.assertIn("client credentials", self.shopify.state_message)
        self.assertNotIn("not-the-client-secret", self.shopify.state_message)

    def test_a_static_token_backend_never_asks_for_one(self):
        self.shopify.write(
            {
                "shopify_auth_method": "access_token",
                "shopify_access_token": "shpat_sim_token",
            }
        )
        self._call()
        self.assertEqual(self.sim.token_requests, 0)

    def test_the_client_secret_signs_webhooks(self):
        headers, body = signed_shopify_reference(
            "orders/create", "evt-cc", secret=SIM_SHOPIFY_SECRET
        )
        self.assertEqual(self._post(self.shopify, headers, body).status_code, 200)

    def test_token_is_manager_only(self):
        self._call()
        with self.assertRaises(AccessError):
            self._stored_token().with_user(self.ops_user).read(["token"])


@tagged("post_install", "-at_install")
class TestWebhookSecretRotation(SimulatorWebhookCase):
    def _delivery(self, secret, event_id):
        headers, body = signed_shopify_reference("orders/create", event_id)
        headers["X-Shopify-Hmac-Sha256"] = sign_base64(secret, body)
        return headers, body

    def test_previous_secret_verifies_during_the_grace_period_only(self):
        with freeze_time("2026-12-01 10:00:00"):
            self.shopify.write({"webhook_secret": "new-secret"})
        self.assertEqual(self.shopify.previous_webhook_secret, SIM_SHOPIFY_SECRET)
        with freeze_time("2026-12-01 10:00:00") as frozen:
            # The channel still signs a retry with the old secret: kept.
            frozen.tick(timedelta(hours=23))
            old = self._delivery(SIM_SHOPIFY_SECRET, "evt-old-in-grace")
            self.assertEqual(self._post(self.shopify, *old).status_code, 200)
            new = self._delivery("new-secret", "evt-new")
            self.assertEqual(self._post(self.shopify, *new).status_code, 200)
            frozen.tick(timedelta(hours=2))
            late = self._delivery(SIM_SHOPIFY_SECRET, "evt-old-after-grace")
            self.assertEqual(self._post(self.shopify, *late).status_code, 401)
        self.assertEqual(len(self._events(self.shopify)), 2, "both kept, one refused")

    def test_a_forged_signature_is_refused_during_the_grace_period(self):
        self.shopify.write({"webhook_secret": "new-secret"})
        forged = self._delivery("someone-elses", "evt-forged")
        self.assertEqual(self._post(self.shopify, *forged).status_code, 401)


@tagged("post_install", "-at_install")
class TestConcurrentTokenRenewal(BaseCase):
    """Workers meeting an expired token at once make one token request."""

    def setUp(self):
        super().setUp()
        self.db = sql_db.db_connect(get_db_name())
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.backend_id = (
                env["channel.backend"]
                .create(
                    {
                        "name": "Token race",
                        "provider": "shopify",
                        "api_url": "http://127.0.0.1:9",
                        "shopify_client_id": "race",
                    }
                )
                .id
            )
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["channel.backend"].browse(self.backend_id).unlink()

    def test_concurrent_renewals_collapse_into_one_request(self):
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["channel.backend"].browse(self.backend_id)
            tokens = env["channel.access.token"]._for_backend(backend)
        requests, answers = [], []
        inside = threading.Event()

        def fetch():
            requests.append(1)
            inside.set()
            time.sleep(0.5)  # the other worker arrives meanwhile
            return AccessToken(f"shpat_cc_{len(requests)}", "read_orders", 86399)

        def worker():
            answers.append(tokens.renew(fetch, failed="shpat_expired"))

        first = threading.Thread(target=worker)
        first.start()
        self.assertTrue(inside.wait(10))
        second = threading.Thread(target=worker)
        second.start()
        first.join(10)
        second.join(10)
        self.assertEqual(len(requests), 1)
        self.assertEqual(answers, ["shpat_cc_1", "shpat_cc_1"])
        self.assertEqual(tokens.get(fetch), "shpat_cc_1", "stored for every worker")
        self.assertEqual(len(requests), 1)
