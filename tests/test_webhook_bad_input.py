"""The bad-input run: a corpus of broken, forged and hostile requests sent over
raw sockets to the running test server (real cursors, committed).

It ends with: no answer of 500, every refusal under a second, every signed
malformed body kept byte-exact, one event for 50 concurrent copies of one
delivery, nothing stored for an unsigned or refused request. `make test`
runs it; its summary line is printed (`pytest -s` shows it).
"""

import base64
import contextlib
import json
import socket
import threading
import time
import uuid

from odoo import SUPERUSER_ID, api, sql_db
from odoo.tests import BaseCase, get_db_name, tagged
from odoo.tools import config

from ..adapters.signatures import sign_base64, sign_hex
from ..const import WEBHOOK_MAX_BYTES_PARAM
from .common import delete_committed_backends, shopify_vector

SECRET = "bad_input_secret"
WOO_SECRET = "bad_input_woo_secret"
BODY_LIMIT = 64 * 1024
MAX_REFUSAL_SECONDS = 1.0
COPIES = 50


def http_request(method, path, headers, body=b"", *, chunks=None):
    """The bytes of one HTTP/1.1 request, headers sent exactly as given."""
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1"]
    for name, value in headers:
        lines.append(_bytes(name) + b": " + _bytes(value))
    if chunks is not None:
        lines.append(b"Transfer-Encoding: chunked")
        payload = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    else:
        if not any(name.lower() == "content-length" for name, _ in headers):
            lines.append(b"Content-Length: %d" % len(body))
        payload = body
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + payload


def _bytes(text):
    return text.encode() if isinstance(text, str) else text


