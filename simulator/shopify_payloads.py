"""Shopify webhook bodies (REST-style snake_case JSON, API 2026-07).

Built from the canonical order (orders.py) with the keys and value forms of
the official samples in simulator/reference/shopify/webhooks/: ids as JSON
numbers (beyond 2**53), amounts as strings, `*_set` money bags, except where
the sample itself uses numbers (refund line `subtotal` / `total_tax`).
"""

from .orders import line_discount, totals
from .util import cents, gid, iso_offset, money


class MoneyBags:
    """Shop and presentment money of one order's amounts."""

    def __init__(self, order):
        self.order = order
        self.shop_rate = order["rate"]

    def shop(self, amount):
        return amount if self.shop_rate == 1 else cents(amount / self.shop_rate)

    def bag(self, amount):
        return {
            "shop_money": {
                "amount": money(self.shop(amount)),
                "currency_code": self.order["currency"],
            },
            "presentment_money": {
                "amount": money(amount),
                "currency_code": self.order["presentment_currency"],
            },
        }

    def total_bag(self, key, subtract=None):
        """A money bag of one of `totals()`, computed on each side."""
        shop, presentment = totals(self.order, True), totals(self.order)
        less = subtract or (lambda _side: 0)
        return {
            "shop_money": {
                "amount": money(shop[key] - less(True)),
                "currency_code": self.order["currency"],
            },
            "presentment_money": {
                "amount": money(presentment[key] - less(False)),
                "currency_code": self.order["presentment_currency"],
            },
        }


def order_payload(order):
    """The orders/create, orders/updated and orders/cancelled body."""
    bags = MoneyBags(order)
    amounts = totals(order)
    refunded_tax = sum((r["tax"] for f in order["refunds"] for r in f["lines"]), 0)
    refunded_net = sum((r["amount"] for f in order["refunds"] for r in f["lines"]), 0)
    return {
        "id": int(order["id"]),
        "admin_graphql_api_id": gid("Order", order["id"]),
        "app_id": None,
        "browser_ip": None,
        "buyer_accepts_marketing": False,
        "cancel_reason": order["cancel_reason"],
        "cancelled_at": _stamp(order["cancelled_at"]),
        "cart_token": None,
        "checkout_token": None,
        "client_details": None,
        "closed_at": None,
        "confirmation_number": order["token"][:9].upper(),
        "confirmed": True,
        "contact_email": order["email"],
        "created_at": iso_offset(order["created_at"]),
        "currency": order["currency"],
        "current_shipping_price_set": bags.total_bag("shipping"),
        "current_subtotal_price": money(amounts["subtotal"] - refunded_net),
        "current_subtotal_price_set": bags.total_bag(
            "subtotal", lambda shop: _refunded(order, "amount", shop)
        ),
        "current_total_additional_fees_set": None,
        "current_total_discounts": money(amounts["discounts"]),
        "current_total_discounts_set": bags.total_bag("discounts"),
        "current_total_duties_set": None,
        "current_total_price": money(amounts["total"] - amounts["refunded"]),
        "current_total_price_set": bags.total_bag(
            "total", lambda shop: totals(order, shop)["refunded"]
        ),
        "current_total_tax": money(amounts["tax"] - refunded_tax),
        "current_total_tax_set": bags.total_bag(
            "tax", lambda shop: _refunded(order, "tax", shop)
        ),
        "customer_locale": "en",
        "device_id": None,
        "discount_codes": _discount_codes(order),
        "duties_included": False,
        "email": order["email"],
        "estimated_taxes": False,
        "financial_status": order["financial_status"],
        "fulfillment_status": _fulfillment_status(order),
        "landing_site": None,
        "landing_site_ref": None,
        "location_id": None,
        "merchant_business_entity_id": "MTU0ODM4MDAwOQ",
        "merchant_of_record_app_id": None,
        "name": order["name"],
        "note": order["note"],
        "note_attributes": [],
        "number": order["number"] - 1000,
        "order_number": order["number"],
        "order_status_url": (
            f"https://shop.example/orders/{order['token']}/authenticate"
        ),
        "original_total_additional_fees_set": None,
        "original_total_duties_set": None,
        "payment_gateway_names": [t["gateway"] for t in order["transactions"][:1]],
        "phone": order["phone"],
        "po_number": None,
        "presentment_currency": order["presentment_currency"],
        "processed_at": iso_offset(order["processed_at"]),
        "reference": None,
        "referring_site": None,
        "source_identifier": None,
        "source_name": "web",
        "source_url": None,
        "subtotal_price": money(amounts["subtotal"]),
        "subtotal_price_set": bags.total_bag("subtotal"),
        "tags": ", ".join(order["tags"]),
        "tax_exempt": False,
        "tax_lines": _order_tax_lines(order, bags),
        "taxes_included": order["taxes_included"],
        "test": False,
        "token": order["token"],
        "total_cash_rounding_payment_adjustment_set": bags.bag(0),
        "total_cash_rounding_refund_adjustment_set": bags.bag(0),
        "total_discounts": money(amounts["discounts"]),
        "total_discounts_set": bags.total_bag("discounts"),
        "total_line_items_price": money(amounts["line_items"]),
        "total_line_items_price_set": bags.total_bag("line_items"),
        "total_outstanding": money(0 if order["transactions"] else amounts["total"]),
        "total_price": money(amounts["total"]),
        "total_price_set": bags.total_bag("total"),
        "total_shipping_price_set": bags.total_bag("shipping"),
        "total_tax": money(amounts["tax"]),
        "total_tax_set": bags.total_bag("tax"),
        "total_tip_received": "0.00",
        "total_weight": 0,
        "updated_at": iso_offset(order["updated_at"]),
        "user_id": None,
        "billing_address": _address(order["billing_address"]),
        "customer": _customer(order),
        "discount_applications": [
            _discount_application(d) for d in order["discount_applications"]
        ],
        "fulfillments": [],
        "line_items": [line_payload(order, line, bags) for line in order["lines"]],
        "payment_terms": None,
        "refunds": [refund_payload(order, r) for r in order["refunds"]],
        "shipping_address": _address(order["shipping_address"]),
        "shipping_lines": [
            _shipping_line(order, s, bags) for s in order["shipping_lines"]
        ],
        "returns": [],
        "line_item_groups": [],
    }


