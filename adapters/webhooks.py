"""What the adapters extract from a webhook delivery, provider-independently."""

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .exceptions import ChannelPayloadError

# Flows a topic can belong to; the ORM routes each to its job channel.
FLOW_ORDERS = "orders"
FLOW_STOCK = "stock"
FLOW_CATALOG = "catalog"
FLOW_PRIVACY = "privacy"
FLOW_APP = "app"


@dataclass(frozen=True)
class WebhookDelivery:
    """One verified delivery: what to store, how to dedupe it, where it goes.

    `dedupe_key` is the provider's idempotency key (see each adapter);
    `flow` is None for a topic we do not handle (stored as ignored).
    """

    topic: str
    dedupe_key: str
    delivery_id: str
    flow: str | None
    resource_ref: str | None = None
    channel_timestamp: datetime | None = None
    headers: dict = field(default_factory=dict)
    payload: dict | None = None


def header(headers, name):
    """Case-insensitive header lookup (HTTP/2 lower-cases names)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def require_header(headers, name):
    value = header(headers, name)
    if not value:
        raise ChannelPayloadError(f"The delivery has no {name} header.")
    return value


def pick_headers(headers, names):
    """The headers worth keeping with the event (never a signature or a key)."""
    return {name: header(headers, name) for name in names if header(headers, name)}


def load_json_object(body):
    """Decode a JSON object body or raise ChannelPayloadError saying why."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ChannelPayloadError(f"The body is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise ChannelPayloadError("The body is JSON but not an object.")
    return payload


def parse_timestamp(value):
    """ISO-8601 text (with Z, an offset, or none meaning UTC) to aware UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ChannelPayloadError(f"Unreadable timestamp {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
