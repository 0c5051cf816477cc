"""Shopify orders, from a webhook body or a GraphQL node, to the canonical order.

Amounts are read from the `*_set.shop_money` blocks (GraphQL `shopMoney`):
the Odoo order is in the shop currency, which is also the currency of
payouts; the buyer's presentment currency is kept for reference only.

Both parsers give equal `OrderData` for the same order (ids are the numeric
id strings: `gid://shopify/Order/123` becomes "123"; Shopify ids exceed 2^53
and are never numbers). Only GraphQL carries transactions and the risk
summary, so only `parse_shopify_graphql_order` fills `transactions`,
`gift_card_amount` and `is_high_risk`; a webhook order is marked
`is_complete=False` and is read again through GraphQL before a sale order is
built from it.

Discounts: Shopify allocates every discount application to line items or
shipping lines (`discount_allocations`), which become the lines'
`discount_amount`; each application is also a `DiscountData` of kind
``line`` or ``shipping``. What `total_discounts` holds beyond the
allocations (the documentation's sample order has no allocations at all) is
one ``order`` discount, so that the canonical order still adds up.
"""

import json

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

# The webhook's `fulfillment_status` in GraphQL's `displayFulfillmentStatus`
# words, so that both parsers agree.
WEBHOOK_FULFILLMENT_STATUSES = {None: "unfulfilled", "partial": "partially_fulfilled"}
GIFT_CARD_GATEWAY = "gift_card"
PAID_KINDS = ("sale", "capture")
UNALLOCATED_DISCOUNT = "Unallocated discount"


def parse_shopify_order(payload):
    """Canonical order from an orders/create|updated|cancelled webhook body.

    Raise ChannelPayloadError naming the field when the body is unusable.
    """
    if not isinstance(payload, dict):
        raise ChannelPayloadError("The Shopify order is not a JSON object.")
    with malformed("Shopify order", payload.get("id")):
        return _webhook_order(payload)


def _webhook_order(payload):
    external_ref = _ref(_required(payload, "id"))
    included = bool(payload.get("taxes_included"))
    lines = tuple(_line(line, included) for line in _list(payload, "line_items"))
    shipping = [s for s in _list(payload, "shipping_lines") if not s.get("is_removed")]
    total_discount = _shop(payload, "total_discounts_set", "total_discounts")
    return OrderData(
        external_ref=external_ref,
        name=payload.get("name") or f"#{payload.get('order_number', external_ref)}",
        provider="shopify",
        currency=_required(payload, "currency"),
        presentment_currency=payload.get("presentment_currency"),
        created_at=parse_timestamp(payload.get("created_at")),
        updated_at=parse_timestamp(payload.get("updated_at")),
        cancelled_at=parse_timestamp(payload.get("cancelled_at")),
        taxes_included=included,
        financial_status=_lower(payload.get("financial_status")),
        fulfillment_status=WEBHOOK_FULFILLMENT_STATUSES.get(
            payload.get("fulfillment_status"), payload.get("fulfillment_status")
        ),
        customer=_customer(payload),
        billing_address=_address(payload.get("billing_address")),
        shipping_address=_address(payload.get("shipping_address")),
        lines=lines,
        shipping_lines=tuple(_shipping(line, included) for line in shipping),
        discounts=_webhook_discounts(payload, shipping, total_discount),
        subtotal=_shop(payload, "subtotal_price_set", "subtotal_price"),
        total_discount=total_discount,
        total_shipping=_shop(payload, "total_shipping_price_set", None),
        total_tax=_shop(payload, "total_tax_set", "total_tax"),
        total=_required_total(payload),
        location_ref=_ref(payload.get("location_id")),
        note=payload.get("note"),
        tags=tuple(
            t.strip() for t in (payload.get("tags") or "").split(",") if t.strip()
        ),
        refund_refs=tuple(_ref(r.get("id")) for r in _list(payload, "refunds")),
        source_payload_digest=payload_digest(payload),
        is_complete=False,
    )


# === SHARED HELPERS ===


def _ref(value):
    """A Shopify id (number, numeric string or gid) as its numeric string."""
    if value is None or value == "":
        return None
    return str(value).rsplit("/", 1)[-1]


def _lower(value):
    return (value or "").lower() or None


def _required(payload, key):
    value = payload.get(key)
    if value is None or value == "":
        raise ChannelPayloadError(f"The Shopify order has no {key}.")
    return value


