"""WooCommerce REST v3 JSON (what GET returns, and what webhooks carry).

Shapes follow simulator/reference/woocommerce/*.json (the REST docs examples):
amounts as strings with two decimals, dates without zone (`date_*`, site
time, UTC here) and with (`date_*_gmt`), line `price` as a JSON number.
WooCommerce keeps line amounts without tax even when prices include tax;
`prices_include_tax` only says how the shop entered them.
"""

from decimal import Decimal

from .orders import GATEWAY_TITLES, line_net, tax_of
from .util import cents, money, wc_date

TAX_RATE_ID = 75


def links(base_url, *parts):
    """`_links` of a resource: self, collection (and `up` for children)."""
    path = "/".join(str(p) for p in parts)
    collection = "/".join(str(p) for p in parts[:-1])
    result = {
        "self": [{"href": f"{base_url}/wp-json/wc/v3/{path}"}],
        "collection": [{"href": f"{base_url}/wp-json/wc/v3/{collection}"}],
    }
    if len(parts) > 2:
        up = "/".join(str(p) for p in parts[:-2])
        result["up"] = [{"href": f"{base_url}/wp-json/wc/v3/{up}"}]
    return result


# === PRODUCTS ===


def product_json(product, base_url):
    """A product, or a variation (GET products/<parent>/variations/<id>)."""
    is_variation = product["type"] == "variation"
    path = (
        ("products", product["parent_id"], "variations", product["id"])
        if is_variation
        else ("products", product["id"])
    )
    payload = {
        "id": product["id"],
        "name": product["name"],
        "slug": product["slug"],
        "permalink": f"{base_url}/product/{product['slug']}/",
        "date_created": wc_date(product["date_created"]),
        "date_created_gmt": wc_date(product["date_created"]),
        "date_modified": wc_date(product["date_modified"]),
        "date_modified_gmt": wc_date(product["date_modified"]),
        "type": product["type"],
        "status": product.get("status", "publish"),
        "featured": False,
        "catalog_visibility": "visible",
        "description": product.get("description", ""),
        "short_description": "",
        "sku": product["sku"],
        "price": product["price"],
        "regular_price": product["regular_price"],
        "sale_price": product.get("sale_price", ""),
        "date_on_sale_from": None,
        "date_on_sale_from_gmt": None,
        "date_on_sale_to": None,
        "date_on_sale_to_gmt": None,
        "on_sale": False,
        "purchasable": True,
        "total_sales": 0,
        "virtual": False,
        "downloadable": False,
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "external_url": "",
        "button_text": "",
        "tax_status": "taxable",
        "tax_class": "",
        "manage_stock": product["manage_stock"],
        "stock_quantity": product["stock_quantity"],
        "stock_status": product["stock_status"],
        "backorders": "no",
        "backorders_allowed": False,
        "backordered": False,
        "low_stock_amount": None,
        "sold_individually": False,
        "weight": product.get("weight", ""),
        "dimensions": {"length": "", "width": "", "height": ""},
        "shipping_required": True,
        "shipping_taxable": True,
        "shipping_class": "",
        "shipping_class_id": 0,
        "reviews_allowed": True,
        "average_rating": "0.00",
        "rating_count": 0,
        "related_ids": [],
        "upsell_ids": [],
        "cross_sell_ids": [],
        "parent_id": product["parent_id"],
        "purchase_note": "",
        "categories": [],
        "tags": [],
        "images": [],
        "attributes": product["attributes"],
        "default_attributes": [],
        "variations": product["variations"],
        "grouped_products": [],
        "menu_order": 0,
        "meta_data": [],
        "_links": links(base_url, *path),
    }
    if is_variation:
        for key in ("related_ids", "upsell_ids", "cross_sell_ids", "variations"):
            payload.pop(key)
        payload["image"] = None
    return payload


# === ORDERS ===


