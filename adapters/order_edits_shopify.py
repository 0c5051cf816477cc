"""Shopify order edits: the `orders/edited` body lists the edit's line deltas.

`line_items.removals` / `additions` are `{id, delta}` of order line items (an
added product is a new line item); discount and shipping line changes are
reported as "other changes", which the connector does not apply itself.
"""

from .exceptions import ChannelPayloadError
from .orders_shopify import _ref
from .records import OrderEditData, quantity

ORDER_EDIT_TOPIC = "orders/edited"


def parse_order_edit(topic, payload):
    """The edit an `orders/edited` body carries, None for other topics."""
    if topic != ORDER_EDIT_TOPIC:
        return None
    edit = payload.get("order_edit") if isinstance(payload, dict) else None
    if not isinstance(edit, dict) or not _ref(edit.get("id")):
        raise ChannelPayloadError("The orders/edited body has no order_edit id.")
    if not _ref(edit.get("order_id")):
        raise ChannelPayloadError("The orders/edited body names no order.")
    lines = _dict(edit, "line_items")
    return OrderEditData(
        external_ref=_ref(edit["id"]),
        order_ref=_ref(edit["order_id"]),
        removals=_deltas(lines, "removals"),
        additions=_deltas(lines, "additions"),
        other_changes=tuple(
            name
            for name, block in (
                ("discounts", _dict(_dict(edit, "discounts"), "line_item")),
                ("shipping", _dict(edit, "shipping_lines")),
            )
            if block.get("additions") or block.get("removals")
        ),
    )


def edit_order_ref(payload):
    """The edited order's id (the webhook's resource)."""
    edit = payload.get("order_edit") if isinstance(payload, dict) else None
    return _ref((edit or {}).get("order_id")) if isinstance(edit, dict) else None


def _dict(block, key):
    value = block.get(key) or {}
    if not isinstance(value, dict):
        raise ChannelPayloadError(f"order_edit.{key} is not an object.")
    return value


def _deltas(lines, key):
    items = lines.get(key) or []
    if not isinstance(items, list):
        raise ChannelPayloadError(f"order_edit.line_items.{key} is not a list.")
    deltas = []
    for item in items:
        line_ref = _ref((item or {}).get("id"))
        if not line_ref:
            raise ChannelPayloadError(f"An order_edit {key} item names no line.")
        deltas.append((line_ref, quantity(item.get("delta"), f"{key}.delta")))
    return tuple(deltas)
