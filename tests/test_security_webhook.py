"""Issue #14 over the real endpoint and RPC: what a webhook sender or a logged-in
user must not be able to do, and the clear answers bad input gets."""

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta, timezone

from odoo import SUPERUSER_ID, api, sql_db
from odoo.tests import HttpCase, freeze_time, get_db_name, new_test_user, tagged
from odoo.tests.common import JsonRpcException

from ..adapters.generic import signed_message
from ..adapters.signatures import sign_base64
from ..const import WEBHOOK_MAX_BYTES_PARAM
from ..models.channel_exception import TwinCommittedError
from .common import SHOPIFY_VECTOR_SECRET, ChannelCommon, shopify_vector
from .common import generic_delivery as common_generic_delivery
from .test_simulator_webhooks import SIM_SHOPIFY_SECRET, SimulatorWebhookCase

GENERIC_SECRET = "generic_webhook_secret"


def generic_delivery(body, secret=GENERIC_SECRET, **headers):
    return common_generic_delivery(body, secret, **headers)


def signed_shopify(topic, payload, secret=SHOPIFY_VECTOR_SECRET, event_id=None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    event_id = event_id or uuid.uuid4().hex
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign_base64(secret, body),
        "X-Shopify-Shop-Domain": "demo-shop.myshopify.com",
        "X-Shopify-Webhook-Id": f"webhook-{event_id}",
        "X-Shopify-Event-Id": event_id,
    }
    return headers, body