def send(raw, timeout=10.0):
    """Send raw request bytes; (status code, seconds until the status line)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", config["http_port"]), timeout) as s:
        # The server may answer (413) before reading all of it.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            s.sendall(raw)
        answer = b""
        while b"\r\n" not in answer:
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                break
            if not data:
                break
            answer += data
    elapsed = time.monotonic() - started
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, elapsed


@tagged("post_install", "-at_install")
class TestWebhookBadInput(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = sql_db.db_connect(get_db_name())
        with cls.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            Backend = env["channel.backend"]
            cls.shopify_id = Backend.create(
                {
                    "name": "Bad input Shopify",
                    "provider": "shopify",
                    "state": "connected",
                    "shopify_shop_domain": "demo-shop.myshopify.com",
                    "webhook_secret": SECRET,
                }
            ).id
            cls.woo_id = Backend.create(
                {
                    "name": "Bad input WooCommerce",
                    "provider": "woocommerce",
                    "state": "connected",
                    "webhook_secret": WOO_SECRET,
                }
            ).id
            params = env["ir.config_parameter"]
            cls.old_limit = params.get_param(WEBHOOK_MAX_BYTES_PARAM)
            params.set_param(WEBHOOK_MAX_BYTES_PARAM, str(BODY_LIMIT))
        cls.addClassCleanup(cls._clean_up)

    @classmethod
    def _clean_up(cls):
        with cls.db.cursor() as cr:
            delete_committed_backends(cr, [cls.shopify_id, cls.woo_id])
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["ir.config_parameter"].set_param(
                WEBHOOK_MAX_BYTES_PARAM, cls.old_limit or False
            )

    def _events(self):
        with self.db.cursor() as cr:
            cr.execute(
                "SELECT dedupe_key, state, raw_body, duplicates_prevented"
                " FROM channel_event WHERE backend_id = %s",
                [self.shopify_id],
            )
            return cr.fetchall()

    # === THE CORPUS ===

    def _shopify(self, body, topic="orders/create", sign=True, **extra):
        """Headers of a Shopify delivery of `body` signed with our secret."""
        event_id = uuid.uuid4().hex
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": "demo-shop.myshopify.com",
            "X-Shopify-Webhook-Id": f"w-{event_id}",
            "X-Shopify-Event-Id": event_id,
        }
        if sign:
            headers["X-Shopify-Hmac-Sha256"] = sign_base64(SECRET, body)
        headers.update(extra)
        return list(headers.items())

    def _refused(self):
        """(name, raw request) that must store nothing."""
        path = f"/channel_connector/webhook/{self.shopify_id}"
        woo = f"/channel_connector/webhook/{self.woo_id}"
        _headers, body = shopify_vector("orders/create")
        good = sign_base64(SECRET, body)
        big = b"x" * (BODY_LIMIT + 1)
        cases = {
            "missing signature": self._shopify(body, sign=False),
            "wrong signature": self._shopify(
                body, sign=False, **{"X-Shopify-Hmac-Sha256": sign_base64("no", body)}
            ),
            "empty-key signature": self._shopify(
                body,
                sign=False,
                **{"X-Shopify-Hmac-Sha256": base64.b64encode(b"").decode()},
            ),
            "truncated signature": self._shopify(
                body, sign=False, **{"X-Shopify-Hmac-Sha256": good[:20]}
            ),
            "hex scheme of the generic channel": self._shopify(
                body,
                sign=False,
                **{"X-Channel-Signature": "sha256=" + sign_hex(SECRET, body)},
            ),
            "WooCommerce header on Shopify": self._shopify(
                body, sign=False, **{"X-WC-Webhook-Signature": good}
            ),
        }
        requests = [
            (name, http_request("POST", path, headers, body))
            for name, headers in cases.items()
        ]
        form = [("Content-Type", "application/x-www-form-urlencoded")]
        requests += [
            (f"unsigned ping {b!r}", http_request("POST", woo, form, b))
            for b in (
                b"webhook_id=abc",
                b"webhook_id=1&x=2",
                b"webhook_id=" + b"1" * 80,
            )
        ]
        oversized = [("Content-Length", str(64 * 1024 * 1024))]
        requests += [
            (
                f"oversized {kind}",
                http_request("POST", path, [("Content-Type", kind), *oversized], b"{"),
            )
            for kind in (
                "application/json",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=XX",
            )
        ]
        requests.append(
            (
                "oversized chunked",
                http_request(
                    "POST",
                    path,
                    self._shopify(big),
                    chunks=[big[i : i + 8192] for i in range(0, len(big), 8192)],
                ),
            )
        )
        for method in ("GET", "PUT", "DELETE", "PATCH"):
            requests.append(
                (
                    f"method {method}",
                    http_request(method, path, self._shopify(body), body),
                )
            )
        for backend in ("0", "99999999", "abc", "-1", "9" * 30, "1e3"):
            requests.append(
                (
                    f"backend id {backend}",
                    http_request(
                        "POST",
                        f"/channel_connector/webhook/{backend}",
                        self._shopify(body),
                        body,
                    ),
                )
            )
        return requests

    def _unparsable(self):
        """(name, raw request) Odoo's HTTP server cannot parse: it closes the
        connection (its request handler fails while answering 431, see
        README), or answers 4xx (a CR cuts the headers, the body is lost and
        its signature fails); nothing is stored."""
        path = f"/channel_connector/webhook/{self.shopify_id}"
        _headers, body = shopify_vector("orders/create")
        requests = []
        requests.append(
            (
                "huge header",
                http_request(
                    "POST", path, [*self._shopify(body), ("X-Big", "a" * 70000)], body
                ),
            )
        )
        requests.append(
            (
                "many headers",
                http_request(
                    "POST",
                    path,
                    [*self._shopify(body), *((f"X-H{i}", "v") for i in range(300))],
                    body,
                ),
            )
        )
        lf = [(n, v) for n, v in self._shopify(body) if n != "X-Shopify-Topic"]
        requests.append(
            (
                "CR in a header",
                http_request(
                    "POST", path, [*lf, (b"X-Shopify-Topic", b"orders/\rcreate")], body
                ),
            )
        )
        return requests

    def _other(self):
        """(name, raw request) whose answer may be anything but a 500."""
        path = f"/channel_connector/webhook/{self.shopify_id}"
        _headers, body = shopify_vector("orders/create")
        lf = [(n, v) for n, v in self._shopify(body) if n != "X-Shopify-Topic"]
        requests = [
            (
                "LF splitting a header",
                http_request(
                    "POST", path, [*lf, (b"X-Shopify-Topic", b"orders/\ncreate")], body
                ),
            )
        ]
        for name, other in (
            ("BOM", b'\xef\xbb\xbf{"id": 1}'),
            ("duplicate keys", b'{"id": 1, "id": 2}'),
            ("infinite number", b'{"id": 1e999999}'),
        ):
            requests.append(
                (name, http_request("POST", path, self._shopify(other), other))
            )
        return requests

    def _malformed(self):
        """(name, raw request, body) signed but unusable: kept, 400."""
        path = f"/channel_connector/webhook/{self.shopify_id}"
        bodies = {
            "non-UTF-8": b'{"id": "\xff\xfe"}',
            "deep nesting": b'{"id": ' + b"[" * 10000 + b"]" * 10000 + b"}",
            "huge number": b'{"id": ' + b"9" * 5000 + b"}",
            "empty body": b"",
            "not an object": b"[1, 2]",
        }
        requests = [
            (name, http_request("POST", path, self._shopify(body), body), body)
            for name, body in bodies.items()
        ]
        body = b'{"id": 77}'
        for name, header_name, value in (
            ("long topic", "X-Shopify-Topic", "orders/" + "t" * 3000),
            ("long event id", "X-Shopify-Event-Id", "e" * 3000),
            ("NUL in a header", "X-Shopify-Topic", "orders/create\x00x"),
            (
                "overflowing timestamp",
                "X-Shopify-Triggered-At",
                "9999-12-31T23:59:59-23:59",
            ),
        ):
            body = json.dumps({"id": len(requests) + 100}).encode()
            headers = [(n, v) for n, v in self._shopify(body) if n != header_name] + [
                (header_name, value)
            ]
            requests.append((name, http_request("POST", path, headers, body), body))
        long_id = json.dumps({"id": int("7" * 300)}).encode()
        requests.append(
            (
                "long resource id",
                http_request("POST", path, self._shopify(long_id), long_id),
                long_id,
            )
        )
        return requests

    # === THE RUN ===

    def test_bad_input_run(self):
        answers = {}
        for name, raw in self._refused():
            answers[name] = send(raw)
        closed = {}
        for name, raw in self._unparsable():
            closed[name] = send(raw)
            status = closed[name][0]
            self.assertTrue(status == 0 or 400 <= status < 500, f"{name}: {status}")
            self.assertLess(closed[name][1], MAX_REFUSAL_SECONDS, name)
        self.assertEqual(self._events(), [], "nothing stored for a refused request")
        for name, raw, _body in self._malformed():
            answers[name] = send(raw)
        kept = {bytes(row[2] or b"") for row in self._events()}
        for name, _raw, body in self._malformed():
            with self.subTest(case=name):
                self.assertEqual(answers[name][0], 400, name)
                self.assertIn(base64.b64encode(body), kept, f"{name}: kept byte-exact")
        for name, raw in self._other():
            answers[name] = send(raw)
        copies = self._concurrent_copies()
        for name, (status, elapsed) in answers.items():
            with self.subTest(case=name):
                self.assertNotIn(status, (0, 500), f"{name}: answered {status}")
                if status >= 400:
                    self.assertLess(elapsed, MAX_REFUSAL_SECONDS, name)
        slowest = max(elapsed for _s, elapsed in answers.values())
        print(  # pylint: disable=print-used
            f"\nbad-input run: {len(answers) + len(closed)} requests, "
            f"{sum(s == 500 for s, _e in answers.values())} answers of 500, "
            f"slowest answer {slowest * 1000:.0f} ms, "
            f"{sum(s == 0 for s, _e in closed.values())} closed unanswered by "
            f"Odoo's HTTP server, "
            f"{len(self._malformed())} malformed bodies kept byte-exact, "
            f"{copies} event(s) for {COPIES} concurrent copies"
        )

    def _concurrent_copies(self):
        """50 copies of one delivery at once: 50 answers of 200, one event."""
        body = json.dumps({"id": 424242}).encode()
        raw = http_request(
            "POST",
            f"/channel_connector/webhook/{self.shopify_id}",
            self._shopify(body),
            body,
        )
        statuses = []
        threads = [
            threading.Thread(target=lambda: statuses.append(send(raw, 60)[0]))
            for _ in range(COPIES)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        self.assertEqual(statuses, [200] * COPIES)
        expected = base64.b64encode(body)
        events = [row for row in self._events() if bytes(row[2] or b"") == expected]
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0][3], COPIES - 1, "every copy counted")
        return len(events)
