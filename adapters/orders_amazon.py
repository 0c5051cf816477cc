"""Amazon Orders API v0 order and order items to the canonical order.

Amazon states every amount per order item, for the item's whole quantity:
`ItemPrice`, `ShippingPrice`, their taxes, and the promotions on each
(`PromotionDiscount`, `ShippingDiscount`, with their tax). `OrderTotal` is
what the buyer paid: prices, plus taxes where prices exclude them, less
promotions.

Marketplace facilitator tax (`TaxCollection.Model` = MarketplaceFacilitator):
Amazon collects and remits it; the seller never owes nor receives it. It is
left out of the canonical order (no tax on the lines, `total` = OrderTotal
less that tax), so the invoice is what the seller sells and is settled for;
the collected amount is stated in `note` (docs/amazon.rst). Tax a seller
collects itself becomes a tax line named "Amazon tax" at the item's rate.
"""

from decimal import ROUND_CEILING, Decimal

from .exceptions import ChannelPayloadError
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
    normalize_email,
    payload_digest,
)
from .webhooks import parse_timestamp

PROVIDER = "amazon"
CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")
FACILITATOR_MODEL = "MarketplaceFacilitator"
SELLER_TAX_TITLE = "Amazon tax"
# The payment gateway of Amazon orders (map it to the Amazon clearing journal).
PAYMENT_GATEWAY = "amazon"
PAID_STATUSES = frozenset(
    {"unshipped", "partiallyshipped", "shipped", "invoiceunconfirmed"}
)
# Fulfilment channels: by Amazon (FBA) or by the merchant.
FULFILLED_BY_AMAZON = "afn"
# Marketplaces whose prices include VAT (Europe, UK, Turkey, UAE, India...):
# `ItemPrice` holds `ItemTax`.
VAT_INCLUDED_MARKETPLACES = frozenset(
    {
        "A1F83G8C2ARO7P",  # UK
        "A1PA6795UKMFR9",  # DE
        "A13V1IB3VIYZZH",  # FR
        "APJ6JRA9NG5V4",  # IT
        "A1RKKUPIHCS9HS",  # ES
        "A1805IZSGTT6HS",  # NL
        "A2NODRKZP88ZB9",  # SE
        "A1C3SOZRARQ6R3",  # PL
        "AMEN7PMS3EDWL",  # BE
        "A33AVAJ2PDY3EV",  # TR
        "A2VIGQ35RCS4UG",  # AE
        "A21TJRUUN4KGV",  # IN
    }
)


def parse_amazon_order(order, items):
    """The canonical order of a getOrder `payload` and its order items
    (every page of getOrderItems). ChannelPayloadError if unusable."""
    if not isinstance(order, dict) or not order.get("AmazonOrderId"):
        raise ChannelPayloadError("The Amazon order has no AmazonOrderId.")
    try:
        return _order(order, items)
    except (AttributeError, TypeError, KeyError) as exc:
        msg = f"The Amazon order {order['AmazonOrderId']} is malformed: {exc}"
        raise ChannelPayloadError(msg) from exc


def parse_listed_order(order):
    """The canonical order of a getOrders entry, without items: enough to
    name it and say whether it changed (`is_complete` False)."""
    if not isinstance(order, dict) or not order.get("AmazonOrderId"):
        raise ChannelPayloadError("An Amazon order of the page has no AmazonOrderId.")
    status = (order.get("OrderStatus") or "").lower() or None
    updated = parse_timestamp(order.get("LastUpdateDate"))
    return OrderData(
        external_ref=order["AmazonOrderId"],
        name=order["AmazonOrderId"],
        provider=PROVIDER,
        currency=(order.get("OrderTotal") or {}).get("CurrencyCode") or "",
        created_at=parse_timestamp(order.get("PurchaseDate")),
        updated_at=updated,
        taxes_included=False,
        financial_status=status,
        total=money((order.get("OrderTotal") or {}).get("Amount"), "OrderTotal"),
        cancelled_at=updated if status == "canceled" else None,
        fulfillment_status=(order.get("FulfillmentChannel") or "").lower() or None,
        source_payload_digest=payload_digest(order),
        is_complete=False,
    )