def _list(payload, key):
    """A list field; null is an empty list, anything else is an error."""
    value = payload.get(key) or []
    if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
        raise ChannelPayloadError(f"The Shopify order's {key} is not a list.")
    return value


def _discount(application, amount, kind):
    return DiscountData(
        title=application.get("title") or application.get("code"),
        code=application.get("code"),
        amount=amount,
        kind=kind,
    )


def _unallocated(total_discount, allocated, applications):
    """The `order` discount of what no line or shipping line carries."""
    rest = total_discount - allocated
    if rest <= 0:
        return ()
    code = ", ".join(a["code"] for a in applications if a.get("code")) or None
    return (DiscountData(UNALLOCATED_DISCOUNT, code, rest, "order"),)


def _gift_card_amount(transactions):
    return sum(
        (
            t.amount
            for t in transactions
            if t.gateway == GIFT_CARD_GATEWAY
            and t.kind in PAID_KINDS
            and t.status == "success"
        ),
        ZERO,
    )


# === WEBHOOK (REST-SHAPED) ===


def _shop(block_owner, set_key, plain_key):
    """The shop-currency amount of a `*_set` block, else the plain field."""
    block = block_owner.get(set_key)
    shop_money = block.get("shop_money") if isinstance(block, dict) else None
    if isinstance(shop_money, dict) and "amount" in shop_money:
        return money(shop_money["amount"], set_key)
    return money(block_owner.get(plain_key) if plain_key else None, plain_key)


def _required_total(payload):
    if not payload.get("total_price_set") and payload.get("total_price") is None:
        raise ChannelPayloadError("The Shopify order has no total_price.")
    return _shop(payload, "total_price_set", "total_price")


