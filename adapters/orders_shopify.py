"""Shopify order payloads (REST-shaped webhook JSON) to the canonical order.

Amounts are read from the `*_set.shop_money` blocks: the Odoo order is in the
shop currency, which is also the currency of payouts; the buyer's
presentment currency is kept for reference.
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


def shop_amount(block, fallback, what):
    """The shop-currency amount of a `*_set` block, else the plain field."""
    shop_money = (block or {}).get("shop_money") or {}
    return money(shop_money.get("amount", fallback), what)


def parse_shopify_order(payload):
    """Canonical order from an orders/create|updated|cancelled body."""
    if not isinstance(payload, dict) or payload.get("id") is None:
        raise ChannelPayloadError("The Shopify order has no id.")
    taxes_included = bool(payload.get("taxes_included"))
    name = payload.get("name") or f"#{payload.get('order_number', payload['id'])}"
    return OrderData(
        external_ref=str(payload["id"]),
        name=name,
        provider="shopify",
        currency=_required(payload, "currency"),
        presentment_currency=payload.get("presentment_currency"),
        created_at=parse_timestamp(payload.get("created_at")),
        updated_at=parse_timestamp(payload.get("updated_at")),
        cancelled_at=parse_timestamp(payload.get("cancelled_at")),
        taxes_included=taxes_included,
        financial_status=(payload.get("financial_status") or "").lower() or None,
        fulfillment_status=payload.get("fulfillment_status"),
        customer=_customer(payload),
        billing_address=_address(payload.get("billing_address")),
        shipping_address=_address(payload.get("shipping_address")),
        lines=tuple(
            _line(line, taxes_included) for line in payload.get("line_items") or ()
        ),
        shipping_lines=tuple(
            _shipping(line, taxes_included)
            for line in payload.get("shipping_lines") or ()
            if not line.get("is_removed")
        ),
        subtotal=shop_amount(
            payload.get("subtotal_price_set"), payload.get("subtotal_price"), "subtotal"
        ),
        total_discount=shop_amount(
            payload.get("total_discounts_set"),
            payload.get("total_discounts"),
            "discounts",
        ),
        total_shipping=shop_amount(
            payload.get("total_shipping_price_set"), 0, "shipping"
        ),
        total_tax=shop_amount(
            payload.get("total_tax_set"), payload.get("total_tax"), "total tax"
        ),
        total=shop_amount(
            payload.get("total_price_set"), payload.get("total_price"), "total"
        ),
        location_ref=str(payload["location_id"])
        if payload.get("location_id")
        else None,
        note=payload.get("note"),
        tags=tuple(
            t.strip() for t in (payload.get("tags") or "").split(",") if t.strip()
        ),
        source_payload_digest=payload_digest(payload),
    )


def _required(payload, key):
    value = payload.get(key)
    if not value:
        raise ChannelPayloadError(f"The Shopify order has no {key}.")
    return value


def _customer(payload):
    customer = payload.get("customer") or {}
    return CustomerData(
        external_ref=str(customer["id"]) if customer.get("id") else None,
        email=customer.get("email")
        or payload.get("email")
        or payload.get("contact_email"),
        phone=customer.get("phone") or payload.get("phone"),
        first_name=customer.get("first_name"),
        last_name=customer.get("last_name"),
    )


def _address(address):
    if not address:
        return None
    name = address.get("name") or " ".join(
        filter(None, (address.get("first_name"), address.get("last_name")))
    )
    return AddressData(
        name=name or None,
        company=address.get("company"),
        street=address.get("address1"),
        street2=address.get("address2"),
        city=address.get("city"),
        zip=address.get("zip"),
        state_code=address.get("province_code"),
        country_code=address.get("country_code"),
        phone=address.get("phone"),
    )


def _taxes(tax_lines, taxes_included):
    return tuple(
        TaxLineData(
            title=tax.get("title"),
            rate=money(tax.get("rate"), "tax rate"),
            amount=shop_amount(tax.get("price_set"), tax.get("price"), "tax"),
            price_included=taxes_included,
        )
        for tax in tax_lines or ()
    )


def _allocated(allocations):
    return sum(
        (
            shop_amount(a.get("amount_set"), a.get("amount"), "discount")
            for a in allocations or ()
        ),
        ZERO,
    )


def _line(line, taxes_included):
    if line.get("id") is None:
        raise ChannelPayloadError("A Shopify line item has no id.")
    return OrderLineData(
        external_ref=str(line["id"]),
        sku=line.get("sku") or None,
        variant_ref=str(line["variant_id"]) if line.get("variant_id") else None,
        product_ref=str(line["product_id"]) if line.get("product_id") else None,
        name=line.get("name") or line.get("title"),
        quantity=Decimal(str(line.get("quantity") or 0)),
        unit_price=shop_amount(line.get("price_set"), line.get("price"), "line price"),
        discount_amount=_allocated(line.get("discount_allocations")),
        taxes=_taxes(line.get("tax_lines"), taxes_included),
        is_gift_card=bool(line.get("gift_card")),
        requires_shipping=bool(line.get("requires_shipping", True)),
    )


def _shipping(line, taxes_included):
    return ShippingLineData(
        title=line.get("title"),
        code=line.get("code"),
        price=shop_amount(line.get("price_set"), line.get("price"), "shipping price"),
        discount_amount=_allocated(line.get("discount_allocations")),
        taxes=_taxes(line.get("tax_lines"), taxes_included),
    )


# Lines read with an order; within Shopify's 1,000-point cost cap per query.
MAX_LINES = 50
MONEY = "shopMoney { amount currencyCode }"
TAX_LINES = f"taxLines {{ title rate priceSet {{ {MONEY} }} }}"
ALLOCATIONS = f"discountAllocations {{ allocatedAmountSet {{ {MONEY} }} }}"
ADDRESS = "name company address1 address2 city zip provinceCode countryCodeV2 phone"
ORDER_FIELDS = f"""
  id legacyResourceId name email phone createdAt updatedAt cancelledAt
  currencyCode presentmentCurrencyCode taxesIncluded note tags
  displayFinancialStatus displayFulfillmentStatus
  totalPriceSet {{ {MONEY} }} subtotalPriceSet {{ {MONEY} }}
  totalTaxSet {{ {MONEY} }} totalDiscountsSet {{ {MONEY} }}
  totalShippingPriceSet {{ {MONEY} }}
  customer {{ id email phone firstName lastName }}
  billingAddress {{ {ADDRESS} }}
  shippingAddress {{ {ADDRESS} }}
  retailLocation {{ id }}
  risk {{ recommendation assessments {{ riskLevel facts {{ description }} }} }}
  lineItems(first: {MAX_LINES}) {{
    pageInfo {{ hasNextPage }}
    nodes {{
      id sku name quantity isGiftCard requiresShipping
      variant {{ id product {{ id }} }}
      originalUnitPriceSet {{ {MONEY} }}
      {ALLOCATIONS}
      {TAX_LINES}
    }}
  }}
  shippingLines(first: 20) {{
    nodes {{
      title code isRemoved originalPriceSet {{ {MONEY} }} {ALLOCATIONS} {TAX_LINES}
    }}
  }}
  transactions(first: 50) {{
    id gateway kind status authorizationCode processedAt
    amountSet {{ {MONEY} }}
  }}