class EndpointCase(HttpCase, ChannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shopify = cls._prepare_backend(
            "shopify", webhook_secret=SHOPIFY_VECTOR_SECRET, state="connected"
        )
        cls.generic = cls._prepare_backend("generic", state="connected")

    def _post(self, backend, headers, body, **kwargs):
        self.env.flush_all()  # the server thread reads the database
        response = self.url_open(
            f"/channel_connector/webhook/{backend.id}",
            data=body,
            headers=headers,
            **kwargs,
        )
        self.env.invalidate_all()
        return response

    def _events(self, backend):
        return self.env["channel.event"].search([("backend_id", "=", backend.id)])


@tagged("post_install", "-at_install")
class TestJobFastPathRpc(HttpCase, ChannelCommon):
    """The one-statement job insert is no door to running code as superuser."""

    def _forge_job(self, login):
        self.authenticate(login, login)
        job_uuid = str(uuid.uuid4())
        values = {
            "uuid": job_uuid,
            "state": "pending",
            "model_name": "res.partner",
            "method_name": "write",
            "records": {
                "_type": "odoo_recordset",
                "model": "res.partner",
                "ids": [self.env.company.partner_id.id],
                "uid": 1,
                "su": True,
            },
            "args": [{"comment": "owned"}],
            "kwargs": {},
        }
        with self.assertRaises(JsonRpcException) as caught:
            self.make_jsonrpc_request(
                "/web/dataset/call_kw/queue.job/web_save",
                {
                    "model": "queue.job",
                    "method": "web_save",
                    "args": [[], values],
                    "kwargs": {
                        "specification": {},
                        "context": {"channel_insert_job_rows": True},
                    },
                },
            )
        self.assertEqual(caught.exception.args[0], "odoo.exceptions.AccessError")
        self.assertFalse(
            self.env["queue.job"].search([("uuid", "=", job_uuid)]), "no job row"
        )

    def test_portal_user_cannot_forge_a_job(self):
        new_test_user(self.env, login="channel_portal", groups="base.group_portal")
        self._forge_job("channel_portal")

    def test_internal_user_cannot_forge_a_job(self):
        new_test_user(self.env, login="channel_plain", groups="base.group_user")
        self._forge_job("channel_plain")

    def test_channel_user_cannot_forge_a_job(self):
        self._forge_job(self.ops_user.login)


@tagged("post_install", "-at_install")
class TestWritesOverRpc(HttpCase, ChannelCommon):
    """What the web client's RPC lets each channel group change: no payload,
    state or retry target of an event or exception, whatever context it sends."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._prepare_backend("shopify")
        cls.event = cls.env["channel.event"].create(
            {
                "backend_id": cls.backend.id,
                "topic": "orders/create",
                "flow": "orders",
                "dedupe_key": "rpc-1",
                "raw_body": base64.b64encode(b'{"id": 1}'),
                "state": "failed",
            }
        )
        cls.exception = cls.env["channel.exception"]._record(
            "validation", "could not apply", backend=cls.backend, retry_target=cls.event
        )

    def _save(self, login, record, values):
        self.authenticate(login, login)
        with self.assertRaises(JsonRpcException) as caught:
            self.make_jsonrpc_request(
                f"/web/dataset/call_kw/{record._name}/web_save",
                {
                    "model": record._name,
                    "method": "web_save",
                    "args": [record.ids, values],
                    "kwargs": {
                        "specification": {},
                        "context": {"active_test": False, "channel_force_replay": True},
                    },
                },
            )
        self.assertEqual(caught.exception.args[0], "odoo.exceptions.AccessError")

    def test_channel_users_cannot_forge_events_or_retry_targets(self):
        forged = base64.b64encode(b'{"id": 666}').decode()
        partner = self.env.company.partner_id
        for user in (self.ops_user, self.finance_user):
            with self.subTest(user=user.login):
                self._save(user.login, self.event, {"raw_body": forged})
                self._save(user.login, self.event, {"state": "queued"})
                self._save(
                    user.login,
                    self.exception,
                    {"retry_model": "res.partner", "retry_res_id": partner.id},
                )
        self.event.invalidate_recordset()
        self.exception.invalidate_recordset()
        self.assertEqual(base64.b64decode(self.event.raw_body), b'{"id": 1}')
        self.assertEqual(self.event.state, "failed")
        self.assertEqual(self.exception.retry_model, "channel.event")


@tagged("post_install", "-at_install")
class TestSignatureSecrets(EndpointCase):
    def test_backend_without_secret_refuses_even_an_empty_key_signature(self):
        backend = self._prepare_backend("generic", webhook_secret=False)
        body = b'{"id": "G-1"}'
        headers, body = generic_delivery(body, secret="x")
        message = signed_message(
            headers["X-Channel-Timestamp"],
            headers["X-Channel-Event-Id"],
            headers["X-Channel-Topic"],
            body,
        )
        headers["X-Channel-Signature"] = (
            "sha256=" + hmac.new(b"", message, hashlib.sha256).hexdigest()
        )
        response = self._post(backend, headers, body)
        self.assertEqual(response.status_code, 401)
        self.assertFalse(self._events(backend))
        audit = self.env["channel.exception"].search([("backend_id", "=", backend.id)])
        self.assertIn("No webhook signing secret", audit.technical_detail)

    def test_rejection_audit_keeps_the_peer_and_escapes_the_forwarded_header(self):
        headers, body = shopify_vector("orders/create")
        headers["X-Shopify-Hmac-Sha256"] = "forged"
        headers["X-Forwarded-For"] = "203.0.113.9\\nFAKE LOG LINE"
        self.assertEqual(self._post(self.shopify, headers, body).status_code, 401)
        audit = self.env["channel.exception"].search(
            [("backend_id", "=", self.shopify.id)]
        )
        self.assertIn("peer 127.0.0.1", audit.technical_detail)
        self.assertIn("X-Forwarded-For '203.0.113.9", audit.technical_detail)


@tagged("post_install", "-at_install")
class TestGenericSignatureScheme(EndpointCase):
    """The generic signature covers timestamp, event id and topic."""

    def test_signed_delivery_is_stored(self):
        headers, body = generic_delivery(b'{"id": "G-1"}')
        self.assertEqual(self._post(self.generic, headers, body).status_code, 200)
        self.assertEqual(
            self._events(self.generic).dedupe_key, headers["X-Channel-Event-Id"]
        )

    def test_other_event_id_or_topic_breaks_the_signature(self):
        headers, body = generic_delivery(b'{"id": "G-1"}')
        for name, value in (
            ("X-Channel-Event-Id", "pre-claimed-future-id"),
            ("X-Channel-Topic", "orders/cancel"),
        ):
            with self.subTest(header=name):
                forged = {**headers, name: value}
                self.assertEqual(
                    self._post(self.generic, forged, body).status_code, 401
                )
        self.assertFalse(self._events(self.generic))

    def test_stale_or_future_timestamp_is_refused(self):
        now = datetime.now(timezone.utc)
        for moment in (now - timedelta(minutes=6), now + timedelta(minutes=6)):
            with self.subTest(moment=moment):
                headers, body = generic_delivery(
                    b'{"id": "G-1"}', **{"X-Channel-Timestamp": moment.isoformat()}
                )
                self.assertEqual(
                    self._post(self.generic, headers, body).status_code, 401
                )
        self.assertFalse(self._events(self.generic))

    def test_replay_inside_the_window_is_a_duplicate(self):
        headers, body = generic_delivery(b'{"id": "G-1"}')
        self._post(self.generic, headers, body)
        with freeze_time(datetime.now() + timedelta(minutes=4)):
            self.assertEqual(self._post(self.generic, headers, body).status_code, 200)
        self.assertEqual(self._events(self.generic).duplicates_prevented, 1)


@tagged("post_install", "-at_install")
class TestSignedBadInput(EndpointCase):
    """Signed but unusable: a 400 and the raw body kept, never a 500."""

    def _assert_kept(self, response, body, text):
        self.assertEqual(response.status_code, 400, response.text)
        self.assertIn(text, response.text)
        event = self._events(self.shopify)
        self.assertEqual(event.state, "failed")
        self.assertEqual(base64.b64decode(event.raw_body), body, "byte-exact")
        return event

    def test_deeply_nested_json(self):
        body = b'{"id": ' + b"[" * 10000 + b"]" * 10000 + b"}"
        response = self._post(self.shopify, *signed_shopify("orders/create", body))
        self._assert_kept(response, body, "nested too deeply")

    def test_overflowing_timestamp(self):
        headers, body = signed_shopify("orders/create", {"id": 5})
        headers["X-Shopify-Triggered-At"] = "9999-12-31T23:59:59-23:59"
        self._assert_kept(self._post(self.shopify, headers, body), body, "timestamp")

    def test_long_topic_event_id_and_resource_id(self):
        long = "9" * 3000
        cases = (
            ("X-Shopify-Topic", "orders/" + "x" * 3000, {"id": 1}, "topic"),
            ("X-Shopify-Event-Id", long, {"id": 2}, "deduplication key"),
            (None, None, {"id": int(long[:4000])}, "resource id"),
        )
        for name, value, payload, text in cases:
            with self.subTest(text=text):
                headers, body = signed_shopify("orders/create", payload)
                if name:
                    headers[name] = value
                response = self._post(self.shopify, headers, body)
                self.assertEqual(response.status_code, 400, response.text)
                self.assertIn(text, response.text)
        events = self._events(self.shopify)
        self.assertEqual(len(events), 3)
        self.assertEqual(set(events.mapped("state")), {"failed"})
        self.assertIn("unreadable", events.mapped("topic"))

    def test_bad_body_limit_parameter_falls_back_to_the_default(self):
        self.env["ir.config_parameter"].set_param(WEBHOOK_MAX_BYTES_PARAM, "2 MiB")
        headers, body = shopify_vector("orders/create")
        self.assertEqual(self._post(self.shopify, headers, body).status_code, 200)


@tagged("post_install", "-at_install")
class TestBodyLimit(EndpointCase):
    """Bodies over the limit are refused before Odoo reads or parses them."""

    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].set_param(WEBHOOK_MAX_BYTES_PARAM, "4096")

    def test_every_content_type_over_the_limit_is_413(self):
        big = b"a" * 8192
        cases = {
            "json": ({"Content-Type": "application/json"}, big),
            "form": (
                {"Content-Type": "application/x-www-form-urlencoded"},
                b"webhook_id=" + big,
            ),
            "multipart": (
                {"Content-Type": "multipart/form-data; boundary=XX"},
                b'--XX\r\nContent-Disposition: form-data; name="f"\r\n\r\n'
                + big
                + b"\r\n--XX--\r\n",
            ),
        }
        for name, (headers, body) in cases.items():
            with self.subTest(content_type=name):
                self.assertEqual(
                    self._post(self.shopify, headers, body).status_code, 413
                )
        self.assertFalse(self._events(self.shopify))

    def test_chunked_body_over_the_limit_is_413(self):
        headers, body = shopify_vector("orders/create")
        body = body + b" " * (4096 - len(body) + 1)
        headers["X-Shopify-Hmac-Sha256"] = sign_base64(SHOPIFY_VECTOR_SECRET, body)
        chunks = (body[i : i + 1000] for i in range(0, len(body), 1000))
        self.assertEqual(self._post(self.shopify, headers, chunks).status_code, 413)
        self.assertFalse(self._events(self.shopify))

    def test_chunked_body_under_the_limit_is_received(self):
        headers, body = shopify_vector("orders/create")
        self.env["ir.config_parameter"].set_param(
            WEBHOOK_MAX_BYTES_PARAM, str(len(body))
        )
        chunks = (body[i : i + 500] for i in range(0, len(body), 500))
        self.assertEqual(self._post(self.shopify, headers, chunks).status_code, 200)
        self.assertEqual(base64.b64decode(self._events(self.shopify).raw_body), body)


@tagged("post_install", "-at_install")
class TestShopTopics(SimulatorWebhookCase):
    """Only the body is signed: a captured body re-sent under a shop-wide or
    privacy topic is refused, and an uninstall is confirmed through the API."""

    def _shop_redact(self, domain="demo-shop.myshopify.com"):
        return {"shop_id": 1, "shop_domain": domain}

    def test_order_body_resent_as_app_uninstalled_is_refused(self):
        headers, body = shopify_vector("orders/create")
        headers["X-Shopify-Hmac-Sha256"] = sign_base64(SIM_SHOPIFY_SECRET, body)
        headers["X-Shopify-Topic"] = "app/uninstalled"
        response = self._post(self.shopify, headers, body)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self._events(self.shopify).state, "failed")
        self.assertEqual(self.shopify.state, "connected")

    def test_customer_redaction_resent_as_shop_redact_is_refused(self):
        payload = {
            **self._shop_redact(),
            "customer": {"id": 7, "email": "a@example.com"},
            "orders_to_redact": [1],
        }
        headers, body = signed_shopify("shop/redact", payload, SIM_SHOPIFY_SECRET)
        self.assertEqual(self._post(self.shopify, headers, body).status_code, 400)

    def test_privacy_delivery_of_another_shop_is_refused(self):
        payload = self._shop_redact("other-shop.myshopify.com")
        headers, body = signed_shopify("shop/redact", payload, SIM_SHOPIFY_SECRET)
        response = self._post(self.shopify, headers, body)
        self.assertEqual(response.status_code, 400)
        self.assertIn("names the shop", response.text)

    def test_shop_redact_of_this_shop_is_queued(self):
        headers, body = signed_shopify(
            "shop/redact",
            self._shop_redact("Demo-Shop.myshopify.com"),
            SIM_SHOPIFY_SECRET,
        )
        self.assertEqual(self._post(self.shopify, headers, body).status_code, 200)
        self.assertEqual(self._events(self.shopify, "shop/redact").state, "queued")

    def _uninstalled(self):
        payload = {"id": 1, "myshopify_domain": "demo-shop.myshopify.com"}
        headers, body = signed_shopify("app/uninstalled", payload, SIM_SHOPIFY_SECRET)
        self.assertEqual(self._post(self.shopify, headers, body).status_code, 200)
        return self._events(self.shopify, "app/uninstalled")

    def test_uninstall_the_api_denies_pauses_nothing(self):
        event = self._uninstalled()
        with self.allow_requests(all_requests=True):
            event._job_process()
        self.assertEqual(event.state, "ignored")
        self.assertEqual(self.shopify.state, "connected")
        self.assertTrue(self._exceptions(self.shopify, "rejected_delivery"))

    def test_confirmed_uninstall_pauses_the_backend(self):
        self.sim.state.app_installed = False
        event = self._uninstalled()
        with self.allow_requests(all_requests=True):
            event._job_process()
        self.assertEqual(event.state, "done")
        self.assertEqual(self.shopify.state, "error")


@tagged("post_install", "-at_install")
class TestExceptionTwins(ChannelCommon):
    def test_twin_committed_after_the_snapshot_retries_the_transaction(self):
        """Two first occurrences at once: the second transaction cannot see the
        first's row, so it asks for a retry instead of failing."""
        db = sql_db.db_connect(get_db_name())
        with db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["channel.backend"].create(
                {"name": "Twins", "provider": "generic"}
            )
        self.addCleanup(self._drop, db, backend.id)

        def record(cr):
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend_there = env["channel.backend"].browse(backend.id)
            return env["channel.exception"]._record(
                "validation", "Twin", backend=backend_there, key="k"
            )

        with db.cursor() as first, db.cursor() as second:
            second.execute("SELECT 1")  # the second transaction's snapshot
            record(first)
            first.commit()
            with self.assertRaises(TwinCommittedError):
                record(second)
            second.rollback()
            self.assertEqual(record(second).occurrences, 2)

    def _drop(self, db, backend_id):
        with db.cursor() as cr:
            cr.execute("DELETE FROM channel_backend WHERE id = %s", [backend_id])
