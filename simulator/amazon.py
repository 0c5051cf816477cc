"""Amazon Selling Partner API stand-in: Login with Amazon tokens, the Orders
API v0 (getOrders, getOrder, getOrderItems) and the seller's marketplaces.

As on SP-API, every operation has its own token bucket (rate per second and
burst, the "Usage Plan" of Amazon's model); a call that finds its bucket empty
gets 429 `QuotaExceeded` with `x-amzn-RateLimit-Limit`, which every answer
carries. Access tokens come from the LWA refresh-token grant and last an hour;
an expired one gets 403, as on SP-API. Every getOrders query and every answer
is checked against `reference/amazon/ordersV0.json` (amazon_schema.py): a
violation is a simulator bug, answered 500 and logged.
"""

import json
import logging
import threading
import time
from datetime import timezone
from decimal import Decimal

from werkzeug.wrappers import Response

from . import amazon_reports
from .amazon_listings import (
    DOCUMENTS_PREFIX,
    STOCK_OPERATION_MODELS,
    STOCK_PREFIXES,
    STOCK_USAGE_PLANS,
    AmazonStockSide,
)
from .amazon_schema import SchemaError, check_answer, check_body, check_query
from .util import cents, money, parse_when

_logger = logging.getLogger(__name__)

LWA_PATH = "/auth/o2/token"
ORDERS_PREFIX = "/orders/v0/orders"
PARTICIPATIONS_PATH = "/sellers/v1/marketplaceParticipations"
LISTINGS_PREFIX = "/listings/2021-08-01/items/"
PREFIXES = (
    LWA_PATH,
    ORDERS_PREFIX,
    PARTICIPATIONS_PATH,
    LISTINGS_PREFIX,
    *STOCK_PREFIXES,
    *amazon_reports.PREFIXES,
)
# The seller id (merchant token) of the simulated account.
SELLER_ID = "A2SIMSELLER0001"
# The model an operation is checked against (default: Orders v0).
OPERATION_MODELS = {
    "patchListingsItem": "listingsItems_2021-08-01.json",
    "getListingsItem": "listingsItems_2021-08-01.json",
    "searchListingsItems": "listingsItems_2021-08-01.json",
    **STOCK_OPERATION_MODELS,
    **amazon_reports.OPERATION_MODELS,
}
AVAILABILITY_PATH = "/attributes/fulfillment_availability"
LWA_TOKEN_TTL = 3600
# (requests per second, burst) of each operation, from the models' Usage Plans
# (Orders v0; Sellers v1 for getMarketplaceParticipations).
USAGE_PLANS = {
    "getOrders": (0.0167, 20),
    "getOrder": (0.5, 30),
    "getOrderItems": (0.5, 30),
    "getMarketplaceParticipations": (0.016, 15),
    "confirmShipment": (2, 10),
    "patchListingsItem": (5, 5),
    "getListingsItem": (5, 10),
    "searchListingsItems": (5, 5),
    **STOCK_USAGE_PLANS,
    **amazon_reports.USAGE_PLANS,
}
US_MARKETPLACE = {
    "id": "ATVPDKIKX0DER",
    "countryCode": "US",
    "name": "Amazon.com",
    "defaultCurrencyCode": "USD",
    "defaultLanguageCode": "en_US",
    "domainName": "www.amazon.com",
}
CA_MARKETPLACE = {
    "id": "A2EUQ1WTGCTBG2",
    "countryCode": "CA",
    "name": "Amazon.ca",
    "defaultCurrencyCode": "CAD",
    "defaultLanguageCode": "en_CA",
    "domainName": "www.amazon.ca",
}
FACILITATOR = {
    "Model": "MarketplaceFacilitator",
    "ResponsibleParty": "Amazon Services, Inc.",
}
QUOTA_EXCEEDED = {
    "code": "QuotaExceeded",
    "message": "You exceeded your quota for the requested resource.",
}
EXPIRED = {
    "code": "Unauthorized",
    "message": "Access to requested resource is denied.",
    "details": "The access token you provided has expired.",
}
DENIED = {
    "code": "Unauthorized",
    "message": "Access to requested resource is denied.",
    "details": "",
}
ZERO = Decimal(0)
MODEL = "ordersV0.json"
LISTINGS_MODEL = "listingsItems_2021-08-01.json"


