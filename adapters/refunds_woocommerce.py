"""WooCommerce refunds (`GET orders/<id>/refunds/<refund id>`) to ChannelRefund.

WooCommerce signs a refund from the order's side: quantities and totals are
negative. Line totals exclude tax; `_refunded_item_id` names the order line.
A refund states no restock (WooCommerce restocks when the merchant ticks a
box it does not keep), so the caller passes the backend's policy. What the
lines and shipping do not explain (an amount-only refund) is an adjustment.
"""

from dataclasses import replace

from .exceptions import ChannelPayloadError, malformed
from .records import (
    RESTOCK_NONE,
    RESTOCK_RETURN,
    ZERO,
    ChannelRefund,
    PaymentTransactionData,
    RefundAdjustmentData,
    RefundLineData,
    RefundShippingData,
    money,
    payload_digest,
    quantity,
)
from .webhooks import parse_timestamp


def parse_woocommerce_refund(payload, order, restock=True):
    """Canonical refund of one WooCommerce refund of `order` (its REST JSON,
    for the currency, tax mode and gateway); `restock` is the backend's policy.
    """
    if not isinstance(payload, dict) or payload.get("id") in (None, ""):
        raise ChannelPayloadError("The WooCommerce refund has no id.")
    if not isinstance(order, dict) or order.get("id") in (None, ""):
        raise ChannelPayloadError("The WooCommerce order of the refund has no id.")
    with malformed("WooCommerce refund", payload["id"]):
        return _refund(payload, order, restock)


def _refund(payload, order, restock):
    included = bool(order.get("prices_include_tax"))
    lines = tuple(
        _line(item, included, restock) for item in payload.get("line_items") or ()
    )
    shipping = tuple(
        _shipping(item, included) for item in payload.get("shipping_lines") or ()
    )
    total = money(payload.get("amount"), "refund.amount")
    refund = ChannelRefund(
        external_ref=str(payload["id"]),
        order_ref=str(order["id"]),
        provider="woocommerce",
        currency=order.get("currency"),
        total=total,
        taxes_included=included,
        created_at=parse_timestamp(payload.get("date_created_gmt")),
        note=payload.get("reason") or None,
        lines=lines,
        shipping_lines=shipping,
        transactions=_transactions(payload, order, total),
        source_payload_digest=payload_digest(payload),
    )
    rest = total - refund.computed_total()
    if not rest:
        return refund
    adjustment = RefundAdjustmentData(
        external_ref=None, reason=payload.get("reason") or None, amount=rest
    )
    return replace(refund, adjustments=(adjustment,))


def _refunded_item(item):
    for meta in item.get("meta_data") or ():
        if meta.get("key") == "_refunded_item_id":
            return str(meta.get("value"))
    raise ChannelPayloadError(f"Refund line {item.get('id')} names no order line.")


def _line(item, included, restock):
    net = -money(item.get("total"), "line_items[].total")
    tax = -money(item.get("total_tax"), "line_items[].total_tax")
    return RefundLineData(
        external_ref=str(item.get("id")),
        line_ref=_refunded_item(item),
        quantity=-quantity(item.get("quantity"), "line_items[].quantity"),
        subtotal=net + tax if included else net,
        tax=tax,
        restock_type=RESTOCK_RETURN if restock else RESTOCK_NONE,
    )


def _shipping(item, included):
    net = -money(item.get("total"), "shipping_lines[].total")
    tax = -money(item.get("total_tax"), "shipping_lines[].total_tax")
    return RefundShippingData(
        external_ref=str(item.get("id")),
        amount=net + tax if included else net,
        tax=tax,
    )


def _transactions(payload, order, total):
    """The money given back through the order's gateway, unless the merchant
    refunded by hand (`refunded_payment` false)."""
    if not payload.get("refunded_payment") or total <= ZERO:
        return ()
    return (
        PaymentTransactionData(
            external_ref=f"refund-{payload['id']}",
            gateway=order.get("payment_method") or None,
            kind="refund",
            status="success",
            amount=total,
            currency=order.get("currency"),
        ),
    )
