"""The generic JSON order format (schemas/generic_order.schema.json).

A sender that is neither Shopify nor WooCommerce pushes orders in this shape.
Amounts are decimal strings in the order currency, rates fractions ("0.2"),
datetimes ISO-8601. Checked field by field, naming what is wrong.
"""

from decimal import Decimal

from .exceptions import ChannelPayloadError
from .records import (
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

REQUIRED_ORDER_FIELDS = ("id", "currency", "status", "total", "lines")
REQUIRED_LINE_FIELDS = ("id", "quantity", "unit_price")


def parse_generic_order(payload):
    """Canonical order from a generic order payload."""
    if not isinstance(payload, dict):
        raise ChannelPayloadError("The generic order is not a JSON object.")
    _require(payload, REQUIRED_ORDER_FIELDS, "order")
    if not isinstance(payload["lines"], list) or not payload["lines"]:
        raise ChannelPayloadError("order.lines must be a non-empty list.")
    included = bool(payload.get("taxes_included"))
    return OrderData(
        external_ref=str(payload["id"]),
        name=str(payload.get("name") or payload["id"]),
        provider="generic",
        currency=str(payload["currency"]).upper(),
        created_at=parse_timestamp(payload.get("created_at")),
        updated_at=parse_timestamp(payload.get("updated_at")),
        cancelled_at=parse_timestamp(payload.get("cancelled_at")),
        taxes_included=included,
        financial_status=str(payload["status"]).lower(),
        customer=_customer(payload.get("customer")),
        billing_address=_address(payload.get("billing_address")),
        shipping_address=_address(payload.get("shipping_address")),
        lines=tuple(
            _line(line, included, index) for index, line in enumerate(payload["lines"])
        ),
        shipping_lines=tuple(
            ShippingLineData(
                title=item.get("title"),
                code=item.get("code"),
                price=money(item.get("price"), "shipping.price"),
                discount_amount=money(item.get("discount"), "shipping.discount"),
                taxes=_taxes(item.get("taxes"), included, "shipping"),
            )
            for item in payload.get("shipping") or ()
        ),
        transactions=tuple(_payment(item) for item in payload.get("payments") or ()),
        total_tax=money(payload.get("total_tax"), "order.total_tax"),
        total=money(payload["total"], "order.total"),
        is_high_risk=bool(payload.get("high_risk")),
        location_ref=payload.get("location_id"),
        market=payload.get("market"),
        note=payload.get("note"),
        source_payload_digest=payload_digest(payload),
    )


def _require(item, fields, where):
    for name in fields:
        if item.get(name) in (None, ""):
            raise ChannelPayloadError(f"{where}.{name} is required.")


def _customer(customer):
    if not customer:
        return None
    return CustomerData(
        external_ref=str(customer["id"]) if customer.get("id") else None,
        email=customer.get("email"),
        phone=customer.get("phone"),
        first_name=customer.get("first_name"),
        last_name=customer.get("last_name"),
    )


def _address(address):
    if not address:
        return None
    return AddressData(
        **{key: address.get(key) for key in AddressData.__dataclass_fields__}
    )


def _taxes(taxes, included, where):
    result = []
    for tax in taxes or ():
        _require(tax, ("rate",), f"{where}.taxes[]")
        result.append(
            TaxLineData(
                title=tax.get("title"),
                rate=money(tax["rate"], f"{where}.taxes[].rate"),
                amount=money(tax.get("amount"), f"{where}.taxes[].amount"),
                price_included=included,
            )
        )
    return tuple(result)


def _line(line, included, index):
    where = f"lines[{index}]"
    if not isinstance(line, dict):
        raise ChannelPayloadError(f"{where} is not an object.")
    _require(line, REQUIRED_LINE_FIELDS, where)
    if not line.get("sku") and not line.get("variant_id"):
        raise ChannelPayloadError(f"{where} needs a sku or a variant_id.")
    return OrderLineData(
        external_ref=str(line["id"]),
        sku=line.get("sku"),
        variant_ref=str(line["variant_id"]) if line.get("variant_id") else None,
        product_ref=None,
        name=line.get("name"),
        quantity=Decimal(str(money(line["quantity"], f"{where}.quantity"))),
        unit_price=money(line["unit_price"], f"{where}.unit_price"),
        discount_amount=money(line.get("discount"), f"{where}.discount"),
        taxes=_taxes(line.get("taxes"), included, where),
        is_gift_card=bool(line.get("gift_card")),
    )


def _payment(item):
    _require(item, ("gateway", "amount"), "payments[]")
    return PaymentTransactionData(
        external_ref=item.get("id"),
        gateway=item["gateway"],
        kind=item.get("kind") or "sale",
        status=item.get("status") or "success",
        amount=money(item["amount"], "payments[].amount"),
        currency=item.get("currency"),
        transaction_ref=item.get("transaction_id"),
        processed_at=parse_timestamp(item.get("processed_at")),
    )