def line_payload(order, line, bags):
    discount = line_discount(line)
    return {
        "id": int(line["id"]),
        "admin_graphql_api_id": gid("LineItem", line["id"]),
        "attributed_staffs": [],
        "current_quantity": line["quantity"] - line["refunded"],
        "fulfillable_quantity": max(
            0, line["quantity"] - line["refunded"] - line["fulfilled"]
        ),
        "fulfillment_service": "manual",
        "fulfillment_status": "fulfilled"
        if line["fulfilled"] >= line["quantity"]
        else None,
        "gift_card": False,
        "grams": 200,
        "name": _line_name(line),
        "price": money(line["price"]),
        "price_set": bags.bag(line["price"]),
        "product_exists": True,
        "product_id": int(line["product_id"]),
        "properties": [],
        "quantity": line["quantity"],
        "requires_shipping": True,
        "sales_line_item_group_id": None,
        "sku": line["sku"],
        "taxable": True,
        "title": line["title"],
        "total_discount": money(discount),
        "total_discount_set": bags.bag(discount),
        "variant_id": int(line["variant_id"]),
        "variant_inventory_management": "shopify",
        "variant_title": line["variant_title"],
        "vendor": "Simulated vendor",
        "tax_lines": _tax_lines(order, line["tax"], bags),
        "duties": [],
        "discount_allocations": [
            {
                "amount": money(d["amount"]),
                "amount_set": bags.bag(d["amount"]),
                "discount_application_index": d["application"],
            }
            for d in line["discounts"]
        ],
    }


def refund_payload(order, refund):
    """The refunds/create body (also nested in the order's `refunds`)."""
    bags = MoneyBags(order)
    lines = {line["id"]: line for line in order["lines"]}
    return {
        "id": int(refund["id"]),
        "order_id": int(order["id"]),
        "created_at": iso_offset(refund["created_at"]),
        "note": refund["note"],
        "user_id": None,
        "processed_at": iso_offset(refund["created_at"]),
        "duties": [],
        "total_duties_set": bags.bag(0),
        "return": None,
        "refund_shipping_lines": [],
        "restock": refund["restock"],
        "admin_graphql_api_id": gid("Refund", refund["id"]),
        "order_adjustments": _shipping_adjustments(order, refund, bags),
        "refund_line_items": [
            {
                "id": int(item["id"]),
                "quantity": item["quantity"],
                "line_item_id": int(item["line_id"]),
                "location_id": int(item["location_id"])
                if item["location_id"]
                else None,
                "restock_type": item["restock_type"],
                "subtotal": float(item["amount"]),
                "total_tax": float(item["tax"]),
                "subtotal_set": bags.bag(item["amount"]),
                "total_tax_set": bags.bag(item["tax"]),
                "line_item": line_payload(order, lines[item["line_id"]], bags),
            }
            for item in refund["lines"]
        ],
        "transactions": [transaction_payload(order, t) for t in refund["transactions"]],
    }


