"""Amazon refunds from the Refund rows of settlement reports (flat file V2)
to ChannelRefund.

A refund is the rows of one `adjustment-id` of one order: `ItemPrice`
Principal and Shipping (negative: given back), their `Tax`/`ShippingTax`,
`Promotion` rows (positive: the promotion no longer granted) and, when
Amazon collected the tax as marketplace facilitator, `ItemWithheldTax`
rows that cancel that tax. Fees (`ItemFees`...) are Amazon's, not the
buyer's: they stay on the settlement line. The buyer's money back less the
withheld tax is the refund's total, what the settlement's refund line
nets and what the seller's credit note equals (the order import leaves the
facilitator tax out of the invoice likewise, see `orders_amazon`).

The report names the refunded SKU and, usually, `quantity-purchased`; a
Principal row without a quantity refunds no known units: it is an
adjustment (amount-only refund), never a guessed quantity. Amazon states no
return: the backend's restock policy decides (`refund_restock`, off by
default).
"""

import csv
import io
from decimal import Decimal

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
)
from .webhooks import FLOW_ORDERS, WebhookDelivery

PROVIDER = "amazon"
GATEWAY = "amazon"
REFUND_TOPIC = "settlement/refund"
FEE_AMOUNT_TYPES = frozenset({"itemfees", "shipmentfees", "orderfees"})
SHIPPING_WORDS = ("shipping",)
TAX_WORDS = ("tax",)
# The report's columns a refund keeps (its stored delivery).
ROW_COLUMNS = (
    "sku",
    "quantity-purchased",
    "amount-type",
    "amount-description",
    "amount",
    "posted-date-time",
)


def refund_deliveries(text, payout):
    """The refunds of a settlement flat file (`payout`: its PayoutData), one
    delivery each (topic `settlement/refund`, deduplicated by adjustment
    id)."""
    rows = csv.DictReader(io.StringIO(text), delimiter="\t", restval="")
    currency, settlement_ref = payout.currency, payout.external_ref
    grouped = {}
    for row in rows:
        if (row.get("transaction-type") or "").strip().lower() != "refund":
            continue
        if not row["order-id"] or not (row.get("adjustment-id") or "").strip():
            raise ChannelPayloadError(
                f"Settlement {settlement_ref}: a refund row has no order-id "
                "or adjustment-id."
            )
        key = (row["order-id"], row["adjustment-id"].strip())
        grouped.setdefault(key, []).append({c: row.get(c) or "" for c in ROW_COLUMNS})
    return [
        WebhookDelivery(
            topic=REFUND_TOPIC,
            dedupe_key=f"refund:{adjustment}",
            delivery_id=f"{settlement_ref}:{adjustment}",
            flow=FLOW_ORDERS,
            resource_ref=adjustment,
            payload={
                "order-id": order_ref,
                "adjustment-id": adjustment,
                "currency": currency,
                "settlement-id": settlement_ref,
                "rows": group,
            },
        )
        for (order_ref, adjustment), group in grouped.items()
    ]


def parse_amazon_refund(payload, restock=False):
    """Canonical refund of one stored `settlement/refund` delivery;
    `restock` is the backend's policy. ChannelPayloadError."""
    if not isinstance(payload, dict) or not payload.get("adjustment-id"):
        raise ChannelPayloadError("The Amazon refund has no adjustment-id.")
    if not payload.get("order-id"):
        raise ChannelPayloadError("The Amazon refund has no order-id.")
    with malformed("Amazon refund", payload["adjustment-id"]):
        return _refund(payload, restock)


def _refund(payload, restock):
    parts = {}  # sku -> {"principal", "tax", "quantity"}
    shipping = shipping_tax = other = total = ZERO
    for index, row in enumerate(payload.get("rows") or (), start=1):
        amount_type = (row.get("amount-type") or "").strip().lower()
        if amount_type in FEE_AMOUNT_TYPES:
            continue
        # Amazon signs a refund from the seller's side: given back < 0.
        value = -money(row.get("amount"), f"rows[{index}].amount")
        total += value
        what = (row.get("amount-description") or "").strip().lower()
        is_tax = any(w in what for w in TAX_WORDS) or "withheld" in amount_type
        is_shipping = any(w in what for w in SHIPPING_WORDS)
        if is_shipping:
            shipping_tax += value if is_tax else ZERO
            shipping += ZERO if is_tax else value
        elif amount_type in ("itemprice", "promotion", "itemwithheldtax"):
            part = parts.setdefault(
                row.get("sku") or "", {"principal": ZERO, "tax": ZERO, "qty": ZERO}
            )
            part["tax" if is_tax else "principal"] += value
            if amount_type == "itemprice" and not is_tax:
                part["qty"] = max(part["qty"], _quantity(row, index))
        else:
            other += value
    lines, adjustments = [], []
    for sku, part in parts.items():
        if sku and part["qty"] > 0:
            lines.append(_line(sku, part, restock))
        elif part["principal"] or part["tax"]:
            adjustments.append(part["principal"] + part["tax"])
    if other:
        adjustments.append(other)
    shipping_lines = ()
    if shipping or shipping_tax:
        shipping_lines = (
            RefundShippingData(external_ref=None, amount=shipping, tax=shipping_tax),
        )
    return _record(payload, total, (tuple(lines), shipping_lines), adjustments)


def _quantity(row, index):
    text = (row.get("quantity-purchased") or "").strip()
    if not text:
        return ZERO
    try:
        return abs(Decimal(int(text)))
    except ValueError as exc:
        msg = f"rows[{index}].quantity-purchased: {text!r}"
        raise ChannelPayloadError(msg) from exc


def _line(sku, part, restock):
    return RefundLineData(
        external_ref=None,
        line_ref=None,
        sku=sku,
        quantity=part["qty"],
        subtotal=part["principal"],
        tax=part["tax"],
        restock_type=RESTOCK_RETURN if restock else RESTOCK_NONE,
    )


def _record(payload, total, goods, adjustments):
    adjustment_ref = payload["adjustment-id"]
    currency = payload.get("currency") or None
    lines, shipping_lines = goods
    transactions = ()
    if total > ZERO:
        transactions = (
            PaymentTransactionData(
                external_ref=adjustment_ref,
                gateway=GATEWAY,
                kind="refund",
                status="success",
                amount=total,
                currency=currency,
                transaction_ref=adjustment_ref,
            ),
        )
    return ChannelRefund(
        external_ref=adjustment_ref,
        order_ref=payload["order-id"],
        provider=PROVIDER,
        currency=currency,
        total=total,
        taxes_included=False,
        lines=lines,
        shipping_lines=shipping_lines,
        adjustments=tuple(
            RefundAdjustmentData(external_ref=None, reason=None, amount=amount)
            for amount in adjustments
        ),
        transactions=transactions,
        source_payload_digest=payload_digest(payload),
    )
