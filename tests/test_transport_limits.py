"""Outbound calls over real HTTP on loopback: a deadline per call, a cap on the
answer's size, no redirect followed, Retry-After and throttle status clamped."""

import http.server
import math
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from odoo.tests import BaseCase, tagged

from ..adapters.exceptions import (
    ChannelPayloadError,
    ChannelRedirectError,
    ChannelResponseTooLargeError,
    ChannelRetryableError,
    ChannelThrottledError,
)
from ..adapters.shopify import ShopifyAdapter, refill_seconds
from ..adapters.transport import MAX_RETRY_AFTER, ChannelTransport, parse_retry_after
from ..adapters.woocommerce import WooCommerceAdapter


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers by path; records what each request carried."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.seen.append((self.path, dict(self.headers)))
        if self.path.startswith("/wp-json/"):
            # A listing that claims a million pages.
            return self._answer(200, b"[]", X_WP_TotalPages="1000000")
        getattr(self, "_" + self.path.strip("/").split("/")[0])()

    do_POST = do_GET

    def _answer(self, status, body=b"{}", **headers):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _ok(self):
        self._answer(200, b'{"ok": true}')

    def _trickle(self):
        """40 bytes, one every 0.1 s: each read is quick, the whole is not."""
        self.send_response(200)
        self.send_header("Content-Length", "40")
        self.end_headers()
        for _byte in range(40):
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(0.1)

    def _slowheaders(self):
        """A header trickled one byte every 0.1 s for 4 s."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        for _byte in range(40):
            self.wfile.write(b"a")
            self.wfile.flush()
            time.sleep(0.1)
        self.wfile.write(b"\r\nContent-Length: 0\r\n\r\n")

    def _huge(self):
        """Declares no length and streams 4 MiB."""
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        for _chunk in range(64):
            self.wfile.write(b"x" * 65536)

    def _redirect(self):
        self._answer(302, Location=self.server.target + "/ok")

    def _throttle(self):
        self._answer(429, Retry_After=self.headers["X-Retry-After"])


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen = []
        self.target = ""
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def stop(self):
        self.shutdown()
        self.server_close()


@tagged("post_install", "-at_install")
class TestTransportLimits(BaseCase):
    def setUp(self):
        super().setUp()
        self.server = _Server()
        self.addCleanup(self.server.stop)

    def test_a_trickling_answer_ends_at_the_deadline(self):
        transport = ChannelTransport(timeout=5, deadline=1)
        start = time.monotonic()
        with self.assertRaisesRegex(ChannelRetryableError, "more than 1 seconds"):
            transport.request("GET", f"{self.server.url}/trickle")
        self.assertLess(time.monotonic() - start, 2.5)

    def test_trickling_headers_end_at_the_deadline(self):
        transport = ChannelTransport(timeout=5, deadline=1)
        start = time.monotonic()
        with self.assertRaisesRegex(ChannelRetryableError, "more than 1 seconds"):
            transport.request("GET", f"{self.server.url}/slowheaders")
        self.assertLess(time.monotonic() - start, 2.5)

    def test_a_quick_answer_is_read_whole(self):
        response = ChannelTransport(deadline=5).request("GET", f"{self.server.url}/ok")
        self.assertEqual(response.json(), {"ok": True})

    def test_an_answer_over_the_cap_is_dropped(self):
        transport = ChannelTransport(max_bytes=1024 * 1024)
        with self.assertRaisesRegex(ChannelResponseTooLargeError, "larger than"):
            transport.request("GET", f"{self.server.url}/huge")

    def test_a_redirect_is_not_followed_with_the_token(self):
        other = _Server()
        self.addCleanup(other.stop)
        self.server.target = other.url.replace("127.0.0.1", "localhost")
        adapter = ShopifyAdapter(
            {
                "base_url": f"{self.server.url}/redirect",
                "api_version": "2026-07",
                "access_token": "shpat_secret",
            }
        )
        with self.assertRaisesRegex(ChannelRedirectError, "never redirects"):
            adapter.graphql("{ shop { name } }")
        self.assertEqual(other.seen, [], "the token went to the other host")

    def test_odd_retry_after_values_give_a_bounded_wait(self):
        transport = ChannelTransport()
        expected = {
            "inf": MAX_RETRY_AFTER,
            "1e308": MAX_RETRY_AFTER,
            "9" * 400: MAX_RETRY_AFTER,
            "-5": 0.0,
            "NaN": None,
            "soon": None,
            "2.5": 2.5,
        }
        for value, wait in expected.items():
            with self.assertRaises(ChannelThrottledError) as caught:
                transport.request(
                    "GET",
                    f"{self.server.url}/throttle",
                    headers={"X-Retry-After": value},
                )
            self.assertEqual(caught.exception.retry_after, wait, value)

    def test_retry_after_as_an_http_date(self):
        now = datetime(2026, 1, 1, tzinfo=UTC)
        in_a_minute = format_datetime(now + timedelta(seconds=60), usegmt=True)
        self.assertEqual(parse_retry_after(in_a_minute, now=now), 60)
        next_year = format_datetime(now + timedelta(days=365), usegmt=True)
        self.assertEqual(parse_retry_after(next_year, now=now), MAX_RETRY_AFTER)

    def test_absurd_throttle_status_gives_a_bounded_refill(self):
        def cost(rate, requested=100, available=0):
            return {
                "requestedQueryCost": requested,
                "throttleStatus": {
                    "restoreRate": rate,
                    "currentlyAvailable": available,
                },
            }

        self.assertIsNone(refill_seconds(cost(0)))
        self.assertIsNone(refill_seconds(cost(-50)))
        self.assertIsNone(refill_seconds(cost(math.nan)))
        self.assertIsNone(refill_seconds(cost("fast")))
        self.assertEqual(refill_seconds(cost(1e-300)), MAX_RETRY_AFTER)
        self.assertEqual(refill_seconds(cost(50, requested=math.inf)), 0.1)
        self.assertAlmostEqual(refill_seconds(cost(50)), 2.1)

    def test_an_endless_subscription_listing_stops(self):
        adapter = WooCommerceAdapter(
            {"base_url": self.server.url, "consumer_key": "ck", "consumer_secret": "cs"}
        )
        with self.assertRaisesRegex(ChannelPayloadError, "more than 20 pages"):
            adapter.list_webhook_subscriptions()
        self.assertEqual(len(self.server.seen), 20)
