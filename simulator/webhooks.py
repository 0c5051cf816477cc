"""Signed webhook deliveries, sent the way each channel sends them.

Shopify: base64 HMAC-SHA256 of the body with the app secret, a new
X-Shopify-Webhook-Id per delivery and the same X-Shopify-Event-Id for one
merchant action; a delivery without a 2xx in time is retried with backoff
(8 times), the original body and headers resent. WooCommerce: base64
HMAC-SHA256 with the webhook's secret, no retries, the webhook disabled once
its failure count passed 5.
"""

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field

import requests

SHOPIFY_RETRIES = 8
WOO_MAX_FAILURES = 5


def sign(secret, body):
    return base64.b64encode(
        hmac.new(secret.encode(), body, hashlib.sha256).digest()
    ).decode()


def wp_json(payload):
    """PHP wp_json_encode's bytes: compact, slashes escaped, non-ASCII as \\uXXXX."""
    return json.dumps(payload, separators=(",", ":")).replace("/", "\\/").encode()


@dataclass
class Delivery:
    url: str
    headers: dict
    body: bytes
    statuses: list = field(default_factory=list)


class WebhookSender:
    """Sends deliveries synchronously; `retry_delay` scales Shopify's backoff."""

    def __init__(self, state, shopify_secret, timeout=5.0, retry_delay=0.0):
        self.state = state
        self.shopify_secret = shopify_secret
        self.timeout = timeout
        self.retry_delay = retry_delay
        self.deliveries = []

    def shopify(self, topic, payload, event_id=None, triggered_at=None):
        """Deliver `payload` to every subscription of `topic`; return deliveries."""
        body = json.dumps(payload).encode()
        event_id = event_id or str(uuid.UUID(int=self.state.random.getrandbits(128)))
        sent = []
        for subscription in list(self.state.shopify_webhooks.values()):
            if subscription["topic"].lower().replace("_", "/", 1) != topic:
                continue
            headers = {
                "Content-Type": "application/json",
                "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": sign(self.shopify_secret, body),
                "X-Shopify-Shop-Domain": self.state.shop_domain,
                "X-Shopify-API-Version": "2026-07",
                "X-Shopify-Webhook-Id": str(
                    uuid.UUID(int=self.state.random.getrandbits(128))
                ),
                "X-Shopify-Event-Id": event_id,
                "X-Shopify-Triggered-At": triggered_at
                or payload.get("updated_at")
                or "",
            }
            delivery = Delivery(subscription["uri"], headers, body)
            self._send_with_retries(delivery)
            sent.append(delivery)
        return sent

    def _send_with_retries(self, delivery):
        for attempt in range(SHOPIFY_RETRIES + 1):
            if self._post(delivery):
                return True
            time.sleep(self.retry_delay * (2**attempt))
        return False

    def _post(self, delivery):
        self.deliveries.append(delivery)
        if self.state.take_fault("webhook") == "drop":
            delivery.statuses.append("dropped")
            return True  # lost on the way: the channel believes it was delivered
        try:
            response = requests.post(
                delivery.url,
                data=delivery.body,
                headers=delivery.headers,
                timeout=self.timeout,
            )
        except requests.RequestException:
            delivery.statuses.append("timeout")
            return False
        delivery.statuses.append(response.status_code)
        return 200 <= response.status_code < 300

    def woocommerce(self, webhook, payload):
        """One delivery, no retry; the webhook is disabled after >5 failures."""
        body = wp_json(payload)
        resource, event = webhook["topic"].split(".", 1)
        headers = {
            "Content-Type": "application/json",
            "X-WC-Webhook-Source": "http://simulated-store.test/",
            "X-WC-Webhook-Topic": webhook["topic"],
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": sign(webhook["secret"], body),
            "X-WC-Webhook-ID": str(webhook["id"]),
            "X-WC-Webhook-Delivery-ID": hashlib.md5(
                f"{webhook['id']}{int(time.time())}".encode()
            ).hexdigest(),
        }
        delivery = Delivery(webhook["delivery_url"], headers, body)
        ok = self._post(delivery)
        webhook["failure_count"] = 0 if ok else webhook.get("failure_count", 0) + 1
        if webhook["failure_count"] > WOO_MAX_FAILURES:
            webhook["status"] = "disabled"
        return delivery

    def woocommerce_ping(self, webhook):
        """The unsigned form-encoded ping WooCommerce sends on creation."""
        delivery = Delivery(
            webhook["delivery_url"],
            {"Content-Type": "application/x-www-form-urlencoded"},
            f"webhook_id={webhook['id']}".encode(),
        )
        self._post(delivery)
        return delivery
