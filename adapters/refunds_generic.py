"""The generic JSON refund format (schemas/generic_refund.schema.json).

A generic sender pushes a whole refund under the `orders/refund` topic: which
order, the refunded lines (by the order line's `id`), shipping, adjustments
and the refund transactions. Amounts are decimal strings in the order's
currency; a line's `subtotal` is after its discounts, tax-included when the
refund's `taxes_included` is. Checked field by field, like the order.
"""

from . import generic_fields as checks
from .exceptions import ChannelPayloadError
from .records import (
    RESTOCK_NONE,
    RESTOCK_RETURN,
    ChannelRefund,
    RefundAdjustmentData,
    RefundLineData,
    RefundShippingData,
    payload_digest,
    quantity,
)

REQUIRED_REFUND_FIELDS = ("id", "order_id", "amount")
REFUND_FIELD_TYPES = {
    "id": str,
    "order_id": str,
    "currency": str,
    "taxes_included": bool,
    "note": str,
    "lines": list,
    "shipping": list,
    "adjustments": list,
    "transactions": list,
}


def parse_generic_refund(payload):
    """Canonical refund from a generic `orders/refund` payload.

    Raise ChannelPayloadError naming the first missing or invalid field.
    """
    if not isinstance(payload, dict):
        raise ChannelPayloadError("The generic refund is not a JSON object.")
    checks.require(payload, REQUIRED_REFUND_FIELDS, "refund")
    checks.check_types(payload, REFUND_FIELD_TYPES, "refund")
    included = bool(payload.get("taxes_included"))
    refund = ChannelRefund(
        external_ref=payload["id"],
        order_ref=payload["order_id"],
        provider="generic",
        currency=(payload.get("currency") or "").upper() or None,
        total=checks.amount(payload, "amount", "refund"),
        taxes_included=included,
        created_at=checks.timestamp(payload, "created_at", "refund"),
        note=payload.get("note"),
        lines=checks.items(payload, "lines", _line, included),
        shipping_lines=checks.items(payload, "shipping", _shipping, included),
        adjustments=checks.items(payload, "adjustments", _adjustment, included),
        transactions=checks.items(payload, "transactions", _transaction, included),
        source_payload_digest=payload_digest(payload),
    )
    if not (refund.lines or refund.shipping_lines or refund.adjustments):
        raise ChannelPayloadError(
            "refund needs lines, shipping or adjustments: it refunds nothing."
        )
    return refund


def _line(line, where, _included):
    checks.require(line, ("quantity",), where)
    checks.check_types(
        line, {"line_id": str, "sku": str, "quantity": str, "restock": bool}, where
    )
    if not (line.get("line_id") or line.get("sku")):
        raise ChannelPayloadError(f"{where} needs line_id or sku.")
    return RefundLineData(
        external_ref=line.get("id"),
        line_ref=line.get("line_id") or None,
        sku=line.get("sku") or None,
        quantity=quantity(line["quantity"], f"{where}.quantity"),
        subtotal=checks.amount(line, "subtotal", where),
        tax=checks.amount(line, "tax", where),
        restock_type=RESTOCK_RETURN if line.get("restock") else RESTOCK_NONE,
    )


def _shipping(item, where, _included):
    checks.require(item, ("amount",), where)
    return RefundShippingData(
        external_ref=item.get("id"),
        amount=checks.amount(item, "amount", where),
        tax=checks.amount(item, "tax", where),
    )


def _adjustment(item, where, _included):
    checks.require(item, ("amount",), where)
    return RefundAdjustmentData(
        external_ref=item.get("id"),
        reason=item.get("reason"),
        amount=checks.amount(item, "amount", where),
    )


def _transaction(item, where, _included):
    return checks.transaction(item, where, "refund")
