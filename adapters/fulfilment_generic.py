"""Generic fulfilment: a delivery is a signed POST of `fulfilment/shipped`
(or `fulfilment/cancelled`) to the backend's fulfilment URL, signed like the
deliveries we receive (`generic.signed_message`), body as documented in
`schemas/generic_fulfilment.schema.json`.

The event id names the shipment and what is said of it (a digest of the
body), so a retry of the same message keeps its id and the receiver dedupes
it, while a tracking update is a new event about the same shipment.
"""

import hashlib
import json

from .exceptions import ChannelAuthError, ChannelPayloadError
from .records import ChannelShipment, FulfilmentLine
from .webhooks import shorten

TOPIC_SHIPPED = "fulfilment/shipped"
TOPIC_CANCELLED = "fulfilment/cancelled"
# Inbound: an order shipped outside Odoo (generic_channel_fulfilment schema).
TOPIC_FULFILLED = "orders/fulfilled"


def shipped_body(request):
    """The `fulfilment/shipped` document of a `FulfilmentRequest`."""
    return {
        "id": request.shipment_ref,
        "order_id": request.order_ref,
        "lines": [
            {"line_id": line.line_ref, "quantity": line.quantity}
            for line in request.lines
        ],
        "tracking": {
            "number": request.tracking_number,
            "company": request.tracking_company,
            "url": request.tracking_url,
        },
        "notify_customer": bool(request.notify_customer),
        "order_fully_shipped": bool(request.order_fully_shipped),
    }


def signed_request(topic, document, secret, now=None):
    """(headers, body bytes) of one outbound message."""
    from .generic import signed_headers

    if not secret:
        raise ChannelAuthError("No webhook signing secret is configured.")
    body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(topic.encode() + b"." + body).hexdigest()[:16]
    event_id = f"fulfilment-{document['id']}-{digest}"
    return signed_headers(topic, event_id, body, secret, now), body


def send(adapter, topic, document):
    """POST one signed message to the backend's fulfilment URL."""
    url = adapter.config.get("fulfilment_url")
    if not url:
        raise ChannelPayloadError(
            "The backend has no fulfilment URL to report shipments to."
        )
    headers, body = signed_request(
        topic, document, adapter.config.get("webhook_secret")
    )
    adapter.call_with_backoff(
        adapter.transport.request, "POST", url, data=body, headers=headers
    )
    return headers["X-Channel-Event-Id"]


def parse_channel_fulfilment(payload):
    """The `ChannelShipment` of an `orders/fulfilled` body; ChannelPayloadError
    naming the first missing or invalid field."""
    if not isinstance(payload, dict):
        raise ChannelPayloadError("The orders/fulfilled body is not an object.")
    refs = {}
    for key in ("id", "order_id"):
        value = payload.get(key)
        if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
            raise ChannelPayloadError(f"The orders/fulfilled body has no `{key}`.")
        refs[key] = str(value)
    items = payload.get("lines")
    if not isinstance(items, list) or not items:
        raise ChannelPayloadError("The orders/fulfilled body has no `lines`.")
    lines = {}
    for item in items:
        if not isinstance(item, dict) or not item.get("line_id"):
            raise ChannelPayloadError("A line of orders/fulfilled has no `line_id`.")
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ChannelPayloadError(
                f"The quantity of line {shorten(item['line_id'])} is not a whole "
                f"number of at least 1: {shorten(quantity)}"
            )
        ref = str(item["line_id"])
        lines[ref] = lines.get(ref, 0) + quantity
    tracking = payload.get("tracking") or {}
    if not isinstance(tracking, dict):
        raise ChannelPayloadError("`tracking` is not an object.")
    return ChannelShipment(
        fulfilment_ref=refs["id"],
        order_ref=refs["order_id"],
        lines=tuple(FulfilmentLine(ref, qty) for ref, qty in lines.items()),
        tracking_number=_text(tracking, "number"),
        tracking_company=_text(tracking, "company"),
        tracking_url=_text(tracking, "url"),
        cancelled=payload.get("cancelled") is True,
    )


def _text(tracking, key):
    value = tracking.get(key)
    if value is not None and not isinstance(value, str):
        raise ChannelPayloadError(f"`tracking.{key}` is not text: {shorten(value)}")
    return (value or "").strip() or None
