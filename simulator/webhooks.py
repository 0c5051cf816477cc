"""Signed webhook deliveries, sent the way each channel sends them.

Shopify: body = compact JSON, `X-Shopify-Hmac-Sha256` = base64 HMAC-SHA256 of
the raw body with the app secret; a new `X-Shopify-Webhook-Id` per delivery
(kept by its retries), one `X-Shopify-Event-Id` per merchant action shared by
every topic and subscription it triggers. No 2xx within the timeout (5 s) ->
retried 8 times with exponential backoff, resending the original body and
headers; when the last retry fails the subscription is deleted.

WooCommerce: body = the resource as GET returns it, encoded like PHP
`wp_json_encode` and built when the delivery is sent (rapid changes collapse
into one delivery, as Action Scheduler does); `X-WC-Webhook-Signature` with
the webhook's own secret; no retries; success is HTTP 200-302; the failure
counter resets on success, and a failure that finds it already above 5
disables the webhook (WC_Webhook::failed_delivery). Creating an active
webhook sends an unsigned form-encoded `webhook_id=N` ping. Faults: a
duplicate is the same request sent twice; a delivery held out of order is
rendered when it is queued, so it arrives late with the older body.

Deliveries run on one background thread; `deliveries` records every attempt.
"""

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import requests

from .util import iso_z, seeded_uuid

API_VERSION = "2026-07"
SHOPIFY_RETRIES = 8
# Backoff before each retry (seconds): 1 min doubling -> 8 retries in ~4 h.
SHOPIFY_RETRY_DELAYS = tuple(60 * 2**n for n in range(SHOPIFY_RETRIES))
WOO_MAX_FAILURES = 5
WOO_USER_AGENT = "WooCommerce/9.9.0 Hookshot (WordPress/6.8.1)"
OUT_OF_ORDER_HOLD = 2.0
TOPIC_EXCEPTIONS = {
    "ORDERS_PARTIALLY_FULFILLED": "orders/partially_fulfilled",
    "APP_SCOPES_UPDATE": "app/scopes_update",
    "CUSTOMERS_DATA_REQUEST": "customers/data_request",
}


def sign(secret, body):
    """base64(HMAC-SHA256(secret, raw body)): both channels' signature."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def wp_json(payload):
    """PHP wp_json_encode's bytes: compact, `\\/` slashes, non-ASCII \\uXXXX."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode()