def order_json(order, state, base_url):
    """GET /orders/<id>; also the order.created / order.updated body."""
    amounts = _amounts(order)
    paid = order["transactions"][:1]
    gateway = paid[0]["gateway"] if paid else "bacs"
    return {
        "id": int(order["id"]),
        "parent_id": 0,
        "status": _status(order),
        "currency": order["presentment_currency"],
        "version": "9.9.0",
        "prices_include_tax": order["taxes_included"],
        "date_created": wc_date(order["created_at"]),
        "date_modified": wc_date(order["updated_at"]),
        "discount_total": money(amounts["discount_total"]),
        "discount_tax": money(amounts["discount_tax"]),
        "shipping_total": money(amounts["shipping_total"]),
        "shipping_tax": money(amounts["shipping_tax"]),
        "cart_tax": money(amounts["cart_tax"]),
        "total": money(amounts["total"]),
        "total_tax": money(amounts["total_tax"]),
        "customer_id": int(order["customer"]["id"]) if order["customer"] else 0,
        "order_key": f"wc_order_{order['token'][:13]}",
        "billing": _billing(order),
        "shipping": _shipping_address(order),
        "payment_method": gateway,
        "payment_method_title": GATEWAY_TITLES.get(gateway, gateway),
        "transaction_id": (paid[0]["authorization"] or "") if paid else "",
        "customer_ip_address": "203.0.113.7",
        "customer_user_agent": "Mozilla/5.0 (simulator)",
        "created_via": "checkout",
        "customer_note": order["note"] or "",
        "date_completed": wc_date(order["completed_at"])
        if order.get("completed_at")
        else None,
        "date_paid": wc_date(order["created_at"]) if paid else None,
        "cart_hash": order["token"],
        "number": str(order["number"]),
        "meta_data": [dict(m) for m in order.get("meta_data", ())],
        "line_items": [_line(order, line, state) for line in order["lines"]],
        "tax_lines": _tax_lines(order, amounts),
        "shipping_lines": [_shipping_line(order, s) for s in order["shipping_lines"]],
        "fee_lines": [],
        "coupon_lines": _coupon_lines(order),
        "refunds": [
            {
                "id": int(r["id"]),
                "reason": r["note"] or "",
                "total": money(-r["amount"]),
            }
            for r in order["refunds"]
        ],
        "payment_url": f"{base_url}/checkout/order-pay/{order['id']}/",
        "is_editable": False,
        "needs_payment": not paid,
        "needs_processing": True,
        "date_created_gmt": wc_date(order["created_at"]),
        "date_modified_gmt": wc_date(order["updated_at"]),
        "date_completed_gmt": None,
        "date_paid_gmt": wc_date(order["created_at"]) if paid else None,
        "currency_symbol": {"USD": "$", "EUR": "€", "GBP": "£"}.get(
            order["presentment_currency"], order["presentment_currency"]
        ),
        "_links": links(base_url, "orders", order["id"]),
    }


def line_split(order, line):
    """(subtotal, subtotal_tax, total, total_tax) without tax, as WC stores."""
    gross, net = line["price"] * line["quantity"], line_net(line)
    subtotal_tax, total_tax = tax_of(gross, order), line["tax"]
    if order["taxes_included"]:
        return gross - subtotal_tax, subtotal_tax, net - total_tax, total_tax
    return gross, subtotal_tax, net, total_tax


def _amounts(order):
    splits = [line_split(order, line) for line in order["lines"]]
    cart_tax = sum((s[3] for s in splits), Decimal(0))
    shipping_tax = sum((s["tax"] for s in order["shipping_lines"]), Decimal(0))
    shipping_total = sum(
        (_shipping_net(order, s) for s in order["shipping_lines"]), Decimal(0)
    )
    lines_total = sum((s[2] for s in splits), Decimal(0))
    return {
        "discount_total": sum((s[0] - s[2] for s in splits), Decimal(0)),
        "discount_tax": sum((s[1] - s[3] for s in splits), Decimal(0)),
        "shipping_total": shipping_total,
        "shipping_tax": shipping_tax,
        "cart_tax": cart_tax,
        "total_tax": cart_tax + shipping_tax,
        "total": lines_total + shipping_total + cart_tax + shipping_tax,
    }


