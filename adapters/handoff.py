"""Warehouse partner (3PL) messages (schemas/threepl_*.schema.json), ORM-free.

Outbound, a fulfilment request names one Odoo delivery: the order, where to
ship, the lines by SKU and quantity, the carrier service. Inbound, the
partner confirms shipments (the lines shipped of one request, tracking,
carrier, ship date) and reports stock snapshots (its quantity per SKU).
Quantities are whole units; a parser raises ChannelPayloadError naming the
first missing or invalid field.
"""

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime

from .exceptions import ChannelPayloadError
from .webhooks import parse_timestamp, shorten

# The flow of a warehouse partner's deliveries (`channel.event` routes it).
FLOW_HANDOFF = "handoff"
TOPIC_SHIPMENT = "shipments/confirmed"
TOPIC_STOCK_SNAPSHOT = "stock/snapshot"
TOPIC_REQUEST = "fulfilment/request"
TOPIC_CANCEL = "fulfilment/cancel"
# The partner's answers to a cancel request (threepl_cancel schema).
CANCELLED = "cancelled"
TOO_LATE = "too_late"


@dataclass(frozen=True)
class ShipTo:
    """The delivery address of a request (empty strings when unknown)."""

    name: str
    street: str = ""
    street2: str = ""
    city: str = ""
    zip: str = ""
    state: str = ""
    country: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class SkuQuantity:
    sku: str
    quantity: int


@dataclass(frozen=True)
class HandoffRequest:
    """One delivery handed to the partner; `request_ref` is its idempotency key."""

    request_ref: str
    order_ref: str
    ship_to: ShipTo
    lines: tuple[SkuQuantity, ...]
    carrier_service: str | None = None

    def to_json(self):
        """The request body as compact UTF-8 JSON bytes (what is signed)."""
        payload = {
            "request_id": self.request_ref,
            "order_ref": self.order_ref,
            "ship_to": asdict(self.ship_to),
            "lines": [asdict(line) for line in self.lines],
            "carrier_service": self.carrier_service,
        }
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class ShipmentConfirmation:
    """The partner shipped `lines` of request `request_ref`."""

    shipment_ref: str
    request_ref: str
    lines: tuple[SkuQuantity, ...]
    tracking_number: str | None = None
    carrier: str | None = None
    shipped_at: datetime | None = None

    def to_payload(self):
        """The confirmation as a `shipments/confirmed` body (a pulled one
        is kept in the inbox as if it had been delivered)."""
        return {
            "shipment_id": self.shipment_ref,
            "request_id": self.request_ref,
            "lines": [asdict(line) for line in self.lines],
            "tracking_number": self.tracking_number,
            "carrier": self.carrier,
            "shipped_at": self.shipped_at.isoformat() if self.shipped_at else None,
        }


@dataclass(frozen=True)
class StockSnapshot:
    """What the partner holds, per SKU, at `taken_at`."""

    snapshot_ref: str
    quantities: tuple[SkuQuantity, ...] = field(default_factory=tuple)
    taken_at: datetime | None = None


def parse_shipment(payload):
    """A `ShipmentConfirmation` from a `shipments/confirmed` body."""
    _require_object(payload, "shipment")
    lines = _lines(payload, "lines", minimum=1)
    if not lines:
        raise ChannelPayloadError("The shipment has no lines.")
    return ShipmentConfirmation(
        shipment_ref=_text(payload, "shipment_id", "shipment"),
        request_ref=_text(payload, "request_id", "shipment"),
        lines=lines,
        tracking_number=_optional_text(payload, "tracking_number"),
        carrier=_optional_text(payload, "carrier"),
        shipped_at=parse_timestamp(_optional_text(payload, "shipped_at")),
    )


def parse_stock_snapshot(payload):
    """A `StockSnapshot` from a `stock/snapshot` body."""
    _require_object(payload, "stock snapshot")
    return StockSnapshot(
        snapshot_ref=_text(payload, "snapshot_id", "stock snapshot"),
        quantities=_lines(payload, "quantities", minimum=0),
        taken_at=parse_timestamp(_optional_text(payload, "taken_at")),
    )


def parse_shipment_page(payload):
    """([ShipmentConfirmation], next cursor or None) of a GET /shipments page."""
    _require_object(payload, "shipment list")
    shipments = payload.get("shipments")
    if not isinstance(shipments, list):
        raise ChannelPayloadError("The shipment list has no `shipments` array.")
    cursor = payload.get("next_cursor")
    return [parse_shipment(item) for item in shipments], (
        str(cursor) if cursor else None
    )


def _require_object(payload, what):
    if not isinstance(payload, dict):
        raise ChannelPayloadError(f"The {what} is not a JSON object.")


def _text(payload, key, what):
    value = payload.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ChannelPayloadError(f"The {what} has no `{key}` text.")
    return value.strip()


def _optional_text(payload, key):
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ChannelPayloadError(f"`{key}` is not text: {shorten(value)}")
    return value.strip() or None


def _lines(payload, key, minimum):
    """The (sku, quantity) items of `payload[key]`; one SKU once (summed)."""
    items = payload.get(key)
    if not isinstance(items, list):
        raise ChannelPayloadError(f"`{key}` is not an array.")
    totals = {}
    for item in items:
        if not isinstance(item, dict):
            raise ChannelPayloadError(f"An item of `{key}` is not an object.")
        sku = _text(item, "sku", f"item of `{key}`")
        quantity = item.get("quantity")
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or quantity < minimum
        ):
            raise ChannelPayloadError(
                f"The quantity of {shorten(sku)} in `{key}` is not a whole "
                f"number of at least {minimum}: {shorten(quantity)}"
            )
        totals[sku] = totals.get(sku, 0) + quantity
    return tuple(SkuQuantity(sku, quantity) for sku, quantity in totals.items())


def parse_cancel_answer(payload):
    """CANCELLED or TOO_LATE from the partner's answer to a cancel request."""
    _require_object(payload, "cancel answer")
    status = payload.get("status")
    if status not in (CANCELLED, TOO_LATE):
        raise ChannelPayloadError(
            f"The partner's cancel answer has no known `status`: {shorten(status)}"
        )
    return status