def shopify_json(payload):
    """Shopify bodies: compact UTF-8 JSON."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def rest_topic(enum_value):
    """WebhookSubscriptionTopic enum -> REST topic: ORDERS_CREATE -> orders/create."""
    if enum_value in TOPIC_EXCEPTIONS:
        return TOPIC_EXCEPTIONS[enum_value]
    head, _sep, action = enum_value.lower().rpartition("_")
    return f"{head}/{action}"


@dataclass
class Delivery:
    """One attempt to deliver one webhook (what the receiver saw, and said)."""

    channel: str
    topic: str
    url: str
    headers: dict
    body: bytes
    attempt: int = 1
    status: object = None  # HTTP status, "timeout", "error" or "dropped"
    at: float = 0.0
    subscription: str = ""
    error: str = ""


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    work: dict = field(compare=False)


class WebhookSender:
    """Queues deliveries and sends them from a daemon thread."""

    def __init__(self, state, shopify_secret, timeout=5.0, woo_timeout=60.0):
        self.state = state
        self.shopify_secret = shopify_secret
        self.timeout = timeout
        self.woo_timeout = woo_timeout
        self.retry_time_scale = 1.0
        self.source_url = "http://127.0.0.1/"
        self.render_woo = None  # (resource, id) -> payload, set by the server
        self.deliveries = []
        self._heap = []
        self._seq = itertools.count()
        self._held = {}
        self._busy = 0
        self._paused = 0
        self._cond = threading.Condition()
        self._thread = None
        self._stopping = False
        self._session = requests.Session()

    # === LIFECYCLE ===

    def start(self):
        self._stopping = False
        self._thread = threading.Thread(
            target=self._loop, name="webhook-sender", daemon=True
        )
        self._thread.start()

    def stop(self):
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread:
            self._thread.join(10)
            self._thread = None
        self._session.close()

    # === SHOPIFY ===

    def shopify_event(self, items, triggered_at=None):
        """One merchant action: [(topic, payload)] to every subscription.

        Returns the X-Shopify-Event-Id shared by all its deliveries.
        """
        state = self.state
        with state.lock:
            event_id = seeded_uuid(state.random)
            stamp = iso_z(triggered_at or state.wall_clock()).replace("Z", ".000000Z")
            subscriptions = list(state.shopify_webhooks.values())
        for topic, payload in items:
            body = shopify_json(payload)
            for subscription in subscriptions:
                if rest_topic(subscription["topic"]) == topic:
                    self._queue_shopify(subscription, topic, body, event_id, stamp)
        return event_id

    def _queue_shopify(self, subscription, topic, body, event_id, stamp):
        fault = self.state.take_fault("shopify_webhooks")
        kind = fault["kind"] if fault else None
        copies = 2 if kind == "duplicate" else 1
        for _copy in range(copies):
            headers = self._shopify_headers(topic, body, event_id, stamp, subscription)
            work = {
                "channel": "shopify",
                "topic": topic,
                "url": subscription["uri"],
                "headers": headers,
                "body": body,
                "attempt": 1,
                "subscription": subscription["id"],
            }
            self._enqueue(work, fault_kind=kind)

    def _shopify_headers(self, topic, body, event_id, stamp, subscription):
        state = self.state
        with state.lock:
            webhook_id = seeded_uuid(state.random)
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign(self.shopify_secret, body),
            "X-Shopify-Shop-Domain": state.shop_domain,
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Event-Id": event_id,
            "X-Shopify-Triggered-At": stamp,
        }
        if subscription.get("name"):
            headers["X-Shopify-Name"] = subscription["name"]
        return headers

    # === WOOCOMMERCE ===

    def woo_event(self, topic, resource_id):
        """Queue `topic` (e.g. order.updated) for every active webhook on it."""
        state = self.state
        with state.lock:
            hooks = [
                h
                for h in state.woo_webhooks.values()
                if h["status"] == "active" and h["topic"] == topic
            ]
        for hook in hooks:
            work = {
                "channel": "woocommerce",
                "topic": topic,
                "url": hook["delivery_url"],
                "webhook": hook["id"],
                "resource_id": resource_id,
                "attempt": 1,
                "subscription": str(hook["id"]),
                "copies": 1,
            }
            fault = state.take_fault("woocommerce_webhooks")
            kind = fault["kind"] if fault else None
            if kind == "duplicate":
                work["copies"] = 2
            elif kind == "out_of_order":
                # Held back, it must carry the resource as it is now, or the
                # late delivery would not be an older one.
                work["delivery"] = self._woo_delivery(work)
                if work["delivery"] is None:
                    continue
            self._enqueue(work, fault_kind=kind)

    def woo_ping(self, hook):
        """The ping WooCommerce sends when a webhook is created (synchronous)."""
        delivery = Delivery(
            channel="woocommerce",
            topic="ping",
            url=hook["delivery_url"],
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": WOO_USER_AGENT,
            },
            body=f"webhook_id={hook['id']}".encode(),
            subscription=str(hook["id"]),
        )
        self._post(delivery, self.woo_timeout, requests)
        return delivery

    def _woo_delivery(self, work):
        state = self.state
        with state.lock:
            hook = state.woo_webhooks.get(work["webhook"])
            if hook is None or hook["status"] != "active":
                return None
            resource, event = work["topic"].split(".", 1)
            payload = self.render_woo(resource, work["resource_id"], event)
            wall = state.wall_clock()
        body = wp_json(payload)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": WOO_USER_AGENT,
            "X-WC-Webhook-Source": self.source_url,
            "X-WC-Webhook-Topic": work["topic"],
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": sign(hook["secret"], body),
            "X-WC-Webhook-ID": str(hook["id"]),
            "X-WC-Webhook-Delivery-ID": hmac.new(
                b"sim-wp-salt",
                f"{hook['id']}{int(wall.timestamp())}".encode(),
                hashlib.md5,
            ).hexdigest(),
        }
        return Delivery(
            "woocommerce",
            work["topic"],
            hook["delivery_url"],
            headers,
            body,
            subscription=str(hook["id"]),
        )

    def _woo_outcome(self, work, delivery):
        """WC_Webhook::log_delivery / failed_delivery."""
        state = self.state
        ok = isinstance(delivery.status, int) and 200 <= delivery.status <= 302
        with state.lock:
            hook = state.woo_webhooks.get(work["webhook"])
            if hook is None:
                return
            if ok:
                hook["failure_count"] = 0
            elif hook["failure_count"] > WOO_MAX_FAILURES:
                hook["status"] = "disabled"
            else:
                hook["failure_count"] += 1

    # === QUEUE ===

    def _enqueue(self, work, fault_kind=None, delay=0.0):
        now = time.monotonic()
        with self._cond:
            if fault_kind == "drop":
                self._record_dropped(work)
                return
            if work["channel"] == "woocommerce" and "delivery" not in work:
                twin = self._pending_twin(work)
                if twin is not None:
                    if fault_kind == "duplicate":
                        twin["copies"] = 2
                    return
            held = self._held.pop(work["subscription"], None)
            if fault_kind == "out_of_order":
                self._held[work["subscription"]] = work
                self._push(now + OUT_OF_ORDER_HOLD, work)
                return
            self._push(now + delay, work)
            if held:
                self._reschedule(held, now + delay + 0.001)
            self._cond.notify_all()

    def _push(self, due, work):
        heapq.heappush(self._heap, _Job(due, next(self._seq), work))

    def _reschedule(self, work, due):
        self._heap = [job for job in self._heap if job.work is not work]
        heapq.heapify(self._heap)
        self._push(due, work)

    def _pending_twin(self, work):
        """WooCommerce does not queue a delivery already waiting to be sent;
        a delivery held back with its body already rendered is not a twin."""
        return next(
            (
                job.work
                for job in self._heap
                if "delivery" not in job.work
                and job.work.get("webhook") == work["webhook"]
                and job.work.get("resource_id") == work["resource_id"]
                and job.work["topic"] == work["topic"]
            ),
            None,
        )

    def _record_dropped(self, work):
        delivery = Delivery(
            work["channel"],
            work["topic"],
            work["url"],
            work.get("headers", {}),
            work.get("body", b""),
            status="dropped",
            at=time.monotonic(),
            subscription=work["subscription"],
        )
        self.deliveries.append(delivery)
        self._cond.notify_all()

    def _loop(self):
        while True:
            with self._cond:
                job = self._next_job()
                if job is None:
                    return
                self._busy += 1
            try:
                self._process(job.work)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _next_job(self):
        while not self._stopping:
            if self._paused:
                self._cond.wait()
                continue
            if self._heap and self._heap[0].due <= time.monotonic():
                job = heapq.heappop(self._heap)
                if self._held.get(job.work["subscription"]) is job.work:
                    del self._held[job.work["subscription"]]
                return job
            wait = self._heap[0].due - time.monotonic() if self._heap else None
            self._cond.wait(wait)
        return None

    def _process(self, work):
        if work["channel"] == "woocommerce":
            self._process_woo(work)
            return
        delivery = Delivery(
            "shopify",
            work["topic"],
            work["url"],
            dict(work["headers"]),
            work["body"],
            attempt=work["attempt"],
            subscription=work["subscription"],
        )
        self._post(delivery, self.timeout)
        if not (isinstance(delivery.status, int) and 200 <= delivery.status < 300):
            self._retry_or_remove(work)

    def _process_woo(self, work):
        """Send (a rendered-in-advance or fresh) delivery, `copies` times: a
        duplicate is the very same request, headers included."""
        if "delivery" in work and not self._woo_active(work):
            return
        delivery = work.get("delivery") or self._woo_delivery(work)
        if delivery is None:
            return
        for _copy in range(work.get("copies", 1)):
            sent = replace(delivery, headers=dict(delivery.headers))
            self._post(sent, self.woo_timeout)
            self._woo_outcome(work, sent)

    def _woo_active(self, work):
        with self.state.lock:
            hook = self.state.woo_webhooks.get(work["webhook"])
            return hook is not None and hook["status"] == "active"

    def _retry_or_remove(self, work):
        if work["attempt"] > SHOPIFY_RETRIES:
            with self.state.lock:
                self.state.shopify_webhooks.pop(work["subscription"], None)
            return
        delay = SHOPIFY_RETRY_DELAYS[work["attempt"] - 1] * self.retry_time_scale
        retry = {**work, "attempt": work["attempt"] + 1}
        with self._cond:
            self._push(time.monotonic() + delay, retry)
            self._cond.notify_all()

    def _post(self, delivery, timeout, client=None):
        """POST and record; the ping runs on a request thread, so it does not
        share the sender thread's session."""
        delivery.at = time.monotonic()
        try:
            response = (client or self._session).post(
                delivery.url,
                data=delivery.body,
                headers=delivery.headers,
                # One figure, the channel's deadline: Odoo's test guard on
                # requests compares the timeout with a number.
                timeout=timeout,
                allow_redirects=False,
            )
            delivery.status = response.status_code
        except requests.Timeout as error:
            delivery.status, delivery.error = "timeout", str(error)
        except requests.RequestException as error:
            delivery.status, delivery.error = "error", str(error)
        with self._cond:
            self.deliveries.append(delivery)
            self._cond.notify_all()

    # === WAITING (tests) ===

    def wait_for_deliveries(self, count, timeout=10.0):
        """Block until `count` delivery attempts are recorded; returns them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.deliveries) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(self.deliveries)} of {count} deliveries after {timeout}s"
                    )
                self._cond.wait(left)
            return list(self.deliveries)

    @contextmanager
    def paused(self):
        """Queue deliveries without sending them until the block ends: a test
        whose own code calls the channel keeps its cursor to itself meanwhile
        (the channel's answer makes webhooks at once)."""
        with self._cond:
            self._paused += 1
        try:
            yield
        finally:
            with self._cond:
                self._paused -= 1
                self._cond.notify_all()

    def wait_idle(self, timeout=10.0):
        """Block until nothing is queued, held or being sent."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"webhook queue still busy after {timeout}s")
                self._cond.wait(left)