def _shipping_net(order, shipping):
    if order["taxes_included"]:
        return shipping["price"] - shipping["tax"]
    return shipping["price"]


def _status(order):
    if order["cancelled_at"]:
        return "cancelled"
    if order.get("woo_status"):
        return order["woo_status"]
    if order["financial_status"] == "refunded":
        return "refunded"
    if order["financial_status"] in ("pending", "authorized"):
        return "on-hold" if order["financial_status"] == "authorized" else "pending"
    if all(line["fulfilled"] >= line["quantity"] for line in order["lines"]):
        return "completed"
    return "processing"


def _line(order, line, state):
    subtotal, subtotal_tax, total, total_tax = line_split(order, line)
    variant = state.variants.get(line["variant_id"], {})
    parent = line["woo_parent_id"]
    return {
        "id": int(line["id"]),
        "name": line["title"]
        if line["variant_title"] == "Default Title"
        else f"{line['title']} - {line['variant_title']}",
        "product_id": int(parent or variant.get("woo_id") or 0),
        "variation_id": int(variant.get("woo_id") or 0) if parent else 0,
        "quantity": line["quantity"],
        "tax_class": "",
        "subtotal": money(subtotal),
        "subtotal_tax": money(subtotal_tax),
        "total": money(total),
        "total_tax": money(total_tax),
        "taxes": [
            {
                "id": TAX_RATE_ID,
                "total": money(total_tax),
                "subtotal": money(subtotal_tax),
            }
        ]
        if total_tax or subtotal_tax
        else [],
        "meta_data": [],
        "sku": line["sku"],
        "price": float(cents(total / line["quantity"])),
        "image": {"id": "", "src": ""},
        "parent_name": line["title"] if parent else None,
    }


def _tax_lines(order, amounts):
    if not amounts["total_tax"]:
        return []
    return [
        {
            "id": TAX_RATE_ID + 1000,
            "rate_code": f"{order['billing_address']['country_code']}-"
            f"{order['tax_title']}-1",
            "rate_id": TAX_RATE_ID,
            "label": order["tax_title"],
            "compound": False,
            "tax_total": money(amounts["cart_tax"]),
            "shipping_tax_total": money(amounts["shipping_tax"]),
            "rate_percent": float(order["tax_rate"] * 100),
            "meta_data": [],
        }
    ]


def _shipping_line(order, shipping):
    return {
        "id": int(shipping["id"]),
        "method_title": shipping["title"],
        "method_id": shipping["method_id"],
        "instance_id": "1",
        "total": money(_shipping_net(order, shipping)),
        "total_tax": money(shipping["tax"]),
        "taxes": [{"id": TAX_RATE_ID, "total": money(shipping["tax"]), "subtotal": ""}]
        if shipping["tax"]
        else [],
        "meta_data": [],
    }


def _coupon_lines(order):
    coupons = []
    for application in order["discount_applications"]:
        amount = sum(
            (
                a["amount"]
                for line in order["lines"]
                for a in line["discounts"]
                if a["application"] == application["index"]
            ),
            Decimal(0),
        )
        tax = tax_of(amount, order)
        net = amount - tax if order["taxes_included"] else amount
        coupons.append(
            {
                "id": 900 + application["index"],
                "code": (application["code"] or application["title"]).lower(),
                "discount": money(net),
                "discount_tax": money(tax),
                "meta_data": [],
            }
        )
    return coupons


def _billing(order):
    address = order["billing_address"]
    return {
        **_shipping_address(order, address),
        "email": order["email"],
        "phone": order["phone"] or "",
    }


def _shipping_address(order, address=None):
    address = address or order["shipping_address"]
    return {
        "first_name": address["first_name"],
        "last_name": address["last_name"],
        "company": address["company"] or "",
        "address_1": address["address1"],
        "address_2": address["address2"] or "",
        "city": address["city"],
        "state": address["province_code"],
        "postcode": address["zip"],
        "country": address["country_code"],
        "phone": address["phone"] or "",
    }