def _order(order, items):
    listed = parse_listed_order(order)
    included = order.get("MarketplaceId") in VAT_INCLUDED_MARKETPLACES
    currency = listed.currency or _currency(items)
    lines, discounts, facilitated = [], [], ZERO
    for item in items:
        line, discount, collected = _line(item, included)
        if line is None:
            continue
        lines.append(line)
        discounts += [discount] if discount else []
        facilitated += collected
    shipping, collected = _shipping(order, items, included)
    facilitated += collected
    total = listed.total - facilitated
    seller_tax = _seller_tax(lines, shipping)
    return OrderData(
        **{
            **_header(listed),
            "currency": currency,
            "taxes_included": included,
            "total": total,
            "lines": tuple(lines),
            "shipping_lines": shipping,
            "discounts": tuple(discounts),
            "customer": _customer(order),
            "shipping_address": _address(order),
            "subtotal": sum((ln.unit_price * ln.quantity for ln in lines), ZERO),
            "total_discount": sum((d.amount for d in discounts), ZERO),
            "total_shipping": sum((s.price for s in shipping), ZERO),
            "total_tax": seller_tax,
            "location_ref": (order.get("FulfillmentChannel") or "").upper() or None,
            "market": order.get("MarketplaceId"),
            "note": _facilitator_note(facilitated, currency),
            "transactions": _payment(listed, total, currency),
            "is_complete": True,
        }
    )


def _payment(listed, total, currency):
    """Amazon collects the buyer's payment and settles it to the seller: one
    capture of the order's total, known by the order id (the settlement
    report's order-id), once the order is no longer pending or cancelled."""
    if listed.financial_status not in PAID_STATUSES:
        return ()
    return (
        PaymentTransactionData(
            external_ref=listed.external_ref,
            gateway=PAYMENT_GATEWAY,
            kind="sale",
            status="success",
            amount=total,
            currency=currency,
            transaction_ref=listed.external_ref,
            processed_at=listed.created_at,
        ),
    )


def _header(listed):
    """The fields of the listed order that the full one keeps."""
    return {
        "external_ref": listed.external_ref,
        "name": listed.name,
        "provider": PROVIDER,
        "created_at": listed.created_at,
        "updated_at": listed.updated_at,
        "financial_status": listed.financial_status,
        "cancelled_at": listed.cancelled_at,
        "fulfillment_status": listed.fulfillment_status,
        "source_payload_digest": listed.source_payload_digest,
    }


def _amount(item, key):
    return money((item.get(key) or {}).get("Amount"), key)


def _currency(items):
    for item in items:
        code = (item.get("ItemPrice") or {}).get("CurrencyCode")
        if code:
            return code
    return ""


def _is_facilitated(item):
    return (item.get("TaxCollection") or {}).get("Model") == FACILITATOR_MODEL


