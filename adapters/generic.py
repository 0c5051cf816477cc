"""The `generic` channel: any system that pushes our documented JSON format.

It has no API of its own to call: its orders arrive as signed webhooks. The
signature covers the timestamp, event id and topic headers as well as the body
(`signed_message`), and a delivery older or newer than `TIMESTAMP_TOLERANCE`
is refused, so a captured delivery can neither be replayed later nor re-sent
under another topic or event id.
"""

from datetime import datetime, timedelta, timezone

from . import fulfilment_generic
from .base import ChannelAdapter
from .disputes_generic import DISPUTE_TOPICS, parse_generic_dispute
from .exceptions import ChannelAuthError, ChannelPayloadError, ChannelSignatureError
from .orders_generic import parse_generic_order
from .records import FulfilmentResult, RefundNotice
from .refunds_generic import parse_generic_refund
from .signatures import sign_hex
from .webhooks import (
    FLOW_ORDERS,
    WebhookDelivery,
    header,
    load_json_object,
    parse_timestamp,
    pick_headers,
    require_header,
)

GENERIC_TOPIC_FLOWS = {
    "orders/upsert": FLOW_ORDERS,
    "orders/cancel": FLOW_ORDERS,
    "orders/refund": FLOW_ORDERS,
    "orders/dispute": FLOW_ORDERS,
    fulfilment_generic.TOPIC_FULFILLED: FLOW_ORDERS,
}
GENERIC_KEPT_HEADERS = ("X-Channel-Topic", "X-Channel-Event-Id", "X-Channel-Timestamp")
SIGNATURE_PREFIX = "sha256="
# How far X-Channel-Timestamp may be from our clock (a replay window).
TIMESTAMP_TOLERANCE = timedelta(minutes=5)


def signed_message(timestamp, event_id, topic, body):
    """The bytes a generic sender signs: `<timestamp>.<event id>.<topic>.<body>`."""
    prefix = f"{timestamp}.{event_id}.{topic}.".encode()
    return prefix + body


def signed_headers(topic, event_id, body, secret, now=None):
    """Headers of a message we send in the generic format, signed as the ones
    we receive are (`signed_message`), stamped `now` (default: the clock)."""
    timestamp = (now or datetime.now(timezone.utc)).isoformat()
    message = signed_message(timestamp, event_id, topic, body)
    return {
        "Content-Type": "application/json",
        "X-Channel-Topic": topic,
        "X-Channel-Event-Id": event_id,
        "X-Channel-Timestamp": timestamp,
        "X-Channel-Signature": SIGNATURE_PREFIX + sign_hex(secret, message),
    }


class GenericAdapter(ChannelAdapter):
    """Checks configuration only; deliveries come in through the webhook."""

    code = "generic"
    topic_flows = GENERIC_TOPIC_FLOWS
    order_payload_topics = frozenset({"orders/upsert", "orders/cancel"})
    refund_payload_topics = frozenset({"orders/refund"})
    status_actions = {
        "pending": "wait",
        "quotation": "quotation",
        "paid": "confirm",
        "cancelled": "cancel",
    }

    def test_connection(self):
        """A generic channel is usable once it has a webhook signing secret."""
        if not self.config.get("webhook_secret"):
            raise ChannelAuthError("No webhook signing secret is configured.")
        return "Push-only channel: deliveries are verified with the signing secret."

    # Webhooks

    def expected_signature(self, headers, body, secret):
        message = signed_message(
            header(headers, "X-Channel-Timestamp") or "",
            header(headers, "X-Channel-Event-Id") or "",
            header(headers, "X-Channel-Topic") or "",
            body,
        )
        return SIGNATURE_PREFIX + sign_hex(secret, message)

    def received_signature(self, headers):
        return header(headers, "X-Channel-Signature")

    def verify_webhook(self, headers, body):
        """Override of `ChannelAdapter`: the signature, then a fresh timestamp."""
        super().verify_webhook(headers, body)
        now = datetime.now(timezone.utc)
        try:
            sent = parse_timestamp(header(headers, "X-Channel-Timestamp"))
        except ChannelPayloadError as exc:
            raise ChannelSignatureError(str(exc)) from exc
        if sent is None or abs(now - sent) > TIMESTAMP_TOLERANCE:
            raise ChannelSignatureError(
                "X-Channel-Timestamp is missing or more than "
                f"{TIMESTAMP_TOLERANCE} away from our clock."
            )

    def parse_webhook(self, headers, body):
        """Dedupe on X-Channel-Event-Id, which the sender keeps across retries."""
        topic = require_header(headers, "X-Channel-Topic")
        event_id = require_header(headers, "X-Channel-Event-Id")
        payload = load_json_object(body)
        resource_ref = payload.get("id")
        timestamp = header(headers, "X-Channel-Timestamp")
        return WebhookDelivery(
            topic=topic,
            dedupe_key=event_id,
            delivery_id=event_id,
            flow=self.topic_flow(topic),
            resource_ref=str(resource_ref) if resource_ref is not None else None,
            channel_timestamp=parse_timestamp(timestamp),
            headers=pick_headers(headers, GENERIC_KEPT_HEADERS),
            payload=payload,
        )

    def parse_order(self, payload):
        """Override of `ChannelAdapter`: see `orders_generic`."""
        return parse_generic_order(payload)

    def parse_refund_notice(self, topic, payload):
        """Override of `ChannelAdapter`: an `orders/refund` body names its
        refund and order."""
        if topic not in self.refund_payload_topics:
            return None
        refund = parse_generic_refund(payload)
        return RefundNotice(refund_ref=refund.external_ref, order_ref=refund.order_ref)

    def parse_refund(self, payload):
        """Override of `ChannelAdapter`: see `refunds_generic`."""
        return parse_generic_refund(payload)

    # Fulfilment: signed outbound messages (see `fulfilment_generic`)

    def push_fulfilment(self, request):
        """Override of `ChannelAdapter`: POST `fulfilment/shipped`; the
        shipment's id (the Odoo delivery) is the fulfilment reference."""
        fulfilment_generic.send(
            self,
            fulfilment_generic.TOPIC_SHIPPED,
            fulfilment_generic.shipped_body(request),
        )
        return FulfilmentResult(fulfilment_refs=(request.shipment_ref,))

    def update_fulfilment_tracking(self, fulfilment_ref, request):
        """Override of `ChannelAdapter`: the same shipment sent again with its
        new tracking (a new event id: its body changed)."""
        del fulfilment_ref
        fulfilment_generic.send(
            self,
            fulfilment_generic.TOPIC_SHIPPED,
            fulfilment_generic.shipped_body(request),
        )

    def parse_channel_fulfilment(self, topic, payload):
        """Override of `ChannelAdapter`: an `orders/fulfilled` body."""
        if topic != fulfilment_generic.TOPIC_FULFILLED:
            return None
        return fulfilment_generic.parse_channel_fulfilment(payload)

    def cancel_fulfilment(self, fulfilment_ref):
        """Override of `ChannelAdapter`: POST `fulfilment/cancelled`."""
        fulfilment_generic.send(
            self, fulfilment_generic.TOPIC_CANCELLED, {"id": fulfilment_ref}
        )

    dispute_topics = DISPUTE_TOPICS

    def parse_dispute(self, topic, payload):
        """Override of `ChannelAdapter`: an `orders/dispute` body is the
        whole dispute."""
        del topic
        return parse_generic_dispute(payload)