class TokenBucket:
    """`burst` requests, refilled at `rate` per second on `clock`."""

    def __init__(self, rate, burst, clock):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.available = float(burst)
        self.updated = clock()

    def take(self):
        """One request's token; False (nothing taken) when the bucket is empty."""
        now = self.clock()
        elapsed = max(0.0, now - self.updated)
        self.available = min(float(self.burst), self.available + elapsed * self.rate)
        self.updated = now
        if self.available < 1:
            return False
        self.available -= 1
        return True


class AmazonSellingPartner(AmazonStockSide):
    """One seller account on one SP-API region (North America)."""

    seller_id = SELLER_ID

    def __init__(self, state, clock, credentials, rate_scale=1.0):
        """:param credentials: (client id, client secret, refresh token)
        :param rate_scale: multiplies every operation's rate (tests run the
            same protocol in seconds instead of minutes; bursts unchanged)"""
        self.state = state
        self.clock = clock
        self.credentials = credentials
        self.lock = threading.Lock()
        self.token_ttl = LWA_TOKEN_TTL
        self.issued_tokens = {}  # access token -> clock() it expires at
        self.token_requests = 0
        self.marketplaces = [US_MARKETPLACE, CA_MARKETPLACE]
        self.orders = {}  # AmazonOrderId -> {"order": Order, "items": [OrderItem]}
        self.next_tokens = {}  # NextToken -> ids still to list
        self.throttled = {}  # operation -> 429 answers given
        self.listings = {}  # SKU -> {"quantity": MFN quantity, "patches": n}
        self._init_stock_side()
        self.reports = amazon_reports.AmazonReports(self)
        self.set_rate_scale(rate_scale)

    def set_rate_scale(self, rate_scale):
        """Fresh, full buckets at the documented rates times `rate_scale`."""
        self.rate_scale = rate_scale
        self.buckets = {
            name: TokenBucket(rate * rate_scale, burst, self.clock)
            for name, (rate, burst) in USAGE_PLANS.items()
        }

    def drain(self, *operations):
        """Empty the buckets of `operations` (all when none is named): the
        next call of each is throttled until a request's refill."""
        with self.lock:
            for name in operations or tuple(self.buckets):
                bucket = self.buckets[name]
                bucket.take()
                bucket.available = 0.0

    # === HTTP ===

    def handle(self, request):  # noqa: PLR0911
        """Answer one SP-API or LWA request."""
        unmetered = self._unmetered(request)
        if unmetered is not None:
            return unmetered
        if request.path.startswith(amazon_reports.DOWNLOAD_PREFIX):
            # A presigned document URL (S3 at Amazon): no SP-API operation.
            return self.reports.download(request)
        name, args = self._operation(request)
        if name is None:
            return _json(
                {"errors": [{"code": "NotFound", "message": "Not found"}]}, 404
            )
        self.state.record_call(f"amazon {name}")
        denied = self.reports.check_token(name, request)
        if denied:
            return self._answer(name, 403, {"errors": [denied]})
        fault = self.state.take_fault("amazon")
        faulty = self._fault(name, fault) if fault is not None else None
        if faulty is not None:
            return faulty
        with self.lock:
            allowed = self.buckets[name].take()
            if not allowed:
                self.throttled[name] = self.throttled.get(name, 0) + 1
        if not allowed:
            return self._answer(name, 429, {"errors": [QUOTA_EXCEEDED]})
        status, body = self._dispatch(name, request, args)
        return self._answer(name, status, body)

    def _unmetered(self, request):
        """The answer of a call outside SP-API's quotas (LWA, the feed
        documents' pre-signed URLs); None for an SP-API operation."""
        if request.path == LWA_PATH:
            return self._token(request)
        if request.path.startswith(DOCUMENTS_PREFIX):
            status, content = self.document_url(request)
            return Response(content, status=status)
        return None

    def _operation(self, request):
        """(operationId, path arguments) of a request; (None, None) if unknown."""
        path = request.path.rstrip("/")
        found = self.reports.operation(request)
        if found:
            return found
        if path.startswith(STOCK_PREFIXES):
            return self._stock_operation(request)
        if path.startswith(LISTINGS_PREFIX):
            return self._listings_operation(path, request)
        if path == PARTICIPATIONS_PATH:
            found = ("getMarketplaceParticipations", ())
        elif path == ORDERS_PREFIX:
            found = ("getOrders", ())
        else:
            parts = path[len(ORDERS_PREFIX) :].strip("/").split("/")
            suffix = parts[1] if len(parts) == 2 else None  # noqa: PLR2004
            found = {
                (1, None): ("getOrder", parts[:1]),
                (2, "orderItems"): ("getOrderItems", parts[:1]),
                (2, "shipmentConfirmation"): ("confirmShipment", parts[:1]),
            }.get((len(parts), suffix), (None, None))
        method = "POST" if found[0] == "confirmShipment" else "GET"
        if found[0] is None or request.method != method or not all(found[1]):
            return None, None
        return found

    @staticmethod
    def _listings_operation(path, request):
        """(operationId, path arguments) of a Listings Items request."""
        parts = path[len(LISTINGS_PREFIX) :].split("/")
        name = {"PATCH": "patchListingsItem", "GET": "getListingsItem"}.get(
            request.method
        )
        if name and len(parts) == 2 and all(parts):  # noqa: PLR2004
            return name, tuple(parts)
        if request.method == "GET" and len(parts) == 1 and parts[0]:
            return "searchListingsItems", tuple(parts)
        return None, None

    def _dispatch(self, name, request, args):
        if name == "getMarketplaceParticipations":
            return 200, {"payload": self._participations()}
        if name == "getOrders":
            return self._get_orders(request.args)
        listings = {
            "patchListingsItem": self._patch_listing,
            "getListingsItem": self._get_listing,
            "searchListingsItems": self._search_listings,
        }
        if name in listings:
            return listings[name](args, request)
        if name in STOCK_USAGE_PLANS:
            return self._dispatch_stock(name, request, args)
        if name in amazon_reports.USAGE_PLANS:
            return self.reports.dispatch(name, request, args)
        return self._order_operation(name, request, args)

    def _order_operation(self, name, request, args):
        """getOrder, getOrderItems and confirmShipment of one order."""
        with self.lock:
            entry = self.orders.get(args[0])
        if entry is None:
            error = {"code": "InvalidInput", "message": f"Invalid order id {args[0]}"}
            return 404, {"errors": [error]}
        if name == "confirmShipment":
            return self._confirm_shipment(entry, request.get_json(silent=True))
        if name == "getOrder":
            return 200, {"payload": self.reports.disclosed(entry["order"], request)}
        payload = {"AmazonOrderId": args[0], "OrderItems": entry["items"]}
        return 200, {"payload": payload}

    def _answer(self, name, status, body):
        """The JSON answer, checked against the model (a mismatch is a bug)."""
        if name != "getMarketplaceParticipations":
            try:
                check_answer(name, status, body, OPERATION_MODELS.get(name, MODEL))
            except SchemaError:
                _logger.exception("simulator answer of %s breaks the model", name)
                return _json(
                    {"errors": [{"code": "InternalFailure", "message": "simulator"}]},
                    500,
                )
        rate = USAGE_PLANS[name][0] * self.rate_scale
        headers = {"x-amzn-RateLimit-Limit": f"{rate:g}"}
        if body is None:
            return Response(status=status, headers=headers)
        return _json(body, status, headers)

    def _fault(self, name, fault):
        """The answer an armed fault gives instead of the operation's; None
        for latency (the answer is only late)."""
        kind = fault["kind"]
        if kind == "latency":
            time.sleep(float(fault.get("delay", 1.0)))
            return None
        if kind == "429":
            return self._answer(name, 429, {"errors": [QUOTA_EXCEEDED]})
        if kind == "timeout":
            time.sleep(float(fault.get("delay", 30.0)))
        status = 504 if kind == "timeout" else int(fault.get("status", 500))
        error = {"code": "InternalFailure", "message": "We encountered an error."}
        return _json({"errors": [error]}, status)

    # === LOGIN WITH AMAZON ===

    def _token(self, request):
        """POST /auth/o2/token, grant_type=refresh_token."""
        if request.method != "POST":
            return _json({"error": "invalid_request"}, 405)
        form = request.form
        if form.get("grant_type") != "refresh_token":
            return _json({"error": "unsupported_grant_type"}, 400)
        client_id, client_secret, refresh_token = self.credentials
        if (form.get("client_id"), form.get("client_secret")) != (
            client_id,
            client_secret,
        ):
            body = {
                "error": "invalid_client",
                "error_description": "Client authentication failed",
            }
            return _json(body, 401)
        if form.get("refresh_token") != refresh_token:
            body = {
                "error": "invalid_grant",
                "error_description": (
                    "The request has an invalid grant parameter : refresh_token"
                ),
            }
            return _json(body, 400)
        with self.lock:
            self.token_requests += 1
            token = f"Atza|sim{self.state.random.getrandbits(96):024x}"
            self.issued_tokens[token] = self.clock() + self.token_ttl
        return _json(
            {
                "access_token": token,
                "refresh_token": refresh_token,
                "token_type": "bearer",
                "expires_in": self.token_ttl,
            }
        )

    def _check_token(self, token):
        """None for a valid access token, else the SP-API error."""
        with self.lock:
            expires_at = self.issued_tokens.get(token or "")
        if expires_at is None:
            return DENIED
        if self.clock() >= expires_at:
            return EXPIRED
        return None

    def expire_tokens(self):
        """Every issued access token expires now (the hour passed)."""
        with self.lock:
            self.issued_tokens = dict.fromkeys(self.issued_tokens, 0)

    # === ORDERS ===

    def _participations(self):
        return [
            {
                "marketplace": dict(marketplace),
                "participation": {
                    "isParticipating": True,
                    "hasSuspendedListings": False,
                },
                "storeName": "Simulated Amazon store",
            }
            for marketplace in self.marketplaces
        ]

    def _get_orders(self, query):
        """getOrders: by LastUpdatedAfter (or CreatedAfter), oldest change
        first, `MaxResultsPerPage` (at most 100) a page, then NextToken."""
        args = {key: query.getlist(key) for key in query}
        try:
            check_query("getOrders", args)
        except SchemaError as exc:
            return 400, {"errors": [{"code": "InvalidInput", "message": str(exc)}]}
        token = query.get("NextToken")
        if token:
            with self.lock:
                ids = self.next_tokens.pop(token, None)
            if ids is None:
                error = {"code": "InvalidInput", "message": "Invalid NextToken"}
                return 400, {"errors": [error]}
        else:
            ids, error = self._select(query)
            if error:
                return 400, {"errors": [{"code": "InvalidInput", "message": error}]}
        size = int(query.get("MaxResultsPerPage") or 100)
        if not 1 <= size <= 100:
            message = "MaxResultsPerPage must be between 1 and 100"
            return 400, {"errors": [{"code": "InvalidInput", "message": message}]}
        page, rest = ids[:size], ids[size:]
        with self.lock:
            payload = {"Orders": [self.orders[i]["order"] for i in page]}
            if rest:
                token = f"sim-next-{self.state.random.getrandbits(64):016x}"
                self.next_tokens[token] = rest
                payload["NextToken"] = token
        return 200, {"payload": payload}

    def _select(self, query):
        """(ids of the orders a first getOrders call lists, error or None)."""
        marketplaces = set(",".join(query.getlist("MarketplaceIds")).split(","))
        updated = query.get("LastUpdatedAfter")
        created = query.get("CreatedAfter")
        if bool(updated) == bool(created):
            return [], "Exactly one of CreatedAfter and LastUpdatedAfter is required"
        field, since = (
            ("LastUpdateDate", updated) if updated else ("PurchaseDate", created)
        )
        with self.lock:
            found = [
                entry["order"]
                for entry in self.orders.values()
                if entry["order"]["MarketplaceId"] in marketplaces
                and entry["order"][field] >= _iso(since)
            ]
        found.sort(key=lambda order: (order[field], order["AmazonOrderId"]))
        return [order["AmazonOrderId"] for order in found], None

    def _patch_listing(self, args, request):
        """patchListingsItem: set the MFN quantity of a listed SKU through
        `fulfillment_availability`; a SKU not listed is INVALID."""
        seller_id, sku = args
        query = {key: request.args.getlist(key) for key in request.args}
        body = request.get_json(silent=True)
        try:
            check_query("patchListingsItem", query, LISTINGS_MODEL)
            check_body("patchListingsItem", body, LISTINGS_MODEL)
        except SchemaError as exc:
            return 400, {"errors": [{"code": "InvalidInput", "message": str(exc)}]}
        if seller_id != SELLER_ID:
            return 403, {"errors": [DENIED]}
        submission = f"sim{self.state.random.getrandbits(64):016x}"
        with self.lock:
            listing = self._listing(sku)
            if listing is None:
                issue = {
                    "code": "4000001",
                    "message": f"SKU {sku} is not listed.",
                    "severity": "ERROR",
                    "categories": ["INVALID_ATTRIBUTE"],
                }
                answer = {"sku": sku, "status": "INVALID", "submissionId": submission}
                return 200, {**answer, "issues": [issue]}
            for patch in body["patches"]:
                if patch["path"] == AVAILABILITY_PATH and patch["op"] != "delete":
                    for value in patch.get("value") or ():
                        if value.get("fulfillment_channel_code") == "DEFAULT":
                            listing["quantity"] = int(value["quantity"])
            listing["patches"] += 1
        return 200, {
            "sku": sku,
            "status": "ACCEPTED",
            "submissionId": submission,
            "issues": [],
        }

    def _get_listing(self, args, request):
        """getListingsItem: a listed SKU with its MFN fulfilment availability."""
        seller_id, sku = args
        query = {key: request.args.getlist(key) for key in request.args}
        try:
            check_query("getListingsItem", query, LISTINGS_MODEL)
        except SchemaError as exc:
            return 400, {"errors": [{"code": "InvalidInput", "message": str(exc)}]}
        with self.lock:
            listing = self._listing(sku)
            quantity = listing and listing["quantity"]
        if seller_id != SELLER_ID:
            return 403, {"errors": [DENIED]}
        if listing is None:
            error = {"code": "NOT_FOUND", "message": f"SKU {sku} is not listed."}
            return 404, {"errors": [error]}
        availability = {"fulfillmentChannelCode": "DEFAULT", "quantity": quantity}
        return 200, {"sku": sku, "fulfillmentAvailability": [availability]}

    def add_listing(self, sku, quantity=0):
        """A merchant-fulfilled offer of `sku` with `quantity` available."""
        with self.lock:
            self.listings[sku] = {"quantity": quantity, "patches": 0}

    def _confirm_shipment(self, entry, body):
        """confirmShipment: ship the package's items (204), refuse a body the
        model forbids, an FBA order, or more than is left to ship (400)."""
        try:
            check_body("confirmShipment", body)
        except SchemaError as exc:
            return 400, {"errors": [{"code": "InvalidInput", "message": str(exc)}]}
        order, package = entry["order"], body["packageDetail"]
        items = {item["OrderItemId"]: item for item in entry["items"]}
        problem = self._shipment_problem(order, package, items)
        if problem:
            return 400, {"errors": [{"code": "InvalidInput", "message": problem}]}
        with self.lock:
            for line in package["orderItems"]:
                items[line["orderItemId"]]["QuantityShipped"] += line["quantity"]
            entry.setdefault("packages", []).append(package)
            shipped = sum(i["QuantityShipped"] for i in entry["items"])
            ordered = sum(i["QuantityOrdered"] for i in entry["items"])
            order["NumberOfItemsShipped"] = shipped
            order["NumberOfItemsUnshipped"] = ordered - shipped
            order["OrderStatus"] = (
                "Shipped" if shipped >= ordered else "PartiallyShipped"
            )
            order["LastUpdateDate"] = _stamp(self.state.wall_clock())
        return 204, None

    @staticmethod
    def _shipment_problem(order, package, items):
        problems = (
            (order["FulfillmentChannel"] == "AFN", "Amazon fulfils this order"),
            (
                order["OrderStatus"] in ("Pending", "Canceled", "Shipped"),
                f"The order is {order['OrderStatus']}",
            ),
            (
                not str(package["packageReferenceId"]).isdigit(),
                "packageReferenceId must be a positive number",
            ),
            (
                package["carrierCode"] == "Other" and not package.get("carrierName"),
                "carrierName is required when carrierCode is Other",
            ),
        )
        for found, problem in problems:
            if found:
                return problem
        for line in package["orderItems"]:
            item = items.get(line["orderItemId"])
            if item is None:
                return f"Unknown order item {line['orderItemId']}"
            left = item["QuantityOrdered"] - item["QuantityShipped"]
            if not 0 < line["quantity"] <= left:
                return f"Item {line['orderItemId']} has {left} left to ship"
        return None

    # === SCENARIO ===

    def add_order(
        self,
        lines,
        *,
        fulfillment="MFN",
        status="Unshipped",
        shipping="0.00",
        shipping_tax="0.00",
        facilitator=True,
        marketplace=US_MARKETPLACE,
    ):
        """An order of `lines` [{"sku", "quantity", "price" (unit), "tax"
        (of the line), "promotion", "promotion_tax"}]; shipping and its tax
        go on the first item, as Amazon states them per item. Returns its id.
        """
        with self.lock:
            number = self.state.new_id("amazon_order", 1000000)
            order_id = f"113-{number:07d}-{number * 7 % 10000000:07d}"
            items = [
                self._item(order_id, index, line, facilitator)
                for index, line in enumerate(lines)
            ]
            if items:
                items[0]["ShippingPrice"] = _money(shipping, marketplace)
                items[0]["ShippingTax"] = _money(shipping_tax, marketplace)
                items[0]["ShippingDiscount"] = _money(ZERO, marketplace)
            order = self._order(order_id, items, (fulfillment, status), marketplace)
            self.orders[order_id] = {"order": order, "items": items}
        return order_id

    def _item(self, order_id, index, line, facilitator):
        quantity = int(line.get("quantity", 1))
        price = cents(Decimal(str(line["price"])) * quantity)
        currency = {"defaultCurrencyCode": line.get("currency", "USD")}
        item = {
            "ASIN": f"B0SIM{index:05d}",
            "SellerSKU": line["sku"],
            "OrderItemId": f"{order_id[-7:]}{index:05d}",
            "Title": line.get("title") or f"Item {line['sku']}",
            "QuantityOrdered": quantity,
            "QuantityShipped": 0,
            "ProductInfo": {"NumberOfItems": "1"},
            "ItemPrice": _money(price, currency),
            "ItemTax": _money(line.get("tax", "0.00"), currency),
            "PromotionDiscount": _money(line.get("promotion", "0.00"), currency),
            "PromotionDiscountTax": _money(line.get("promotion_tax", "0.00"), currency),
            "IsGift": "false",
        }
        if Decimal(str(line.get("promotion", "0"))):
            item["PromotionIds"] = [f"SIM-PROMO-{index}"]
        if facilitator:
            item["TaxCollection"] = dict(FACILITATOR)
        return item

    def _order(self, order_id, items, kind, marketplace):
        fulfillment, status = kind
        now = self.state.wall_clock()
        total = sum((_item_total(item) for item in items), ZERO)
        order = {
            "AmazonOrderId": order_id,
            "PurchaseDate": _stamp(now),
            "LastUpdateDate": _stamp(now),
            "OrderStatus": status,
            "FulfillmentChannel": "AFN" if fulfillment == "AFN" else "MFN",
            "SalesChannel": marketplace["name"],
            "ShipServiceLevel": "Std US D2D Dom",
            "NumberOfItemsShipped": 0,
            "NumberOfItemsUnshipped": sum(i["QuantityOrdered"] for i in items),
            "PaymentMethod": "Other",
            "PaymentMethodDetails": ["Standard"],
            "MarketplaceId": marketplace["id"],
            "ShipmentServiceLevelCategory": "Standard",
            "OrderType": "StandardOrder",
            "IsBusinessOrder": False,
            "IsPrime": fulfillment == "AFN",
            "IsPremiumOrder": False,
            "IsReplacementOrder": False,
            "IsSoldByAB": False,
            "ShippingAddress": {
                "City": "SEATTLE",
                "StateOrRegion": "WA",
                "PostalCode": "98109-1234",
                "CountryCode": "US",
            },
            "BuyerInfo": {"BuyerEmail": f"{order_id}@marketplace.amazon.com"},
        }
        if status not in ("Pending", "PendingAvailability"):
            order["OrderTotal"] = _money(total, marketplace)
        return order

    def update_order(self, order_id, **changes):
        """Change an order's fields (e.g. OrderStatus="Canceled"); its
        LastUpdateDate moves to now. A pending order that leaves Pending gets
        its OrderTotal."""
        with self.lock:
            entry = self.orders[order_id]
            order = entry["order"]
            order.update(changes)
            order["LastUpdateDate"] = _stamp(self.state.wall_clock())
            if "OrderTotal" not in order and order["OrderStatus"] not in (
                "Pending",
                "PendingAvailability",
                "Canceled",
            ):
                total = sum((_item_total(i) for i in entry["items"]), ZERO)
                marketplace = next(
                    m for m in self.marketplaces if m["id"] == order["MarketplaceId"]
                )
                order["OrderTotal"] = _money(total, marketplace)
            return dict(order)


def _item_total(item):
    """What the buyer paid for one item: price, shipping and their taxes,
    less promotions and their tax."""

    def amount(key):
        return Decimal(item[key]["Amount"]) if key in item else ZERO

    return (
        amount("ItemPrice")
        + amount("ShippingPrice")
        + amount("ItemTax")
        + amount("ShippingTax")
        - amount("PromotionDiscount")
        - amount("PromotionDiscountTax")
        - amount("ShippingDiscount")
    )


def _money(amount, marketplace):
    return {"CurrencyCode": marketplace["defaultCurrencyCode"], "Amount": money(amount)}


def _stamp(moment):
    """SP-API timestamps: 2026-07-01T12:00:00Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso(text):
    """A query timestamp in the form orders carry, for comparison."""
    return _stamp(parse_when(text).astimezone(timezone.utc))


def _json(payload, status=200, headers=None):
    return Response(
        json.dumps(payload),
        status=status,
        headers=headers or {},
        mimetype="application/json",
    )