def transaction_payload(order, transaction):
    return {
        "id": int(transaction["id"]),
        "order_id": int(order["id"]),
        "kind": transaction["kind"],
        "gateway": transaction["gateway"],
        "status": transaction["status"],
        "message": None,
        "created_at": iso_offset(transaction["created_at"]),
        "test": False,
        "authorization": transaction["authorization"],
        "location_id": None,
        "user_id": None,
        "parent_id": int(transaction["parent_id"])
        if transaction["parent_id"]
        else None,
        "processed_at": iso_offset(transaction["created_at"]),
        "device_id": None,
        "error_code": None,
        "source_name": "web",
        "receipt": {},
        "amount": money(transaction["amount"]),
        "currency": order["presentment_currency"],
        "payment_id": f"{order['token'][:12]}.{transaction['id'][-4:]}",
        "total_unsettled_set": MoneyBags(order).bag(0),
        "manual_payment_gateway": transaction["gateway"] == "manual",
        "amount_rounding": None,
        "admin_graphql_api_id": gid("OrderTransaction", transaction["id"]),
    }


def inventory_level_payload(item, location, available, updated_at):
    return {
        "inventory_item_id": int(item),
        "location_id": int(location),
        "available": available,
        "updated_at": iso_offset(updated_at),
        "admin_graphql_api_id": gid(
            "InventoryLevel", f"{location}?inventory_item_id={item}"
        ),
    }


def fulfillment_payload(order, fulfillment):
    bags = MoneyBags(order)
    lines = {line["id"]: line for line in order["lines"]}
    return {
        "id": int(fulfillment["id"]),
        "order_id": int(order["id"]),
        "status": fulfillment["status"].lower(),
        "created_at": iso_offset(fulfillment["created_at"]),
        "service": "manual",
        "updated_at": iso_offset(fulfillment["created_at"]),
        "tracking_company": fulfillment["tracking"].get("company"),
        "shipment_status": None,
        "location_id": int(fulfillment["location_id"]),
        "origin_address": None,
        "email": order["email"],
        "destination": _address(order["shipping_address"]),
        "line_items": [
            {**line_payload(order, lines[ref], bags), "quantity": quantity}
            for ref, quantity in fulfillment["lines"].items()
        ],
        "tracking_number": fulfillment["tracking"].get("number"),
        "tracking_numbers": [fulfillment["tracking"]["number"]]
        if fulfillment["tracking"].get("number")
        else [],
        "tracking_url": fulfillment["tracking"].get("url"),
        "tracking_urls": [],
        "receipt": {},
        "name": f"{order['name']}.{len(order['fulfillments'])}",
        "admin_graphql_api_id": gid("Fulfillment", fulfillment["id"]),
    }


def app_uninstalled_payload(state):
    """The shop as app/uninstalled sends it: every key of Shopify's sample."""
    email = f"owner@{state.shop_domain}"
    money_format = "${{amount}}"
    with_currency = f"{money_format} {state.currency}"
    return {
        "id": 548380009,
        "name": state.shop_name,
        "email": email,
        "domain": None,
        "province": "New York",
        "country": "US",
        "address1": "350 Fifth Avenue",
        "zip": "10118",
        "city": "New York",
        "source": None,
        "phone": "",
        "latitude": None,
        "longitude": None,
        "primary_locale": "en",
        "address2": None,
        "created_at": None,
        "updated_at": None,
        "country_code": "US",
        "country_name": "United States",
        "currency": state.currency,
        "customer_email": email,
        "timezone": "(GMT+00:00) UTC",
        "iana_timezone": "Etc/UTC",
        "shop_owner": "Simulated owner",
        "money_format": money_format,
        "money_with_currency_format": with_currency,
        "weight_unit": "kg",
        "province_code": "NY",
        "taxes_included": None,
        "auto_configure_tax_inclusivity": None,
        "tax_shipping": None,
        "county_taxes": None,
        "plan_display_name": "Basic",
        "plan_name": "basic",
        "has_discounts": False,
        "has_gift_cards": False,
        "myshopify_domain": state.shop_domain,
        "google_apps_domain": None,
        "google_apps_login_enabled": None,
        "money_in_emails_format": money_format,
        "money_with_currency_in_emails_format": with_currency,
        "eligible_for_payments": True,
        "requires_extra_payments_agreement": False,
        "password_enabled": None,
        "has_storefront": True,
        "finances": True,
        "primary_location_id": int(next(iter(state.locations))),
        "checkout_api_supported": True,
        "multi_location_enabled": len(state.locations) > 1,
        "setup_required": False,
        "pre_launch_enabled": False,
        "enabled_presentment_currencies": [state.currency],
        "marketing_sms_consent_enabled_at_checkout": False,
        "transactional_sms_disabled": False,
    }


# === PARTS ===


def _stamp(moment):
    return iso_offset(moment) if moment else None


def _refunded(order, key, shop_side):
    convert = (lambda x: x) if not shop_side else MoneyBags(order).shop
    return sum(
        (convert(item[key]) for refund in order["refunds"] for item in refund["lines"]),
        0,
    )