"""
ORDER_QUERY = f"""
query ChannelConnectorOrder($id: ID!) {{
  order(id: $id) {{ {ORDER_FIELDS} }}
}}
"""
# Ids only: a page of whole orders would exceed Shopify's 1,000-point cost cap,
# so each changed order is then read with ORDER_QUERY.
ORDERS_UPDATED_QUERY = """
query ChannelConnectorOrdersUpdated($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id updatedAt }
  }
}
"""


def _gid_number(value):
    return str(value).rsplit("/", 1)[-1] if value else None


def _graphql_money(block, what):
    return money(((block or {}).get("shopMoney") or {}).get("amount"), what)


def _graphql_taxes(tax_lines, taxes_included):
    return tuple(
        TaxLineData(
            title=tax.get("title"),
            rate=money(tax.get("rate"), "tax rate"),
            amount=_graphql_money(tax.get("priceSet"), "tax"),
            price_included=taxes_included,
        )
        for tax in tax_lines or ()
    )


def _graphql_allocated(allocations):
    return sum(
        (
            _graphql_money(a.get("allocatedAmountSet"), "discount")
            for a in allocations or ()
        ),
        ZERO,
    )


def _graphql_address(address):
    if not address:
        return None
    return AddressData(
        name=address.get("name"),
        company=address.get("company"),
        street=address.get("address1"),
        street2=address.get("address2"),
        city=address.get("city"),
        zip=address.get("zip"),
        state_code=address.get("provinceCode"),
        country_code=address.get("countryCodeV2"),
        phone=address.get("phone"),
    )


def _graphql_line(line, taxes_included):
    variant = line.get("variant") or {}
    return OrderLineData(
        external_ref=_gid_number(line["id"]),
        sku=line.get("sku") or None,
        variant_ref=_gid_number(variant.get("id")),
        product_ref=_gid_number((variant.get("product") or {}).get("id")),
        name=line.get("name"),
        quantity=Decimal(str(line.get("quantity") or 0)),
        unit_price=_graphql_money(line.get("originalUnitPriceSet"), "line price"),
        discount_amount=_graphql_allocated(line.get("discountAllocations")),
        taxes=_graphql_taxes(line.get("taxLines"), taxes_included),
        is_gift_card=bool(line.get("isGiftCard")),
        requires_shipping=bool(line.get("requiresShipping", True)),
    )


def _graphql_transaction(transaction):
    return PaymentTransactionData(
        external_ref=_gid_number(transaction.get("id")),
        gateway=transaction.get("gateway"),
        kind=(transaction.get("kind") or "").lower(),
        status=(transaction.get("status") or "").lower(),
        amount=_graphql_money(transaction.get("amountSet"), "transaction amount"),
        currency=((transaction.get("amountSet") or {}).get("shopMoney") or {}).get(
            "currencyCode"
        ),
        transaction_ref=transaction.get("authorizationCode") or None,
        processed_at=parse_timestamp(transaction.get("processedAt")),
    )


def parse_shopify_graphql_order(node):
    """Canonical order from the `order` node of ORDER_QUERY/ORDERS_UPDATED_QUERY.

    Same values as `parse_shopify_order` for the same order, plus what only
    GraphQL has: transactions and the risk recommendation.
    """
    if not isinstance(node, dict) or not node.get("id"):
        raise ChannelPayloadError("The Shopify GraphQL order has no id.")
    if ((node.get("lineItems") or {}).get("pageInfo") or {}).get("hasNextPage"):
        raise ChannelPayloadError(
            f"Order {node.get('name')} has more than {MAX_LINES} lines: import it "
            "from its webhook or raise MAX_LINES."
        )
    included = bool(node.get("taxesIncluded"))
    customer = node.get("customer") or {}
    risk = node.get("risk") or {}
    return OrderData(
        external_ref=_gid_number(node["id"]),
        name=node.get("name") or _gid_number(node["id"]),
        provider="shopify",
        currency=node.get("currencyCode"),
        presentment_currency=node.get("presentmentCurrencyCode"),
        created_at=parse_timestamp(node.get("createdAt")),
        updated_at=parse_timestamp(node.get("updatedAt")),
        cancelled_at=parse_timestamp(node.get("cancelledAt")),
        taxes_included=included,
        financial_status=(node.get("displayFinancialStatus") or "").lower() or None,
        fulfillment_status=(node.get("displayFulfillmentStatus") or "").lower() or None,
        customer=CustomerData(
            external_ref=_gid_number(customer.get("id")),
            email=customer.get("email") or node.get("email"),
            phone=customer.get("phone") or node.get("phone"),
            first_name=customer.get("firstName"),
            last_name=customer.get("lastName"),
        ),
        billing_address=_graphql_address(node.get("billingAddress")),
        shipping_address=_graphql_address(node.get("shippingAddress")),
        lines=tuple(
            _graphql_line(line, included)
            for line in (node.get("lineItems") or {}).get("nodes") or ()
        ),
        shipping_lines=tuple(
            ShippingLineData(
                title=line.get("title"),
                code=line.get("code"),
                price=_graphql_money(line.get("originalPriceSet"), "shipping price"),
                discount_amount=_graphql_allocated(line.get("discountAllocations")),
                taxes=_graphql_taxes(line.get("taxLines"), included),
            )
            for line in (node.get("shippingLines") or {}).get("nodes") or ()
            if not line.get("isRemoved")
        ),
        transactions=tuple(
            _graphql_transaction(t) for t in node.get("transactions") or ()
        ),
        subtotal=_graphql_money(node.get("subtotalPriceSet"), "subtotal"),
        total_discount=_graphql_money(node.get("totalDiscountsSet"), "discounts"),
        total_shipping=_graphql_money(node.get("totalShippingPriceSet"), "shipping"),
        total_tax=_graphql_money(node.get("totalTaxSet"), "total tax"),
        total=_graphql_money(node.get("totalPriceSet"), "total"),
        is_high_risk=(risk.get("recommendation") or "").upper() == "CANCEL",
        risk_reasons=tuple(
            fact.get("description")
            for assessment in risk.get("assessments") or ()
            for fact in assessment.get("facts") or ()
            if fact.get("description")
        ),
        location_ref=_gid_number((node.get("retailLocation") or {}).get("id")),
        note=node.get("note"),
        tags=tuple(node.get("tags") or ()),
        source_payload_digest=payload_digest(node),
    )
