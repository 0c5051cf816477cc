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
from datetime import UTC, datetime

from .exceptions import ChannelAuthError, ChannelPayloadError
from .signatures import sign_hex

TOPIC_SHIPPED = "fulfilment/shipped"
TOPIC_CANCELLED = "fulfilment/cancelled"


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
    from .generic import SIGNATURE_PREFIX, signed_message

    if not secret:
        raise ChannelAuthError("No webhook signing secret is configured.")
    body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(topic.encode() + b"." + body).hexdigest()[:16]
    event_id = f"fulfilment-{document['id']}-{digest}"
    timestamp = (now or datetime.now(UTC)).isoformat()
    message = signed_message(timestamp, event_id, topic, body)
    return {
        "Content-Type": "application/json",
        "X-Channel-Topic": topic,
        "X-Channel-Event-Id": event_id,
        "X-Channel-Timestamp": timestamp,
        "X-Channel-Signature": SIGNATURE_PREFIX + sign_hex(secret, message),
    }, body


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
