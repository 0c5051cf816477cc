"""Shopify GraphQL objects as plain dicts, for graphql-core to resolve.

A dict value that is callable is a field with arguments (connections,
`inventoryLevel(locationId:)`, `quantities(names:)`); it is called with the
field's arguments. Keys that are missing resolve to null (or to an empty
value for non-null fields, see shopify_graphql.resolve_field).
"""

import base64
import json
import re
import zlib
from decimal import Decimal

from graphql import GraphQLError

from .orders import RETURN_REASONS, line_discount, line_net, totals
from .shopify_payloads import MoneyBags
from .util import cents, gid, iso_z, money, number, parse_when

MAX_PAGE = 250
TERM = re.compile(r"(-?)(\w+):(>=|<=|>|<)?(\"[^\"]*\"|'[^']*'|\S+)")


# === CONNECTIONS AND SEARCH ===


def connection(items, build, *, first=None, last=None, after=None, before=None, **rest):
    """A Relay connection over `items` (dicts with "id"), Shopify's rules."""
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    size = first if first is not None else last
    if size > MAX_PAGE or size < 0:
        raise GraphQLError(
            f"The maximum number of items that can be requested is {MAX_PAGE}."
        )
    if rest.get("reverse"):
        items = items[::-1]
    ids = [str(item["id"]) for item in items]
    start = ids.index(_cursor_id(after)) + 1 if after in _known(ids, after) else 0
    end = ids.index(_cursor_id(before)) if before in _known(ids, before) else len(ids)
    window = items[start:end]
    if first is not None:
        page = window[:first]
        has_next, has_previous = len(window) > first, start > 0
    else:
        page = window[len(window) - last :] if last else []
        has_next, has_previous = end < len(items), len(window) > last
    edges = [{"cursor": make_cursor(item), "node": build(item)} for item in page]
    return {
        "edges": edges,
        "nodes": [edge["node"] for edge in edges],
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def make_cursor(item):
    raw = json.dumps({"last_id": int(item["id"]), "last_value": str(item["id"])})
    return base64.b64encode(raw.encode()).decode()


def _cursor_id(cursor):
    try:
        return str(json.loads(base64.b64decode(cursor))["last_id"])
    except (ValueError, KeyError, TypeError) as error:
        raise GraphQLError("Invalid cursor for current pagination sort.") from error


def _known(ids, cursor):
    """[cursor] when it names an item of the list, else [] (start/end)."""
    if not cursor:
        return []
    return [cursor] if _cursor_id(cursor) in ids else []


def search(items, query, fields):
    """Shopify search syntax, the part clients use: `field:value`,
    `field:>value` / `>=` / `<` / `<=`, a trailing `*` as prefix match, terms
    joined by spaces or AND (all must match), `-field:` negates."""
    if not query:
        return items
    terms = TERM.findall(query)
    return [item for item in items if all(_matches(item, t, fields) for t in terms)]


def _matches(item, term, fields):
    negate, name, operator, raw = term
    accessor = fields.get(name)
    if accessor is None:
        return True  # Shopify ignores unknown search fields
    value, wanted = accessor(item), raw.strip("'\"")
    if value is None:
        result = False
    elif hasattr(value, "tzinfo"):
        result = _compare(value, parse_when(wanted), operator)
    elif isinstance(value, int):
        result = _compare(value, int(number(wanted)), operator)
    elif wanted.endswith("*"):
        result = str(value).lower().startswith(wanted[:-1].lower())
    else:
        result = str(value).lower() == wanted.lower()
    return result != bool(negate)


def _compare(value, wanted, operator):
    return {
        ">": value > wanted,
        ">=": value >= wanted,
        "<": value < wanted,
        "<=": value <= wanted,
    }.get(operator, value == wanted)


# === CATALOGUE AND INVENTORY ===


class CatalogueNodes:
    """Shop, locations, products, variants, inventory items and levels."""

    def __init__(self, state):
        self.state = state

    def shop(self):
        state = self.state
        return {
            "id": gid("Shop", 548380009),
            "name": state.shop_name,
            "myshopifyDomain": state.shop_domain,
            "currencyCode": state.currency,
            "weightUnit": state.weight_unit,
            "ianaTimezone": "Etc/UTC",
            "timezoneAbbreviation": "UTC",
            "email": f"owner@{state.shop_domain}",
            "contactEmail": f"owner@{state.shop_domain}",
            "taxesIncluded": False,
            "enabledPresentmentCurrencies": ["USD", "EUR", "GBP", "CAD"],
        }

    def location(self, location):
        return {
            "__typename": "Location",
            "id": gid("Location", location["id"]),
            "legacyResourceId": location["id"],
            "name": location["name"],
            "isActive": True,
            "fulfillsOnlineOrders": True,
            "shipsInventory": True,
            "inventoryLevel": lambda _info, inventoryItemId, **_: self.level(  # noqa: N803
                number(inventoryItemId), location["id"]
            ),
            "inventoryLevels": lambda _info, **args: connection(
                self._levels_at(location["id"]), self._level_node, **args
            ),
        }

    def product(self, product):
        variants = [self.state.variants[v] for v in product["variant_ids"]]
        return {
            "__typename": "Product",
            "id": gid("Product", product["id"]),
            "legacyResourceId": product["id"],
            "title": product["title"],
            "descriptionHtml": product.get("description_html") or "",
            "handle": product["handle"],
            "status": product["status"],
            "vendor": "Simulated vendor",
            "productType": "",
            "tags": [],
            "hasOnlyDefaultVariant": len(variants) == 1,
            "tracksInventory": True,
            # Resolved only when asked: a sum over every level of the shop.
            "totalInventory": lambda _info: sum(self._available(v) for v in variants),
            "createdAt": iso_z(product["created_at"]),
            "updatedAt": iso_z(product["updated_at"]),
            "variants": lambda _info, **args: connection(
                variants, self.variant, **_strip(args)
            ),
            "mediaCount": {
                "count": len(product.get("media") or ()),
                "precision": "EXACT",
            },
            "media": lambda _info, **args: connection(
                product.get("media") or [], self.media, **_strip(args)
            ),
        }

    @staticmethod
    def media(item):
        """A product's image (MediaImage) as staged and set by productSet."""
        return {
            "__typename": "MediaImage",
            "id": gid("MediaImage", item["id"]),
            "alt": item["alt"],
            "mimeType": item["mime_type"],
            "mediaContentType": "IMAGE",
            "status": "READY",
            "image": {"url": item["source"], "altText": item["alt"]},
        }

    def variant(self, variant):
        product = self.state.products[variant["product"]]
        return {
            "__typename": "ProductVariant",
            "id": gid("ProductVariant", variant["id"]),
            "legacyResourceId": variant["id"],
            "sku": variant["sku"],
            "title": variant["title"],
            "displayName": f"{product['title']} - {variant['title']}",
            "price": money(variant["price"]),
            "compareAtPrice": variant.get("compare_at_price")
            and money(variant["compare_at_price"]),
            "barcode": variant.get("barcode"),
            "selectedOptions": [
                {"name": name, "value": value}
                for (name, _values), value in zip(
                    product.get("options") or (),
                    variant.get("options") or (),
                    strict=False,
                )
            ],
            "inventoryQuantity": lambda _info: self._available(variant),
            "inventoryPolicy": "DENY",
            "availableForSale": True,
            "taxable": True,
            "position": product["variant_ids"].index(variant["id"]) + 1,
            "createdAt": iso_z(variant["created_at"]),
            "updatedAt": iso_z(variant["updated_at"]),
            "inventoryItem": lambda _info: self.item(variant["inventory_item"]),
            "product": lambda _info: self.product(product),
        }

    def item(self, ref):
        state = self.state
        variant = state.variants.get(state.items.get(ref))
        if variant is None:
            return None
        return {
            "__typename": "InventoryItem",
            "id": gid("InventoryItem", ref),
            "legacyResourceId": ref,
            "sku": variant["sku"],
            "tracked": True,
            "requiresShipping": True,
            "createdAt": iso_z(variant["created_at"]),
            "updatedAt": iso_z(variant["updated_at"]),
            "variant": lambda _info: self.variant(variant),
            "inventoryLevel": lambda _info, locationId, **_: self.level(  # noqa: N803
                ref, number(locationId)
            ),
            "inventoryLevels": lambda _info, **args: connection(
                self._levels_of(ref), self._level_node, **_strip(args)
            ),
        }

    def level(self, item, location):
        """An InventoryLevel, None when the item is not stocked there."""
        state = self.state
        if (item, location) not in state.levels:
            return None
        return {
            "__typename": "InventoryLevel",
            "id": gid("InventoryLevel", f"{location}?inventory_item_id={item}"),
            "isActive": True,
            "canDeactivate": True,
            "quantities": lambda _info, names: [
                {
                    "id": gid(
                        "InventoryQuantity",
                        f"{location}?inventory_item_id={item}&name={name}",
                    ),
                    "name": name,
                    "quantity": state.quantity(item, location, name),
                }
                for name in names
            ],
            "item": lambda _info: self.item(item),
            "location": lambda _info: self.location(state.locations[location]),
        }

    def _levels_of(self, item):
        return [
            {"id": int(location), "item": item, "location": location}
            for (ref, location) in sorted(self.state.levels)
            if ref == item
        ]

    def _levels_at(self, location):
        return [
            {"id": int(item), "item": item, "location": location}
            for (item, where) in sorted(self.state.levels)
            if where == location
        ]

    def _level_node(self, entry):
        return self.level(entry["item"], entry["location"])

    def _available(self, variant):
        item = variant["inventory_item"]
        return sum(
            quantity
            for (ref, _location), quantity in self.state.levels.items()
            if ref == item
        )


def _strip(args):
    """Connection arguments we do not interpret (sortKey...) are dropped."""
    keep = ("first", "last", "after", "before", "reverse")
    return {key: value for key, value in args.items() if key in keep}


# === ORDERS ===


class OrderNodes:
    """Order, its lines, transactions, refunds and fulfillment orders."""

    def __init__(self, state, catalogue, fulfillment_orders):
        self.state = state
        self.catalogue = catalogue
        self.fulfillment_orders = fulfillment_orders

    def order(self, order):
        bags = GraphqlMoney(order)
        amounts = totals(order)
        return {
            "__typename": "Order",
            "id": gid("Order", order["id"]),
            "legacyResourceId": order["id"],
            "name": order["name"],
            "email": order["email"],
            "phone": order["phone"],
            "note": order["note"],
            "tags": order["tags"],
            "test": False,
            "closed": False,
            "confirmed": True,
            "createdAt": iso_z(order["created_at"]),
            "updatedAt": iso_z(order["updated_at"]),
            "processedAt": iso_z(order["processed_at"]),
            "cancelledAt": iso_z(order["cancelled_at"])
            if order["cancelled_at"]
            else None,
            "cancelReason": (order["cancel_reason"] or "").upper() or None,
            "currencyCode": order["currency"],
            "presentmentCurrencyCode": order["presentment_currency"],
            "taxesIncluded": order["taxes_included"],
            "displayFinancialStatus": order["financial_status"].upper(),
            "displayFulfillmentStatus": _fulfillment_status(order),
            "paymentGatewayNames": [t["gateway"] for t in order["transactions"][:1]],
            "subtotalPriceSet": bags.total("subtotal"),
            "totalPriceSet": bags.total("total"),
            "currentTotalPriceSet": bags.total("total", minus="refunded"),
            "totalTaxSet": bags.total("tax"),
            "totalDiscountsSet": bags.total("discounts"),
            "totalShippingPriceSet": bags.total("shipping"),
            "totalRefundedSet": bags.total("refunded"),
            "totalOutstandingSet": bags.bag(
                0 if order["transactions"] else amounts["total"]
            ),
            "taxLines": _tax_lines(order, amounts["tax"], bags),
            "customer": _customer(order),
            "billingAddress": _address(order["billing_address"]),
            "shippingAddress": _address(order["shipping_address"]),
            "retailLocation": None,
            "risk": _risk(order),
            "lineItems": lambda _info, **args: connection(
                order["lines"], lambda line: self.line(order, line, bags), **args
            ),
            "shippingLines": lambda _info, **args: connection(
                order["shipping_lines"],
                lambda shipping: _shipping_line(order, shipping, bags),
                **_strip(args),
            ),
            "discountApplications": lambda _info, **args: connection(
                [{**d, "id": d["index"]} for d in order["discount_applications"]],
                lambda d: _discount_application(d, bags),
                **args,
            ),
            "transactions": lambda _info, first=None, **_: [
                _transaction(order, t, bags) for t in _all_transactions(order)
            ][:first],
            "refunds": lambda _info, first=None: [
                self.refund(order, r, bags) for r in order["refunds"]
            ][:first],
            "returnStatus": _return_status(order),
            "returns": lambda _info, query=None, **args: connection(
                [{"id": int(r["id"]), "record": r} for r in order["returns"]],
                lambda entry: self.return_node(order, entry["record"]),
                **_strip(args),
            ),
            "fulfillments": lambda _info, first=None, **_: [
                self.fulfillment(order, f) for f in order["fulfillments"]
            ][:first],
            "fulfillmentOrders": lambda _info, **args: connection(
                [
                    {"id": int(fo["id"]), "fo": fo}
                    for fo in self.fulfillment_orders.of(order)
                ],
                lambda entry: self.fulfillment_order(order, entry["fo"]),
                **_strip(args),
            ),
        }

    def line(self, order, line, bags):
        variant = self.state.variants.get(line["variant_id"])
        discount = line_discount(line)
        return {
            "__typename": "LineItem",
            "id": gid("LineItem", line["id"]),
            "sku": line["sku"],
            "name": line["title"]
            if line["variant_title"] == "Default Title"
            else f"{line['title']} - {line['variant_title']}",
            "title": line["title"],
            "variantTitle": line["variant_title"],
            "quantity": line["quantity"],
            "currentQuantity": line["quantity"] - line["refunded"],
            "refundableQuantity": line["quantity"] - line["refunded"],
            "unfulfilledQuantity": line["quantity"] - line["fulfilled"],
            "isGiftCard": False,
            "requiresShipping": True,
            "taxable": True,
            "restockable": True,
            "vendor": "Simulated vendor",
            "variant": self.catalogue.variant(variant) if variant else None,
            "product": self.catalogue.product(self.state.products[line["product_id"]]),
            "originalUnitPriceSet": bags.bag(line["price"]),
            "originalTotalSet": bags.bag(line["price"] * line["quantity"]),
            "discountedTotalSet": bags.bag(line["price"] * line["quantity"] - discount),
            "totalDiscountSet": bags.bag(discount),
            "discountAllocations": [
                {
                    "allocatedAmountSet": bags.bag(d["amount"]),
                    "discountApplication": _discount_application(
                        order["discount_applications"][d["application"]], bags
                    ),
                }
                for d in line["discounts"]
            ],
            "taxLines": lambda _info, first=None: _tax_lines(order, line["tax"], bags)[
                :first
            ],
        }

    def _refund_return(self, order, refund):
        """The return a refund settles (`refund_order(return_id=...)`)."""
        ref = refund.get("return_id")
        record = next((r for r in order["returns"] if r["id"] == ref), None)
        return self.return_node(order, record) if record else None

    def refund(self, order, refund, bags):
        items = _with_order_lines(order, refund["lines"])
        return {
            "__typename": "Refund",
            "id": gid("Refund", refund["id"]),
            "legacyResourceId": refund["id"],
            "note": refund["note"],
            "createdAt": iso_z(refund["created_at"]),
            "processedAt": iso_z(refund["created_at"]),
            "updatedAt": iso_z(refund["created_at"]),
            "totalRefundedSet": bags.bag(refund["amount"]),
            "return": self._refund_return(order, refund),
            "refundLineItems": lambda _info, **args: connection(
                items, lambda entry: self._refund_line(order, entry, bags), **args
            ),
            "order": lambda _info: self.order(order),
            "refundShippingLines": lambda _info, **args: connection(
                [{**s, "id": int(s["id"])} for s in refund.get("shipping_lines", ())],
                lambda entry: {
                    "id": gid("RefundShippingLine", entry["id"]),
                    "subtotalAmountSet": bags.bag(entry["amount"]),
                    "taxAmountSet": bags.bag(entry["tax"]),
                },
                **args,
            ),
            # Channel sign: a negative adjustment refunds more than the lines.
            "orderAdjustments": lambda _info, **args: connection(
                [{**a, "id": int(a["id"])} for a in refund.get("adjustments", ())],
                lambda entry: {
                    "id": gid("OrderAdjustment", entry["id"]),
                    "reason": "REFUND_DISCREPANCY",
                    "amountSet": bags.bag(-entry["amount"]),
                    "taxAmountSet": bags.bag(0),
                },
                **args,
            ),
            "transactions": lambda _info, **args: connection(
                [{**t, "id": int(t["id"])} for t in refund["transactions"]],
                lambda t: _transaction(order, {**t, "id": str(t["id"])}, bags),
                **args,
            ),
        }

    def _refund_line(self, order, entry, bags):
        item = entry["item"]
        location = item["location_id"]
        return {
            "id": gid("RefundLineItem", item["id"]),
            "quantity": item["quantity"],
            "restockType": item["restock_type"].upper(),
            "restocked": item["restock_type"] == "return",
            "priceSet": bags.bag(entry["line"]["price"]),
            "subtotalSet": bags.bag(item["amount"]),
            "totalTaxSet": bags.bag(item["tax"]),
            "lineItem": self.line(order, entry["line"], bags),
            "location": self.catalogue.location(self.state.locations[location])
            if location
            else None,
        }

    def return_node(self, order, record):
        """A Return; its line items are ReturnLineItem (verified) objects."""
        bags = GraphqlMoney(order)
        items = _with_order_lines(order, record["lines"])
        return {
            "__typename": "Return",
            "id": gid("Return", record["id"]),
            "name": record["name"],
            "status": record["status"],
            "createdAt": iso_z(record["created_at"]),
            "requestApprovedAt": _stamp(record["approved_at"]),
            "closedAt": _stamp(record["closed_at"]),
            "totalQuantity": sum(item["quantity"] for item in record["lines"]),
            "decline": {"reason": "OTHER", "note": record["note"] or None}
            if record["status"] == "DECLINED"
            else None,
            "order": lambda _info: self.order(order),
            "returnLineItems": lambda _info, **args: connection(
                items,
                lambda e: self._return_line(order, record, e, bags),
                **_strip(args),
            ),
            "returnShippingFees": [],
            "refunds": _no_nodes,
            "exchangeLineItems": _no_nodes,
            "reverseFulfillmentOrders": _no_nodes,
            "transactions": _no_nodes,
        }

    def _return_line(self, order, record, entry, bags):
        item, line = entry["item"], entry["line"]
        quantity, status = item["quantity"], record["status"]
        processed = quantity if status == "CLOSED" else 0
        share = Decimal(quantity) / line["quantity"]
        return {
            "__typename": "ReturnLineItem",
            "id": gid("ReturnLineItem", item["id"]),
            "quantity": quantity,
            "returnReason": item["reason"],
            "returnReasonDefinition": {
                "id": gid(
                    "ReturnReasonDefinition", RETURN_REASONS.index(item["reason"]) + 1
                ),
                "handle": item["reason"].lower().replace("_", "-"),
                "name": item["reason"].replace("_", " ").capitalize(),
                "deleted": False,
            },
            "returnReasonNote": item["note"],
            "customerNote": None,
            "processedQuantity": processed,
            "unprocessedQuantity": quantity - processed,
            "processableQuantity": quantity - processed if status == "OPEN" else 0,
            "refundableQuantity": quantity if status in ("OPEN", "CLOSED") else 0,
            "refundedQuantity": 0,
            "restockingFee": None,
            "totalWeight": None,
            "withCodeDiscountedTotalPriceSet": bags.bag(cents(line_net(line) * share)),
            "fulfillmentLineItem": {
                "id": gid("FulfillmentLineItem", line["id"]),
                "quantity": line["quantity"],
                "lineItem": self.line(order, line, bags),
                "originalTotalSet": bags.bag(line["price"] * line["quantity"]),
                "discountedTotalSet": bags.bag(line_net(line)),
            },
        }

    def fulfillment_order(self, order, fo):
        """A fulfillment order (see `fulfillment_orders.py`)."""
        book = self.fulfillment_orders
        status = book.status(order, fo)
        location = self.state.locations[fo["location"]]
        return {
            "__typename": "FulfillmentOrder",
            "id": gid("FulfillmentOrder", fo["id"]),
            "orderId": gid("Order", order["id"]),
            "orderName": order["name"],
            "status": status,
            "requestStatus": "UNSUBMITTED",
            "createdAt": iso_z(order["created_at"]),
            "updatedAt": iso_z(order["updated_at"]),
            "assignedLocation": {
                "name": location["name"],
                "location": self.catalogue.location(location),
            },
            "fulfillmentHolds": [
                {
                    "id": gid("FulfillmentHold", f"{fo['id']}{n}"),
                    "displayReason": hold["reason"].replace("_", " ").capitalize(),
                    "heldByRequestingApp": False,
                    **hold,
                }
                for n, hold in enumerate(fo["holds"])
            ],
            "supportedActions": [
                {"action": action}
                for action in (
                    ("CREATE_FULFILLMENT", "MOVE", "HOLD")
                    if status in ("OPEN", "IN_PROGRESS")
                    else ("RELEASE_HOLD",)
                    if status == "ON_HOLD"
                    else ()
                )
            ],
            "lineItems": lambda _info, **args: connection(
                [{"id": int(item["id"]), "item": item} for item in fo["items"]],
                lambda e: self._fulfillment_line(order, e["item"]),
                **args,
            ),
        }

    def _fulfillment_line(self, order, item):
        line = next(line for line in order["lines"] if line["id"] == item["line_id"])
        variant = self.state.variants.get(line["variant_id"])
        return {
            "id": gid("FulfillmentOrderLineItem", item["id"]),
            "sku": line["sku"],
            "productTitle": line["title"],
            "variantTitle": line["variant_title"],
            "totalQuantity": item["quantity"],
            "remainingQuantity": self.fulfillment_orders.remaining(order, item),
            "requiresShipping": True,
            "inventoryItemId": gid("InventoryItem", variant["inventory_item"])
            if variant
            else None,
            "lineItem": self.line(order, line, GraphqlMoney(order)),
            "variant": self.catalogue.variant(variant) if variant else None,
        }

    def fulfillment(self, order, fulfillment):
        return {
            "__typename": "Fulfillment",
            "id": gid("Fulfillment", fulfillment["id"]),
            "legacyResourceId": fulfillment["id"],
            "name": f"{order['name']}-F{order['fulfillments'].index(fulfillment) + 1}",
            "status": fulfillment["status"],
            "displayStatus": "FULFILLED"
            if fulfillment["status"] == "SUCCESS"
            else "CANCELED",
            "createdAt": iso_z(fulfillment["created_at"]),
            "updatedAt": iso_z(fulfillment["created_at"]),
            "totalQuantity": sum(fulfillment["lines"].values()),
            "requiresShipping": True,
            "trackingInfo": lambda _info, first=None: (
                [
                    {
                        "company": fulfillment["tracking"].get("company"),
                        "number": fulfillment["tracking"].get("number"),
                        "url": fulfillment["tracking"].get("url"),
                    }
                ][:first]
                if fulfillment["tracking"]
                else []
            ),
            "location": self.catalogue.location(
                self.state.locations[fulfillment["location_id"]]
            ),
            "order": lambda _info: self.order(order),
            "fulfillmentLineItems": lambda _info, **args: connection(
                [
                    {
                        "id": f"{fulfillment['id']}{index:03d}",
                        "line_id": ref,
                        "qty": qty,
                    }
                    for index, (ref, qty) in enumerate(fulfillment["lines"].items())
                ],
                lambda item: self._fulfillment_line_item(order, item),
                **args,
            ),
        }

    def _fulfillment_line_item(self, order, item):
        line = next(line for line in order["lines"] if line["id"] == item["line_id"])
        return {
            "id": gid("FulfillmentLineItem", item["id"]),
            "quantity": item["qty"],
            "lineItem": self.line(order, line, GraphqlMoney(order)),
        }


class GraphqlMoney(MoneyBags):
    """MoneyBag objects (camelCase) of one order."""

    def bag(self, amount):
        return {
            "shopMoney": {
                "amount": money(self.shop(amount)),
                "currencyCode": self.order["currency"],
            },
            "presentmentMoney": {
                "amount": money(amount),
                "currencyCode": self.order["presentment_currency"],
            },
        }

    def total(self, key, minus=None):
        shop, presentment = totals(self.order, True), totals(self.order)
        return {
            "shopMoney": {
                "amount": money(shop[key] - (shop[minus] if minus else 0)),
                "currencyCode": self.order["currency"],
            },
            "presentmentMoney": {
                "amount": money(
                    presentment[key] - (presentment[minus] if minus else 0)
                ),
                "currencyCode": self.order["presentment_currency"],
            },
        }


def _no_nodes(_info, **args):
    """An empty connection (what the simulator does not model)."""
    return connection([], dict, **_strip(args))


def _with_order_lines(order, items):
    """Connection entries of a refund's or a return's items, each beside the
    order line it names."""
    lines = {line["id"]: line for line in order["lines"]}
    return [
        {"id": int(item["id"]), "item": item, "line": lines[item["line_id"]]}
        for item in items
    ]


def _return_status(order):
    """Order.returnStatus from the live returns (declined/canceled ignored)."""
    live = [
        r["status"]
        for r in order["returns"]
        if r["status"] in ("REQUESTED", "OPEN", "CLOSED")
    ]
    if not live:
        return "NO_RETURN"
    if "REQUESTED" in live:
        return "RETURN_REQUESTED"
    return "IN_PROGRESS" if "OPEN" in live else "RETURNED"


def _stamp(moment):
    return iso_z(moment) if moment else None


def _fulfillment_status(order):
    fulfilled = sum(line["fulfilled"] for line in order["lines"])
    wanted = sum(line["quantity"] - line["refunded"] for line in order["lines"])
    if not fulfilled:
        return "UNFULFILLED"
    return "FULFILLED" if fulfilled >= wanted else "PARTIALLY_FULFILLED"


def _tax_lines(order, amount, bags):
    if not amount:
        return []
    rate = float(order["tax_rate"])
    return [
        {
            "title": order["tax_title"],
            "rate": rate,
            "ratePercentage": round(rate * 100, 4),
            "priceSet": bags.bag(amount),
            "channelLiable": False,
            "source": "Shopify",
        }
    ]


def _shipping_line(order, shipping, bags):
    return {
        "id": gid("ShippingLine", shipping["id"]),
        "title": shipping["title"],
        "code": shipping["code"],
        "source": "shopify",
        "custom": False,
        "isRemoved": False,
        "originalPriceSet": bags.bag(shipping["price"]),
        "discountedPriceSet": bags.bag(shipping["price"]),
        "currentDiscountedPriceSet": bags.bag(shipping["price"]),
        "discountAllocations": [],
        "taxLines": _tax_lines(order, shipping["tax"], bags),
    }


def _discount_application(application, bags):
    value = (
        {
            "__typename": "PricingPercentageValue",
            "percentage": float(application["value"]),
        }
        if application["value_type"] == "percentage"
        else {
            "__typename": "MoneyV2",
            **bags.bag(application["value"])["presentmentMoney"],
        }
    )
    typename = (
        "DiscountCodeApplication"
        if application["type"] == "discount_code"
        else "ManualDiscountApplication"
    )
    return {
        "__typename": typename,
        "index": application["index"],
        "code": application["code"],
        "title": application["title"],
        "description": application["title"],
        "allocationMethod": application["allocation_method"].upper(),
        "targetSelection": application["target_selection"].upper(),
        "targetType": application["target_type"].upper(),
        "value": value,
    }


def _all_transactions(order):
    refunds = [t for refund in order["refunds"] for t in refund["transactions"]]
    return order["transactions"] + refunds


def _transaction(order, transaction, bags):
    return {
        "__typename": "OrderTransaction",
        "id": gid("OrderTransaction", transaction["id"]),
        "gateway": transaction["gateway"],
        "formattedGateway": transaction["gateway"].replace("_", " ").title(),
        "kind": transaction["kind"].upper(),
        "status": transaction["status"].upper(),
        "test": False,
        "manualPaymentGateway": transaction["gateway"] == "manual",
        "authorizationCode": transaction["authorization"],
        "paymentId": transaction["authorization"],
        "amountSet": bags.bag(transaction["amount"]),
        "createdAt": iso_z(transaction["created_at"]),
        "processedAt": iso_z(transaction["created_at"]),
        "receiptJson": json.dumps({"id": transaction["authorization"]}),
        "parentTransaction": None,
    }


def _risk(order):
    if order["high_risk"]:
        return {
            "recommendation": "CANCEL",
            "assessments": [
                {
                    "riskLevel": "HIGH",
                    "facts": [
                        {
                            "description": "Billing address doesn't match the "
                            "card's registered address",
                            "sentiment": "NEGATIVE",
                        },
                        {
                            "description": "Order placed from a high-risk IP address",
                            "sentiment": "NEGATIVE",
                        },
                    ],
                    "provider": None,
                }
            ],
        }
    return {
        "recommendation": "ACCEPT",
        "assessments": [
            {
                "riskLevel": "LOW",
                "facts": [
                    {"description": "Card checks passed", "sentiment": "POSITIVE"}
                ],
                "provider": None,
            }
        ],
    }


def _customer(order):
    record = order["customer"]
    if not record:
        return None
    return {
        "__typename": "Customer",
        "id": gid("Customer", record["id"]),
        "legacyResourceId": record["id"],
        "email": record["email"],
        "phone": record["phone"],
        "firstName": record["first_name"],
        "lastName": record["last_name"],
        "displayName": f"{record['first_name']} {record['last_name']}",
        "defaultEmailAddress": {"emailAddress": record["email"]},
        "defaultPhoneNumber": {"phoneNumber": record["phone"]},
    }


def _address(address):
    if not address:
        return None
    return {
        "id": gid("MailingAddress", zlib.crc32(address["address1"].encode())),
        "firstName": address["first_name"],
        "lastName": address["last_name"],
        "name": address["name"],
        "company": address["company"],
        "address1": address["address1"],
        "address2": address["address2"],
        "city": address["city"],
        "zip": address["zip"],
        "province": address["province"],
        "provinceCode": address["province_code"],
        "country": address["country"],
        "countryCodeV2": address["country_code"],
        "phone": address["phone"],
    }
