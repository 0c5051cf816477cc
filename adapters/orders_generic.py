"""The generic JSON order format (schemas/generic_order.schema.json).

A sender that is neither Shopify nor WooCommerce pushes orders in this shape.
Amounts are decimal strings in the order currency, rates fractions ("0.2"),
datetimes ISO-8601 with an offset. Each field maps onto one `OrderData`
field, under the same name except: `id` → `external_ref`, `status` →
`financial_status`, `shipping` → `shipping_lines`, `payments` →
`transactions`, `high_risk` → `is_high_risk`, `location_id` → `location_ref`
(and `id`, `variant_id`, `product_id`, `transaction_id` inside items).

The add-on cannot depend on `jsonschema`, so the payload is checked here
field by field, with messages naming the field (``lines[0].quantity``).
"""

from . import generic_fields as checks
from .exceptions import ChannelPayloadError, malformed
from .records import (
    AddressData,
    CustomerData,
    DiscountData,
    OrderData,
    OrderLineData,
    ShippingLineData,
    TaxLineData,
    payload_digest,
    quantity,
)

REQUIRED_ORDER_FIELDS = ("id", "currency", "status", "total", "lines")
REQUIRED_LINE_FIELDS = ("id", "quantity", "unit_price")
# The JSON type of each optional field (null is always allowed).
ORDER_FIELD_TYPES = {
    "id": str,
    "name": str,
    "currency": str,
    "presentment_currency": str,
    "status": str,
    "fulfillment_status": str,
    "taxes_included": bool,
    "customer": dict,
    "billing_address": dict,
    "shipping_address": dict,
    "lines": list,
    "shipping": list,
    "discounts": list,
    "payments": list,
    "high_risk": bool,
    "risk_reasons": list,
    "location_id": str,
    "market": str,
    "note": str,
    "tags": list,
}
DISCOUNT_KINDS = ("line", "order", "shipping")
TRANSACTION_KINDS = ("sale", "authorization", "capture", "refund", "void")


def parse_generic_order(payload):
    """Canonical order from a generic order payload.

    Raise ChannelPayloadError naming the first missing or invalid field.
    """
    if not isinstance(payload, dict):
        raise ChannelPayloadError("The generic order is not a JSON object.")
    checks.require(payload, REQUIRED_ORDER_FIELDS, "order")
    checks.check_types(payload, ORDER_FIELD_TYPES, "order")
    if not payload["lines"]:
        raise ChannelPayloadError("order.lines must not be empty.")
    with malformed("generic order", payload["id"]):
        return _order(payload)


def _order(payload):
    included = bool(payload.get("taxes_included"))
    return OrderData(
        external_ref=payload["id"],
        name=payload.get("name") or payload["id"],
        provider="generic",
        currency=payload["currency"].upper(),
        presentment_currency=payload.get("presentment_currency"),
        created_at=checks.timestamp(payload, "created_at", "order"),
        updated_at=checks.timestamp(payload, "updated_at", "order"),
        cancelled_at=checks.timestamp(payload, "cancelled_at", "order"),
        taxes_included=included,
        financial_status=payload["status"].lower(),
        fulfillment_status=(payload.get("fulfillment_status") or "").lower() or None,
        customer=_customer(payload.get("customer")),
        billing_address=_address(payload.get("billing_address"), "billing_address"),
        shipping_address=_address(payload.get("shipping_address"), "shipping_address"),
        lines=checks.items(payload, "lines", _line, included),
        shipping_lines=checks.items(payload, "shipping", _shipping, included),
        discounts=checks.items(payload, "discounts", _discount, included),
        transactions=checks.items(payload, "payments", _payment, included),
        gift_card_amount=checks.amount(payload, "gift_card_amount", "order"),
        subtotal=checks.amount(payload, "subtotal", "order"),
        total_discount=checks.amount(payload, "total_discount", "order"),
        total_shipping=checks.amount(payload, "total_shipping", "order"),
        total_tax=checks.amount(payload, "total_tax", "order"),
        total=checks.amount(payload, "total", "order"),
        is_high_risk=bool(payload.get("high_risk")),
        risk_reasons=checks.strings(payload, "risk_reasons", "order"),
        location_ref=payload.get("location_id"),
        market=payload.get("market"),
        note=payload.get("note"),
        tags=checks.strings(payload, "tags", "order"),
        source_payload_digest=payload_digest(payload),
    )


# === PARTS ===


def _customer(customer):
    if not customer:
        return None
    checks.check_types(
        customer, dict.fromkeys(("id", "email", "phone"), str), "customer"
    )
    return CustomerData(
        external_ref=customer.get("id") or None,
        email=customer.get("email"),
        phone=customer.get("phone"),
        first_name=customer.get("first_name"),
        last_name=customer.get("last_name"),
    )


def _address(address, where):
    if not address:
        return None
    fields = AddressData.__dataclass_fields__
    checks.check_types(address, dict.fromkeys(fields, str), where)
    return AddressData(**{key: address.get(key) for key in fields})


def _taxes(item, where, included):
    taxes = []
    for index, tax in enumerate(item.get("taxes") or ()):
        tax_where = f"{where}.taxes[{index}]"
        if not isinstance(tax, dict):
            raise ChannelPayloadError(f"{tax_where} is not an object.")
        checks.require(tax, ("rate",), tax_where)
        taxes.append(
            TaxLineData(
                title=tax.get("title"),
                rate=checks.amount(tax, "rate", tax_where),
                amount=checks.amount(tax, "amount", tax_where),
                price_included=included,
            )
        )
    return tuple(taxes)


def _line(line, where, included):
    checks.require(line, REQUIRED_LINE_FIELDS, where)
    if not line.get("sku") and not line.get("variant_id"):
        raise ChannelPayloadError(f"{where} needs a sku or a variant_id.")
    if not isinstance(line["quantity"], str):
        raise ChannelPayloadError(f"{where}.quantity must be a decimal string.")
    return OrderLineData(
        external_ref=str(line["id"]),
        sku=line.get("sku"),
        variant_ref=line.get("variant_id"),
        product_ref=line.get("product_id"),
        name=line.get("name"),
        quantity=quantity(line["quantity"], f"{where}.quantity"),
        unit_price=checks.amount(line, "unit_price", where),
        discount_amount=checks.amount(line, "discount", where),
        taxes=_taxes(line, where, included),
        is_gift_card=bool(line.get("gift_card")),
        requires_shipping=line.get("requires_shipping") is not False,
    )


def _shipping(item, where, included):
    checks.require(item, ("price",), where)
    return ShippingLineData(
        title=item.get("title"),
        code=item.get("code"),
        price=checks.amount(item, "price", where),
        discount_amount=checks.amount(item, "discount", where),
        taxes=_taxes(item, where, included),
    )


def _discount(item, where, _included):
    checks.require(item, ("amount", "kind"), where)
    if item["kind"] not in DISCOUNT_KINDS:
        raise ChannelPayloadError(f"{where}.kind must be one of {DISCOUNT_KINDS}.")
    return DiscountData(
        title=item.get("title") or item.get("code"),
        code=item.get("code"),
        amount=checks.amount(item, "amount", where),
        kind=item["kind"],
    )


def _payment(item, where, _included):
    kind = item.get("kind") or "sale"
    if kind not in TRANSACTION_KINDS:
        raise ChannelPayloadError(f"{where}.kind must be one of {TRANSACTION_KINDS}.")
    return checks.transaction(item, where, kind)