# === REFUNDS ===


def refund_json(order, refund, base_url):
    """GET /orders/<id>/refunds/<refund id> (negative line amounts)."""
    lines = {line["id"]: line for line in order["lines"]}
    return {
        "id": int(refund["id"]),
        "date_created": wc_date(refund["created_at"]),
        "date_created_gmt": wc_date(refund["created_at"]),
        "amount": money(refund["amount"]),
        "reason": refund["note"] or "",
        "refunded_by": 1,
        "refunded_payment": refund.get("refunded_payment", True),
        "meta_data": [],
        "line_items": [
            _refund_line(order, lines[item["line_id"]], item)
            for item in refund["lines"]
        ],
        "shipping_lines": [
            _refund_shipping_line(order, item)
            for item in refund.get("shipping_lines", ())
        ],
        "tax_lines": [],
        "fee_lines": [],
        "_links": links(base_url, "orders", order["id"], "refunds", refund["id"]),
    }


def _refund_shipping_line(order, item):
    """A refunded shipping line: negative, net of tax like the order's."""
    tax = item["tax"]
    net = item["amount"] - tax if order["taxes_included"] else item["amount"]
    return {
        "id": int(item["id"]) % 10**6,
        "method_title": "Shipping",
        "method_id": "flat_rate",
        "total": money(-net),
        "total_tax": money(-tax),
        "taxes": [{"id": TAX_RATE_ID, "total": money(-tax), "subtotal": ""}],
        "meta_data": [
            {"id": 0, "key": "_refunded_item_id", "value": str(item["line_id"])}
        ],
    }


def _refund_line(order, line, item):
    tax = item["tax"]
    net = item["amount"] - tax if order["taxes_included"] else item["amount"]
    return {
        "id": int(item["id"]) % 10**6,
        "name": line["title"],
        "product_id": int(line["woo_parent_id"] or line["variant_id"]),
        "variation_id": int(line["variant_id"]) if line["woo_parent_id"] else 0,
        "quantity": -item["quantity"],
        "tax_class": "",
        "subtotal": money(-net),
        "subtotal_tax": money(-tax),
        "total": money(-net),
        "total_tax": money(-tax),
        "taxes": [{"id": TAX_RATE_ID, "total": money(-tax), "subtotal": money(-tax)}],
        "meta_data": [{"id": 0, "key": "_refunded_item_id", "value": str(line["id"])}],
        "sku": line["sku"],
        "price": float(-cents(net / item["quantity"])),
    }


# === WEBHOOKS ===


def webhook_json(hook, base_url):
    resource, event = hook["topic"].split(".", 1)
    return {
        "id": hook["id"],
        "name": hook["name"],
        "status": hook["status"],
        "topic": hook["topic"],
        "resource": resource,
        "event": event,
        "hooks": WEBHOOK_HOOKS.get(hook["topic"], []),
        "delivery_url": hook["delivery_url"],
        "date_created": wc_date(hook["created_at"]),
        "date_created_gmt": wc_date(hook["created_at"]),
        "date_modified": wc_date(hook["modified_at"]),
        "date_modified_gmt": wc_date(hook["modified_at"]),
        "_links": links(base_url, "webhooks", hook["id"]),
    }


WEBHOOK_HOOKS = {
    "order.created": [
        "woocommerce_new_order",
        "woocommerce_process_shop_order_meta",
    ],
    "order.updated": [
        "woocommerce_update_order",
        "woocommerce_order_refunded",
        "woocommerce_delete_order_refund",
    ],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "product.created": ["woocommerce_process_product_meta", "woocommerce_new_product"],
    "product.updated": ["woocommerce_update_product", "woocommerce_product_set_stock"],
    "product.deleted": ["wp_trash_post", "woocommerce_trash_product"],
}
