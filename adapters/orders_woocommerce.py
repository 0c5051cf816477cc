"""WooCommerce REST v3 order JSON (webhook body = GET body) to the canonical order.

WooCommerce stores line and shipping totals without tax whatever
`prices_include_tax` says; for a tax-included order the canonical prices add
the tax back, so that they are what the buyer saw.

- Coupons are already inside the line totals (`subtotal` − `total` is the
  line's discount): each coupon line is a `DiscountData` of kind ``line``.
- Fee lines (gift wrap, surcharges, negative fees used as discounts) carry no
  product: they become shipping-like charge lines with code ``fee``, so the
  importer books them on its service product, never as an unknown SKU.
- The order `status` is the financial status; WooCommerce has no separate
  fulfilment status nor cancellation date (``cancelled`` is a status).
- Core WooCommerce has no gift cards (plugins sell them as coupons or fees).
"""

import html
from decimal import Decimal

from .exceptions import ChannelPayloadError, malformed
from .records import (
    ZERO,
    AddressData,
    CustomerData,
    DiscountData,
    OrderData,
    OrderLineData,
    PaymentTransactionData,
    ShippingLineData,
    TaxLineData,
    money,
    payload_digest,
    quantity,
)
from .webhooks import parse_timestamp

RATE_PLACES = Decimal("0.0001")


def parse_woocommerce_order(payload):
    """Canonical order from a WooCommerce order resource (webhook or GET body).

    Raise ChannelPayloadError naming the field when the body is unusable.
    """
    if not isinstance(payload, dict):
        raise ChannelPayloadError("The WooCommerce order is not a JSON object.")
    for key in ("id", "currency", "total"):
        if payload.get(key) in (None, ""):
            raise ChannelPayloadError(f"The WooCommerce order has no {key}.")
    with malformed("WooCommerce order", payload["id"]):
        return _order(payload)


def _order(payload):
    included = bool(payload.get("prices_include_tax"))
    rates = {rate.get("rate_id"): rate for rate in payload.get("tax_lines") or ()}
    status = (payload.get("status") or "").lower() or None
    return OrderData(
        external_ref=str(payload["id"]),
        name=f"#{payload.get('number') or payload['id']}",
        provider="woocommerce",
        currency=payload["currency"],
        created_at=parse_timestamp(payload.get("date_created_gmt")),
        updated_at=parse_timestamp(payload.get("date_modified_gmt")),
        taxes_included=included,
        financial_status=status,
        customer=_customer(payload),
        billing_address=_address(payload.get("billing")),
        shipping_address=_address(payload.get("shipping")),
        lines=tuple(
            _line(line, included, rates) for line in payload.get("line_items") or ()
        ),
        shipping_lines=tuple(
            _charge(
                line, included, rates, line.get("method_title"), line.get("method_id")
            )
            for line in payload.get("shipping_lines") or ()
        )
        + tuple(
            _charge(line, included, rates, line.get("name"), "fee")
            for line in payload.get("fee_lines") or ()
        ),
        discounts=tuple(
            _coupon(line, included) for line in payload.get("coupon_lines") or ()
        ),
        transactions=_transactions(payload),
        total_discount=money(payload.get("discount_total"), "discount_total"),
        total_shipping=money(payload.get("shipping_total"), "shipping_total"),
        total_tax=money(payload.get("total_tax"), "total_tax"),
        total=money(payload.get("total"), "total"),
        note=payload.get("customer_note") or None,
        refund_refs=tuple(
            str(r["id"]) for r in payload.get("refunds") or () if r.get("id")
        ),
        source_payload_digest=payload_digest(payload),
    )


def _customer(payload):
    billing = payload.get("billing") or {}
    customer_id = payload.get("customer_id")
    return CustomerData(
        # 0 (or "0") is WooCommerce's guest checkout.
        external_ref=str(customer_id) if str(customer_id or 0) != "0" else None,
        email=billing.get("email") or None,
        phone=billing.get("phone") or None,
        first_name=billing.get("first_name") or None,
        last_name=billing.get("last_name") or None,
    )


def _address(address):
    if not address or not any(address.get(k) for k in ("address_1", "city", "country")):
        return None
    name = " ".join(filter(None, (address.get("first_name"), address.get("last_name"))))
    return AddressData(
        name=name or None,
        company=address.get("company") or None,
        street=address.get("address_1") or None,
        street2=address.get("address_2") or None,
        city=address.get("city") or None,
        zip=address.get("postcode") or None,
        state_code=address.get("state") or None,
        country_code=address.get("country") or None,
        phone=address.get("phone") or None,
        email=address.get("email") or None,
    )


def _taxes(item, included, rates, base):
    """Tax lines of a line item: amount per rate id, rate from the order's
    tax lines (rate_percent), or derived from amount / base when absent."""
    taxes = []
    for tax in item.get("taxes") or ():
        amount = money(tax.get("total"), "taxes[].total")
        rate_line = rates.get(tax.get("id")) or {}
        if rate_line.get("rate_percent") is not None:
            rate = money(rate_line["rate_percent"], "tax_lines[].rate_percent") / 100
        elif base:
            rate = (amount / base).quantize(RATE_PLACES)
        else:
            continue
        taxes.append(
            TaxLineData(
                title=rate_line.get("label"),
                rate=rate,
                amount=amount,
                price_included=included,
            )
        )
    return tuple(taxes)


def _coupon(line, included):
    amount = money(line.get("discount"), "coupon_lines[].discount")
    if included:
        amount += money(line.get("discount_tax"), "coupon_lines[].discount_tax")
    code = line.get("code") or None
    return DiscountData(title=code, code=code, amount=amount, kind="line")


def _line(line, included, rates):
    count = quantity(line.get("quantity"), "line_items[].quantity")
    if not count:
        raise ChannelPayloadError(f"Line {line.get('id')} has no quantity.")
    subtotal = money(line.get("subtotal"), "line_items[].subtotal")
    total = money(line.get("total"), "line_items[].total")
    if included:
        subtotal += money(line.get("subtotal_tax"), "line_items[].subtotal_tax")
        total += money(line.get("total_tax"), "line_items[].total_tax")
    variation = line.get("variation_id")
    return OrderLineData(
        external_ref=str(line.get("id")),
        sku=line.get("sku") or None,
        variant_ref=str(variation or line.get("product_id") or "") or None,
        product_ref=str(line["product_id"]) if line.get("product_id") else None,
        # The REST API sends product names HTML-escaped ("&ndash;").
        name=html.unescape(line.get("name") or "") or None,
        quantity=count,
        unit_price=subtotal / count,
        discount_amount=subtotal - total,
        taxes=_taxes(
            line, included, rates, money(line.get("total"), "line_items[].total")
        ),
    )


def _charge(line, included, rates, title, code):
    price = money(line.get("total"), "shipping_lines[].total")
    base = price
    if included:
        price += money(line.get("total_tax"), "shipping_lines[].total_tax")
    return ShippingLineData(
        title=title,
        code=code,
        price=price,
        discount_amount=ZERO,
        taxes=_taxes(line, included, rates, base),
    )


def _transactions(payload):
    if not payload.get("date_paid_gmt") and not payload.get("transaction_id"):
        return ()
    return (
        PaymentTransactionData(
            external_ref=payload.get("transaction_id") or None,
            gateway=payload.get("payment_method") or None,
            kind="sale",
            status="success" if payload.get("date_paid_gmt") else "pending",
            amount=money(payload.get("total"), "total"),
            currency=payload.get("currency"),
            transaction_ref=payload.get("transaction_id") or None,
            processed_at=parse_timestamp(payload.get("date_paid_gmt")),
        ),
    )