def _line(item, included):
    """(OrderLineData, its promotion's DiscountData or None, the marketplace
    facilitator tax Amazon collected on it)."""
    quantity = Decimal(int(item.get("QuantityOrdered") or 0))
    if not quantity:
        return None, None, ZERO  # a cancelled item: nothing sold
    price, tax = _amount(item, "ItemPrice"), _amount(item, "ItemTax")
    promotion = _amount(item, "PromotionDiscount")
    promotion_tax = _amount(item, "PromotionDiscountTax")
    facilitated = _is_facilitated(item)
    taxes = ()
    if facilitated and included:
        price, promotion = price - tax, promotion - promotion_tax
    elif not facilitated and tax:
        taxes = (_tax_line(tax, price - tax if included else price, included),)
    # Amazon states the price of the whole quantity: a unit price rounded up
    # to the cent, the rounding given back as discount, keeps it exact.
    unit = (price / quantity).quantize(CENT, rounding=ROUND_CEILING)
    discount = promotion + (unit * quantity - price)
    line = OrderLineData(
        external_ref=str(item["OrderItemId"]),
        sku=item.get("SellerSKU") or None,
        # The seller's offer is its SKU (listings are patched by SKU); the
        # ASIN is Amazon's catalogue product, shared by every seller.
        variant_ref=item.get("SellerSKU") or None,
        product_ref=item.get("ASIN") or None,
        name=item.get("Title") or None,
        quantity=quantity,
        unit_price=unit,
        discount_amount=discount,
        taxes=taxes,
    )
    promo = None
    if promotion:
        code = ",".join(item.get("PromotionIds") or ()) or None
        promo = DiscountData("Amazon promotion", code, promotion, "line")
    collected = tax - promotion_tax if facilitated else ZERO
    return line, promo, collected


def _shipping(order, items, included):
    """(shipping lines, facilitator tax collected on shipping): one line, the
    sum of the items' shipping, named after the service level."""
    price = discount = collected = seller_tax = ZERO
    for item in items:
        tax = _amount(item, "ShippingTax")
        discount_tax = _amount(item, "ShippingDiscountTax")
        item_price = _amount(item, "ShippingPrice")
        item_discount = _amount(item, "ShippingDiscount")
        if _is_facilitated(item):
            collected += tax - discount_tax
            if included:
                item_price, item_discount = (
                    item_price - tax,
                    item_discount - discount_tax,
                )
        else:
            seller_tax += tax - discount_tax
        price += item_price
        discount += item_discount
    if not (price or discount):
        return (), collected
    base = price - seller_tax if included else price
    line = ShippingLineData(
        title=order.get("ShipServiceLevel") or None,
        code=order.get("ShipmentServiceLevelCategory") or None,
        price=price,
        discount_amount=discount,
        taxes=(_tax_line(seller_tax, base, included),) if seller_tax else (),
    )
    return (line,), collected


def _tax_line(tax, base, included):
    rate = (tax / base).quantize(RATE_PLACES) if base else ZERO
    return TaxLineData(
        title=SELLER_TAX_TITLE, rate=rate, amount=tax, price_included=included
    )


def _seller_tax(lines, shipping):
    return sum(
        (t.amount for part in (*lines, *shipping) for t in part.taxes),
        ZERO,
    )


def _customer(order):
    """The buyer as the Orders API shows it without a restricted data token:
    Amazon's anonymized email, a name only when the seller may see it."""
    buyer = order.get("BuyerInfo") or {}
    email = normalize_email(buyer.get("BuyerEmail"))
    name = buyer.get("BuyerName") or None
    first, _space, last = (name or "").rpartition(" ")
    return CustomerData(
        external_ref=email,
        email=email,
        first_name=first or None,
        last_name=last or None,
    )


def _address(order):
    address = order.get("ShippingAddress") or {}
    if not address:
        return None
    buyer = order.get("BuyerInfo") or {}
    street = ", ".join(
        part
        for part in (address.get(k) for k in ("AddressLine1", "AddressLine2"))
        if part
    )
    return AddressData(
        name=address.get("Name") or buyer.get("BuyerName") or None,
        company=address.get("CompanyName") or None,
        street=street or None,
        city=address.get("City") or None,
        zip=address.get("PostalCode") or None,
        state_code=address.get("StateOrRegion") or None,
        country_code=address.get("CountryCode") or None,
        phone=address.get("Phone") or None,
        email=normalize_email(buyer.get("BuyerEmail")),
    )


def _facilitator_note(collected, currency):
    if not collected:
        return None
    return (
        f"Amazon collected and remits {collected} {currency} of tax on this "
        "order (marketplace facilitator): not on the invoice."
    )
