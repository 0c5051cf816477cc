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

# Longest topic, id or key a delivery may carry (characters): they are indexed
# columns, and PostgreSQL refuses index entries over ~2.7 kB.
MAX_TOPIC_LENGTH = 128
MAX_REF_LENGTH = 255
MAX_KEY_LENGTH = 700


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

    def __post_init__(self):
        """Refuse what cannot be stored as it is: overlong or control-character
        topics and ids, NUL in a kept header (ChannelPayloadError, a 400)."""
        bounds = (
            ("topic", self.topic, MAX_TOPIC_LENGTH),
            ("delivery id", self.delivery_id, MAX_REF_LENGTH),
            ("resource id", self.resource_ref, MAX_REF_LENGTH),
            ("deduplication key", self.dedupe_key, MAX_KEY_LENGTH),
        )
        for name, value, limit in bounds:
            check_text(name, value, limit)
        for name, value in self.headers.items():
            if "\x00" in str(value):
                raise ChannelPayloadError(f"The {name} header holds a NUL character.")


# Kinds of privacy request a channel makes of the data we hold.
PRIVACY_SHOP_REDACT = "shop_redact"
PRIVACY_CUSTOMER_REDACT = "customer_redact"
PRIVACY_DATA_REQUEST = "data_request"


@dataclass(frozen=True)
class PrivacyRequest:
    """A channel's request to erase (`*_redact`) or report (`data_request`)
    what we hold on a shop or a customer and the orders named."""

    kind: str
    customer_ref: str | None = None
    order_refs: tuple[str, ...] = ()
    email: str | None = None


def check_text(name, value, limit):
    """Raise ChannelPayloadError unless `value` is None or printable text of at
    most `limit` characters."""
    if value is None:
        return
    if len(value) > limit:
        raise ChannelPayloadError(
            f"The {name} is {len(value)} characters long (at most {limit})."
        )
    if not value.isprintable():
        raise ChannelPayloadError(
            f"The {name} {shorten(value)} holds control characters."
        )


def shorten(value, limit=60):
    """`value` quoted for a message, cut to `limit` characters."""
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "...")


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
    except RecursionError as exc:
        raise ChannelPayloadError("The body is JSON nested too deeply.") from exc
    if not isinstance(payload, dict):
        raise ChannelPayloadError("The body is JSON but not an object.")
    return payload


def parse_timestamp(value):
    """ISO-8601 text (with Z, an offset, or none meaning UTC) to aware UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError) as exc:
        raise ChannelPayloadError(f"Unreadable timestamp {shorten(value)}") from exc