def _fulfillment_status(order):
    fulfilled = sum(line["fulfilled"] for line in order["lines"])
    if not fulfilled:
        return None
    wanted = sum(line["quantity"] for line in order["lines"])
    return "fulfilled" if fulfilled >= wanted else "partial"


def _line_name(line):
    if line["variant_title"] == "Default Title":
        return line["title"]
    return f"{line['title']} - {line['variant_title']}"


def _tax_lines(order, amount, bags):
    if not amount:
        return []
    return [
        {
            "channel_liable": False,
            "price": money(amount),
            "price_set": bags.bag(amount),
            "rate": float(order["tax_rate"]),
            "title": order["tax_title"],
        }
    ]


def _order_tax_lines(order, bags):
    amounts = totals(order)
    return _tax_lines(order, amounts["tax"], bags)


def _discount_codes(order):
    return [
        {
            "code": d["code"],
            "amount": money(
                sum(
                    (
                        a["amount"]
                        for line in order["lines"]
                        for a in line["discounts"]
                        if a["application"] == d["index"]
                    ),
                    0,
                )
            ),
            "type": d["value_type"],
        }
        for d in order["discount_applications"]
        if d["type"] == "discount_code"
    ]


def _discount_application(application):
    payload = {
        "target_type": application["target_type"],
        "type": application["type"],
        "value": str(application["value"]),
        "value_type": application["value_type"],
        "allocation_method": application["allocation_method"],
        "target_selection": application["target_selection"],
    }
    if application["type"] == "discount_code":
        payload["code"] = application["code"]
    else:
        payload["title"] = application["title"]
        payload["description"] = application["title"]
    return payload


def _shipping_line(order, shipping, bags):
    return {
        "id": int(shipping["id"]),
        "carrier_identifier": None,
        "code": shipping["code"],
        "current_discounted_price_set": bags.bag(shipping["price"]),
        "discounted_price": money(shipping["price"]),
        "discounted_price_set": bags.bag(shipping["price"]),
        "is_removed": False,
        "phone": None,
        "price": money(shipping["price"]),
        "price_set": bags.bag(shipping["price"]),
        "requested_fulfillment_service_id": None,
        "source": "shopify",
        "title": shipping["title"],
        "tax_lines": _tax_lines(order, shipping["tax"], bags),
        "discount_allocations": [],
    }


def _shipping_adjustments(order, refund, bags):
    if not refund["shipping"]:
        return []
    return [
        {
            "id": int(refund["id"]) + 1,
            "order_id": int(order["id"]),
            "refund_id": int(refund["id"]),
            "amount": money(-refund["shipping"]),
            "tax_amount": "0.00",
            "kind": "shipping_refund",
            "reason": "Shipping refund",
            "amount_set": bags.bag(-refund["shipping"]),
            "tax_amount_set": bags.bag(0),
        }
    ]


def _address(address):
    if not address:
        return None
    return {**address, "latitude": None, "longitude": None}


def _customer(order):
    record = order["customer"]
    if not record:
        return None
    return {
        "id": int(record["id"]),
        "created_at": None,
        "updated_at": None,
        "first_name": record["first_name"],
        "last_name": record["last_name"],
        "state": "enabled",
        "note": None,
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "email": record["email"],
        "phone": record["phone"],
        "currency": order["currency"],
        "tax_exemptions": [],
        "admin_graphql_api_id": gid("Customer", record["id"]),
        "default_address": {
            **_address(order["billing_address"]),
            "id": int(record["id"]) + 1,
            "customer_id": int(record["id"]),
            "country_name": order["billing_address"]["country"],
            "default": True,
        },
    }


def order_edit_payload(edit):
    """`orders/edited` body (Shopify's sample shape): the edit's line deltas."""
    return {
        "order_edit": {
            "id": edit["id"],
            "app_id": None,
            "created_at": iso_offset(edit["created_at"]),
            "notify_customer": False,
            "order_id": edit["order_id"],
            "staff_note": "",
            "user_id": None,
            "line_items": {"additions": [], "removals": list(edit["removals"])},
            "discounts": {"line_item": {"additions": [], "removals": []}},
            "shipping_lines": {"additions": [], "removals": []},
        }
    }


def return_payload(order, record):
    """`returns/*` body: the return and its order, by id (lines are read
    through GraphQL `return(id:)`)."""
    return {
        "id": int(record["id"]),
        "admin_graphql_api_id": gid("Return", record["id"]),
        "name": record["name"],
        "status": record["status"].lower(),
        "order": {
            "id": int(order["id"]),
            "admin_graphql_api_id": gid("Order", order["id"]),
        },
        "total_return_line_items": sum(i["quantity"] for i in record["lines"]),
    }