def _customer(payload):
    customer = payload.get("customer") or {}
    return CustomerData(
        external_ref=_ref(customer.get("id")),
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


def _taxes(tax_lines, included):
    return tuple(
        TaxLineData(
            title=tax.get("title"),
            rate=money(tax.get("rate"), "tax_lines[].rate"),
            amount=_shop(tax, "price_set", "price"),
            price_included=included,
        )
        for tax in tax_lines or ()
    )


def _allocated(item):
    return sum(
        (
            _shop(a, "amount_set", "amount")
            for a in item.get("discount_allocations") or ()
        ),
        ZERO,
    )


def _line(line, included):
    if line.get("id") is None:
        raise ChannelPayloadError("A Shopify line item has no id.")
    return OrderLineData(
        external_ref=_ref(line["id"]),
        sku=line.get("sku") or None,
        variant_ref=_ref(line.get("variant_id")),
        product_ref=_ref(line.get("product_id")),
        name=line.get("name") or line.get("title"),
        quantity=quantity(line.get("quantity"), "line_items[].quantity"),
        unit_price=_shop(line, "price_set", "price"),
        discount_amount=_allocated(line),
        taxes=_taxes(line.get("tax_lines"), included),
        is_gift_card=bool(line.get("gift_card")),
        requires_shipping=bool(line.get("requires_shipping", True)),
    )


def _shipping(line, included):
    return ShippingLineData(
        title=line.get("title"),
        code=line.get("code"),
        price=_shop(line, "price_set", "price"),
        discount_amount=_allocated(line),
        taxes=_taxes(line.get("tax_lines"), included),
    )


def _webhook_discounts(payload, shipping, total_discount):
    """One DiscountData per discount application, plus the unallocated rest."""
    by_index = {}
    for item in _list(payload, "line_items") + shipping:
        for allocation in item.get("discount_allocations") or ():
            index = allocation.get("discount_application_index")
            amount = _shop(allocation, "amount_set", "amount")
            by_index[index] = by_index.get(index, ZERO) + amount
    applications = _list(payload, "discount_applications")
    discounts = tuple(
        _discount(app, by_index[index], _webhook_kind(app))
        for index, app in enumerate(applications)
        if by_index.get(index)
    )
    allocated = sum(by_index.values(), ZERO)
    return discounts + _unallocated(total_discount, allocated, applications)


def _webhook_kind(application):
    return "shipping" if application.get("target_type") == "shipping_line" else "line"


# === GRAPHQL ===

# Lines read with an order; within Shopify's 1,000-point cost cap per query
# (ORDER_QUERY costs 896 points requested, its 50 lineItems 602 of them). An
# order with more lines or shipping lines reads the rest page by page with
# ORDER_CONNECTION_QUERIES (see `ShopifyAdapter.fetch_order`).
MAX_LINES = 50
MAX_SHIPPING_LINES = 10
MAX_DISCOUNT_APPLICATIONS = 20
MONEY = "shopMoney { amount currencyCode }"
TAX_LINES = f"taxLines {{ title rate priceSet {{ {MONEY} }} }}"
ALLOCATIONS = (
    f"discountAllocations {{ allocatedAmountSet {{ {MONEY} }} "
    "discountApplication { index } }"
)
ADDRESS = "name company address1 address2 city zip provinceCode countryCodeV2 phone"
CUSTOMER = (
    "customer { id firstName lastName defaultEmailAddress { emailAddress } "
    "defaultPhoneNumber { phoneNumber } }"
)
DISCOUNT_APPLICATION = """
  index targetType
  ... on DiscountCodeApplication { code }
  ... on AutomaticDiscountApplication { title }
  ... on ManualDiscountApplication { title }
  ... on ScriptDiscountApplication { title }
"""
LINE_ITEM_FIELDS = f"""
  id sku name quantity isGiftCard requiresShipping
  variant {{ id }} product {{ id }}
  originalUnitPriceSet {{ {MONEY} }}
  {ALLOCATIONS}
  {TAX_LINES}
"""
SHIPPING_LINE_FIELDS = (
    f"title code isRemoved originalPriceSet {{ {MONEY} }} {ALLOCATIONS} {TAX_LINES}"
)
ORDER_FIELDS = f"""
  id name email phone createdAt updatedAt cancelledAt
  currencyCode presentmentCurrencyCode taxesIncluded note tags
  displayFinancialStatus displayFulfillmentStatus
  totalPriceSet {{ {MONEY} }} subtotalPriceSet {{ {MONEY} }}
  totalTaxSet {{ {MONEY} }} totalDiscountsSet {{ {MONEY} }}
  totalShippingPriceSet {{ {MONEY} }}
  {CUSTOMER}
  billingAddress {{ {ADDRESS} }}
  shippingAddress {{ {ADDRESS} }}
  retailLocation {{ id }}
  risk {{ recommendation assessments {{ riskLevel facts {{ description }} }} }}
  discountApplications(first: {MAX_DISCOUNT_APPLICATIONS}) {{
    nodes {{ {DISCOUNT_APPLICATION} }}
  }}
  lineItems(first: {MAX_LINES}) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {LINE_ITEM_FIELDS} }}
  }}
  shippingLines(first: {MAX_SHIPPING_LINES}) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {SHIPPING_LINE_FIELDS} }}
  }}
  refunds(first: 50) {{ id }}
  transactions(first: 50) {{
    id gateway kind status authorizationCode receiptJson processedAt
    amountSet {{ {MONEY} }}
  }}
"""
ORDER_QUERY = f"""
query ChannelConnectorOrder($id: ID!) {{
  order(id: $id) {{ {ORDER_FIELDS} }}
}}
"""


def _connection_query(name, connection, size, fields):
    """The next page of one connection of an order, after a cursor."""
    return f"""
query ChannelConnectorOrder{name}($id: ID!, $after: String) {{
  order(id: $id) {{
    {connection}(first: {size}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ {fields} }}
    }}
  }}
}}
"""


# {connection: the query reading its next page}: 603 points for 50 line items.
ORDER_CONNECTION_QUERIES = {
    "lineItems": _connection_query(
        "LineItems", "lineItems", MAX_LINES, LINE_ITEM_FIELDS
    ),
    "shippingLines": _connection_query(
        "ShippingLines", "shippingLines", MAX_SHIPPING_LINES, SHIPPING_LINE_FIELDS
    ),
}
# Ids only: a page of whole orders would exceed Shopify's 1,000-point cost cap,
# so each order of the page is then read with ORDER_QUERY. Used by the
# reconciliation pull (updated_at, UPDATED_AT) and the backfill (created_at,
# CREATED_AT: a stable order while new orders arrive).
ORDERS_PAGE_QUERY = """
query ChannelConnectorOrdersPage(
  $first: Int!, $after: String, $query: String, $sortKey: OrderSortKeys
) {
  orders(first: $first, after: $after, query: $query, sortKey: $sortKey) {
    pageInfo { hasNextPage endCursor }
    nodes { id name updatedAt }
  }
}
"""
ORDERS_COUNT_QUERY = """
query ChannelConnectorOrdersCount($query: String) {
  ordersCount(query: $query, limit: null) { count precision }
}
"""
# Risk recommendations that hold an order for a person to look at.
HIGH_RISK_RECOMMENDATIONS = ("CANCEL", "INVESTIGATE")


def parse_shopify_graphql_order(node):
    """Canonical order from the `order` node of ORDER_QUERY.

    Same values as `parse_shopify_order` for the same order, plus what only
    GraphQL has: transactions, gift card payments and the risk summary.

    The node must hold every line: `ShopifyAdapter.fetch_order` reads the
    pages after the first into it (`merge_connection_page`); a node whose
    lines still go on is refused rather than imported short of lines.
    """
    if not isinstance(node, dict) or not node.get("id"):
        raise ChannelPayloadError("The Shopify GraphQL order has no id.")
    with malformed("Shopify GraphQL order", node.get("id")):
        for key, limit in (
            ("lineItems", MAX_LINES),
            ("shippingLines", MAX_SHIPPING_LINES),
        ):
            if ((node.get(key) or {}).get("pageInfo") or {}).get("hasNextPage"):
                raise ChannelPayloadError(
                    f"Order {node.get('name')} has more than {limit} {key} and only "
                    "the first page was read: read it with ShopifyAdapter.fetch_order."
                )
        return _graphql_order(node)


def next_page_cursor(node, key):
    """The cursor after the `key` nodes the order node holds; None when it
    holds them all."""
    info = (node.get(key) or {}).get("pageInfo") or {}
    if not info.get("hasNextPage"):
        return None
    if not info.get("endCursor"):
        raise ChannelPayloadError(f"The Shopify order's {key} has no endCursor.")
    return info["endCursor"]


def merge_connection_page(node, key, page):
    """Append a page of `key` (from ORDER_CONNECTION_QUERIES) to the order node,
    with the page's pageInfo, so that the node reads as one longer page."""
    node[key] = {
        "pageInfo": page["pageInfo"],
        "nodes": _nodes(node, key) + (page.get("nodes") or []),
    }


def _graphql_order(node):
    included = bool(node.get("taxesIncluded"))
    shipping = [s for s in _nodes(node, "shippingLines") if not s.get("isRemoved")]
    transactions = tuple(
        _graphql_transaction(t) for t in node.get("transactions") or ()
    )
    total_discount = _graphql_money(node.get("totalDiscountsSet"), "totalDiscountsSet")
    risk = node.get("risk") or {}
    return OrderData(
        external_ref=_ref(node["id"]),
        name=node.get("name") or _ref(node["id"]),
        provider="shopify",
        currency=node.get("currencyCode"),
        presentment_currency=node.get("presentmentCurrencyCode"),
        created_at=parse_timestamp(node.get("createdAt")),
        updated_at=parse_timestamp(node.get("updatedAt")),
        cancelled_at=parse_timestamp(node.get("cancelledAt")),
        taxes_included=included,
        financial_status=_lower(node.get("displayFinancialStatus")),
        fulfillment_status=_lower(node.get("displayFulfillmentStatus")),
        customer=_graphql_customer(node),
        billing_address=_graphql_address(node.get("billingAddress")),
        shipping_address=_graphql_address(node.get("shippingAddress")),
        lines=tuple(
            _graphql_line(line, included) for line in _nodes(node, "lineItems")
        ),
        shipping_lines=tuple(_graphql_shipping(s, included) for s in shipping),
        discounts=_graphql_discounts(node, shipping, total_discount),
        gift_card_amount=_gift_card_amount(transactions),
        transactions=transactions,
        subtotal=_graphql_money(node.get("subtotalPriceSet"), "subtotalPriceSet"),
        total_discount=total_discount,
        total_shipping=_graphql_money(
            node.get("totalShippingPriceSet"), "totalShippingPriceSet"
        ),
        total_tax=_graphql_money(node.get("totalTaxSet"), "totalTaxSet"),
        total=_graphql_money(node.get("totalPriceSet"), "totalPriceSet"),
        is_high_risk=risk.get("recommendation") in HIGH_RISK_RECOMMENDATIONS,
        risk_reasons=_risk_reasons(risk),
        location_ref=_ref((node.get("retailLocation") or {}).get("id")),
        note=node.get("note"),
        tags=tuple(node.get("tags") or ()),
        refund_refs=tuple(_ref(r.get("id")) for r in node.get("refunds") or ()),
        source_payload_digest=payload_digest(node),
    )


def _nodes(node, key):
    return (node.get(key) or {}).get("nodes") or []


def _graphql_money(block, what):
    return money(((block or {}).get("shopMoney") or {}).get("amount"), what)


def _graphql_customer(node):
    customer = node.get("customer") or {}
    # `email` / `phone` are the deprecated spellings, still answered in 2026-07.
    email = (customer.get("defaultEmailAddress") or {}).get(
        "emailAddress"
    ) or customer.get("email")
    phone = (customer.get("defaultPhoneNumber") or {}).get(
        "phoneNumber"
    ) or customer.get("phone")
    return CustomerData(
        external_ref=_ref(customer.get("id")),
        email=email or node.get("email"),
        phone=phone or node.get("phone"),
        first_name=customer.get("firstName"),
        last_name=customer.get("lastName"),
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


def _graphql_taxes(tax_lines, included):
    return tuple(
        TaxLineData(
            title=tax.get("title"),
            rate=money(tax.get("rate"), "taxLines.rate"),
            amount=_graphql_money(tax.get("priceSet"), "taxLines.priceSet"),
            price_included=included,
        )
        for tax in tax_lines or ()
    )


def _graphql_allocations(item):
    """(application index, amount) of each discount allocation of a line."""
    return [
        (
            (a.get("discountApplication") or {}).get("index"),
            _graphql_money(a.get("allocatedAmountSet"), "allocatedAmountSet"),
        )
        for a in item.get("discountAllocations") or ()
    ]


def _graphql_line(line, included):
    variant = line.get("variant") or {}
    return OrderLineData(
        external_ref=_ref(line.get("id")),
        sku=line.get("sku") or None,
        variant_ref=_ref(variant.get("id")),
        # The line's own product: a deleted variant still has one.
        product_ref=_ref(
            (line.get("product") or variant.get("product") or {}).get("id")
        ),
        name=line.get("name"),
        quantity=quantity(line.get("quantity"), "lineItems.quantity"),
        unit_price=_graphql_money(line.get("originalUnitPriceSet"), "unit price"),
        discount_amount=sum((a for _i, a in _graphql_allocations(line)), ZERO),
        taxes=_graphql_taxes(line.get("taxLines"), included),
        is_gift_card=bool(line.get("isGiftCard")),
        requires_shipping=bool(line.get("requiresShipping", True)),
    )


def _graphql_shipping(line, included):
    return ShippingLineData(
        title=line.get("title"),
        code=line.get("code"),
        price=_graphql_money(line.get("originalPriceSet"), "shipping price"),
        discount_amount=sum((a for _i, a in _graphql_allocations(line)), ZERO),
        taxes=_graphql_taxes(line.get("taxLines"), included),
    )


def _graphql_discounts(node, shipping, total_discount):
    """Same DiscountData as `_webhook_discounts`, from GraphQL's shapes."""
    by_index = {}
    for item in _nodes(node, "lineItems") + shipping:
        for index, amount in _graphql_allocations(item):
            by_index[index] = by_index.get(index, ZERO) + amount
    applications = _nodes(node, "discountApplications")
    discounts = tuple(
        _discount(app, by_index[app.get("index")], _graphql_kind(app))
        for app in applications
        if by_index.get(app.get("index"))
    )
    allocated = sum(by_index.values(), ZERO)
    return discounts + _unallocated(total_discount, allocated, applications)


def _graphql_kind(application):
    return "shipping" if application.get("targetType") == "SHIPPING_LINE" else "line"


def _risk_reasons(risk):
    return tuple(
        fact.get("description")
        for assessment in risk.get("assessments") or ()
        for fact in assessment.get("facts") or ()
        if fact.get("description")
    )


def _graphql_transaction(transaction):
    amount_set = transaction.get("amountSet") or {}
    return PaymentTransactionData(
        external_ref=_ref(transaction.get("id")),
        gateway=transaction.get("gateway"),
        kind=(transaction.get("kind") or "").lower(),
        status=(transaction.get("status") or "").lower(),
        amount=_graphql_money(amount_set, "transactions.amountSet"),
        currency=(amount_set.get("shopMoney") or {}).get("currencyCode"),
        transaction_ref=transaction.get("authorizationCode")
        or _receipt_ref(transaction.get("receiptJson")),
        processed_at=parse_timestamp(transaction.get("processedAt")),
    )


def _receipt_ref(receipt_json):
    """The processor's id in a transaction receipt (`id`, e.g. a Stripe charge)."""
    receipt = receipt_json
    if isinstance(receipt_json, str):
        try:
            receipt = json.loads(receipt_json)
        except ValueError:
            return None
    if not isinstance(receipt, dict) or not receipt.get("id"):
        return None
    return str(receipt["id"])
