"""WooCommerce REST v3 order JSON (webhook body = GET body) to the canonical order.

WooCommerce stores line and shipping totals without tax whatever
`prices_include_tax` says; for a tax-included order the canonical prices add
the tax back, so that they are what the buyer saw. Fee lines (gift wrap,
surcharges) become service lines next to shipping.
"""

from decimal import Decimal

from .exceptions import ChannelPayloadError
from .records import (
    ZERO,
    AddressData,
    CustomerData,
    OrderData,
    OrderLineData,
    PaymentTransactionData,
    ShippingLineData,
    TaxLineData,
    money,
    payload_digest,
)
from .webhooks import parse_timestamp

RATE_PLACES = Decimal("0.0001")


def parse_woocommerce_order(payload):
    """Canonical order from a WooCommerce order resource."""
    if not isinstance(payload, dict) or payload.get("id") is None:
        raise ChannelPayloadError("The WooCommerce order has no id.")
    if not payload.get("currency"):
        raise ChannelPayloadError("The WooCommerce order has no currency.")
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
        transactions=_transactions(payload),
        total_discount=money(payload.get("discount_total"), "discount total"),
        total_shipping=money(payload.get("shipping_total"), "shipping total"),
        total_tax=money(payload.get("total_tax"), "total tax"),
        total=money(payload.get("total"), "total"),
        note=payload.get("customer_note") or None,
        source_payload_digest=payload_digest(payload),
    )


def _customer(payload):
    billing = payload.get("billing") or {}
    customer_id = payload.get("customer_id")
    return CustomerData(
        external_ref=str(customer_id) if customer_id else None,
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
        amount = money(tax.get("total"), "line tax")
        rate_line = rates.get(tax.get("id")) or {}
        if rate_line.get("rate_percent") is not None:
            rate = money(rate_line["rate_percent"], "tax rate") / 100
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


def _line(line, included, rates):
    quantity = Decimal(str(line.get("quantity") or 0))
    if not quantity:
        raise ChannelPayloadError(f"Line {line.get('id')} has no quantity.")
    subtotal = money(line.get("subtotal"), "line subtotal")
    total = money(line.get("total"), "line total")
    if included:
        subtotal += money(line.get("subtotal_tax"), "line subtotal tax")
        total += money(line.get("total_tax"), "line tax")
    variation = line.get("variation_id")
    return OrderLineData(
        external_ref=str(line.get("id")),
        sku=line.get("sku") or None,
        variant_ref=str(variation or line.get("product_id") or "") or None,
        product_ref=str(line["product_id"]) if line.get("product_id") else None,
        name=line.get("name"),
        quantity=quantity,
        unit_price=subtotal / quantity,
        discount_amount=subtotal - total,
        taxes=_taxes(line, included, rates, money(line.get("total"), "line total")),
    )


def _charge(line, included, rates, title, code):
    price = money(line.get("total"), "charge total")
    base = price
    if included:
        price += money(line.get("total_tax"), "charge tax")
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
