"""Amazon Selling Partner API (SP-API): Login with Amazon tokens, the Orders
API v0 and the seller's marketplaces.

Amazon sends no webhook to a merchant URL (its notifications go to AWS
queues): orders are polled with getOrders by `LastUpdatedAfter`, page by
page with `NextToken`, and each is read with getOrder and getOrderItems.
Every operation has its own rate and burst (`USAGE_PLANS`); a 429 states the
operation's rate in `x-amzn-RateLimit-Limit` but no Retry-After: the wait is
one request's refill, written to the shared budget like any throttling.
"""

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from .amazon_listings import STOCK_USAGE_PLANS, AmazonStockMixin
from .base import ChannelAdapter
from .exceptions import (
    ChannelAuthError,
    ChannelPayloadError,
    ChannelSignatureError,
    ChannelThrottledError,
)
from .orders_amazon import parse_amazon_order, parse_listed_order
from .payouts_amazon import USAGE_PLANS as SETTLEMENT_USAGE_PLANS
from .payouts_amazon import AmazonSettlementMixin
from .records import FulfilmentResult, UnreadableOrder
from .shopify import AccessToken
from .transport import ChannelTransport, clamp_wait, parse_retry_after

# Documented rate (requests per second) and burst of each operation used
# (Orders API v0 and Sellers API v1 models, "Usage Plan").
USAGE_PLANS = {
    "getOrders": (0.0167, 20),
    "getOrder": (0.5, 30),
    "getOrderItems": (0.5, 30),
    "getMarketplaceParticipations": (0.016, 15),
    "confirmShipment": (2, 10),
    **STOCK_USAGE_PLANS,
    **SETTLEMENT_USAGE_PLANS,
}
# Amazon's carrier codes (Orders API "carrierCode"); any other carrier is
# "Other" with its name.
CARRIER_CODES = {
    code.lower(): code
    for code in ("UPS", "USPS", "FedEx", "DHL", "OnTrac", "Amazon Shipping")
}
REGION_ENDPOINTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
LWA_URL = "https://api.amazon.com"
# Orders per getOrders page (the API's maximum).
PAGE_SIZE = 100
# Most pages of items one order may have (30 items a page): a listing that
# never ends is the channel's fault, not a reason to loop.
MAX_ITEM_PAGES = 20


@dataclass(frozen=True)
class Marketplace:
    """A marketplace the seller account takes part in."""

    external_ref: str
    name: str
    country_code: str | None
    currency: str | None
    domain: str | None
    participating: bool


class OperationPacer:
    """Spaces the calls of one SP-API operation once Amazon throttled it.

    Amazon meters each operation with its own token bucket and answers 429
    when it is empty, stating the rate (`x-amzn-RateLimit-Limit`) but no
    wait. After a 429 the bucket refills one request at a time, so the calls
    of that operation from this process are spaced by one request's refill
    (instead of meeting a 429 every other call), until they pause long
    enough for the bucket to be full again (`burst` requests' refill), when
    the burst is usable again. Process-wide and thread-safe: the jobs of one
    worker share it; the shared budget still holds the other workers after
    each 429.
    """

    def __init__(self, clock=time.monotonic, sleep=time.sleep):
        self.clock, self.sleep = clock, sleep
        self.lock = threading.Lock()
        self.paced = {}  # (endpoint, operation) -> [interval, next call]

    def wait(self, endpoint, operation):
        key = (endpoint, operation)
        with self.lock:
            state = self.paced.get(key)
            if not state:
                return
            interval, next_call = state
            now = self.clock()
            _rate, burst = USAGE_PLANS.get(operation, (None, 1))
            if now - next_call > interval * burst:
                del self.paced[key]  # idle long enough: the bucket is full
                return
            start = max(now, next_call)
            state[1] = start + interval
        if start > now:
            self.sleep(start - now)

    def throttled(self, endpoint, operation, interval):
        if not interval:
            return
        with self.lock:
            self.paced[(endpoint, operation)] = [interval, self.clock() + interval]


PACER = OperationPacer()


class AmazonTransport(ChannelTransport):
    """SP-API throttling: a 429 without Retry-After waits one request's
    refill at the rate `x-amzn-RateLimit-Limit` states."""

    def _raise_for_status(self, method, url, response):
        if response.status_code == 429 and "Retry-After" not in response.headers:
            raise ChannelThrottledError(
                f"{method} {url} answered HTTP 429 (SP-API quota exceeded)",
                retry_after=refill_seconds(response.headers),
            )
        super()._raise_for_status(method, url, response)


def refill_seconds(headers):
    """Seconds one request takes to refill at the rate the answer states;
    None when it states none."""
    rate = parse_retry_after(headers.get("x-amzn-RateLimit-Limit"))
    return clamp_wait(1 / rate) if rate else None


class AmazonAdapter(AmazonStockMixin, AmazonSettlementMixin, ChannelAdapter):
    """One seller account in one SP-API region."""

    code = "amazon"
    status_actions = {
        "pending": "wait",
        "pendingavailability": "wait",
        "unshipped": "confirm",
        "partiallyshipped": "confirm",
        "shipped": "confirm",
        "invoiceunconfirmed": "confirm",
        "unfulfillable": "quotation",
        "canceled": "cancel",
    }

    @property
    def transport(self):
        if self._transport is None:
            self._transport = AmazonTransport(timeout=self.config.get("timeout") or 20)
        return self._transport

    @property
    def endpoint(self):
        return (self.config.get("base_url") or "").rstrip("/")

    def usage_plans(self):
        """Override of `ChannelAdapter`: the documented plans (`USAGE_PLANS`)."""
        return dict(USAGE_PLANS)

    # === WEBHOOKS ===
    # Amazon posts nothing to a merchant URL: a delivery to an Amazon
    # backend's webhook address is refused like an unsigned one.

    def verify_webhook(self, headers, body):
        """Override of `ChannelAdapter`: no delivery is Amazon's."""
        raise ChannelSignatureError(
            "Amazon sends no webhooks to a merchant URL; orders are polled."
        )

    def parse_webhook(self, headers, body):
        """Override of `ChannelAdapter`: no delivery is Amazon's."""
        raise ChannelPayloadError(
            "Amazon sends no webhooks to a merchant URL; orders are polled."
        )

    # === HTTP ===

    def get(self, operation, path, params=None):
        """The JSON answer of one SP-API GET, throttling waited out in place
        (`call_with_backoff`); an access token SP-API refuses is renewed once."""
        return self.call_with_backoff(self._get_once, operation, path, params)

    def _get_once(self, operation, path, params):
        return self._request_once(operation, "GET", path, params=params)

    def _request_once(self, operation, method, path, **kwargs):
        """The JSON answer of one call of `operation`, paced per operation."""
        pacer = self._pacer()
        pacer.wait(self.endpoint, operation)
        try:
            response = self._authorized(method, path, **kwargs)
        except ChannelThrottledError as exc:
            # The operation's bucket at Amazon is empty: from now on this
            # process spaces its calls at the rate Amazon stated.
            pacer.throttled(self.endpoint, operation, exc.retry_after)
            recorder = self.config.get("operation_recorder")
            if recorder:
                recorder.throttled(operation, exc.retry_after)
            raise
        try:
            return response.json()
        except ValueError as exc:
            raise ChannelPayloadError(
                f"{method} {path}: the answer is not JSON"
            ) from exc

    def _pacer(self):
        return self.config.get("pacer") or PACER

    def _authorized(self, method, path, **kwargs):
        """The response of one call with the shared access token; a token
        SP-API refuses (expired, 403) is renewed once and the call sent again."""
        url = f"{self.endpoint}{path}"
        tokens = self.config["token_provider"]
        token = tokens.get(self._request_access_token)
        try:
            return self._send(method, url, token, kwargs)
        except ChannelAuthError:
            token = tokens.renew(self._request_access_token, failed=token)
            return self._send(method, url, token, kwargs)

    def _send(self, method, url, token, kwargs):
        headers = {"x-amz-access-token": token or ""}
        return self.transport.request(method, url, headers=headers, **kwargs)

    def _request_access_token(self):
        """Exchange the seller's refresh token for an access token (Login
        with Amazon, refresh_token grant; it lasts an hour)."""
        lwa_url = (self.config.get("lwa_url") or LWA_URL).rstrip("/")
        try:
            response = self.transport.request(
                "POST",
                f"{lwa_url}/auth/o2/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": self.config.get("refresh_token") or "",
                    "client_id": self.config.get("client_id") or "",
                    "client_secret": self.config.get("client_secret") or "",
                },
            )
        except ChannelPayloadError as exc:
            # 400 invalid_grant: the refresh token was revoked or is wrong.
            raise ChannelAuthError(
                f"Login with Amazon refused the refresh token: {exc}"
            ) from exc
        except ChannelAuthError as exc:
            raise ChannelAuthError(
                "Login with Amazon refused the client id or secret."
            ) from exc
        body = response.json()
        if not isinstance(body, dict) or not body.get("access_token"):
            raise ChannelPayloadError("Login with Amazon answered no access_token.")
        try:
            expires_in = float(body.get("expires_in") or 0)
        except (TypeError, ValueError):
            expires_in = 0.0
        return AccessToken(str(body["access_token"]), "", expires_in)

    # === ACCOUNT ===

    def test_connection(self):
        """Override of `ChannelAdapter`: the marketplaces the token opens."""
        marketplaces = self.fetch_marketplaces()
        names = ", ".join(m.name for m in marketplaces if m.participating)
        return f"Amazon seller account ({names or 'no marketplace'})"

    def fetch_marketplaces(self):
        """Override of `ChannelAdapter`: getMarketplaceParticipations."""
        body = self.get(
            "getMarketplaceParticipations", "/sellers/v1/marketplaceParticipations"
        )
        marketplaces = []
        for entry in body.get("payload") or ():
            marketplace = entry.get("marketplace") or {}
            if not marketplace.get("id"):
                continue
            marketplaces.append(
                Marketplace(
                    external_ref=marketplace["id"],
                    name=marketplace.get("name") or marketplace["id"],
                    country_code=marketplace.get("countryCode"),
                    currency=marketplace.get("defaultCurrencyCode"),
                    domain=marketplace.get("domainName"),
                    participating=bool(
                        (entry.get("participation") or {}).get("isParticipating")
                    ),
                )
            )
        return marketplaces

    # === ORDERS ===

    def fetch_orders_updated_since(self, since, cursor=None):
        """Override of `ChannelAdapter`: one getOrders page of the configured
        marketplaces; orders come without items (`is_complete` False), each
        is read whole by its own import job."""
        marketplaces = ",".join(self.config.get("marketplace_ids") or ())
        if not marketplaces:
            raise ChannelPayloadError("No Amazon marketplace is set to import.")
        params = {"MarketplaceIds": marketplaces}
        if cursor:
            params["NextToken"] = cursor
        else:
            params["LastUpdatedAfter"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
            params["MaxResultsPerPage"] = PAGE_SIZE
        payload = self.get("getOrders", "/orders/v0/orders", params).get("payload")
        if not isinstance(payload, dict):
            raise ChannelPayloadError("getOrders answered no payload.")
        orders = [_listed(order) for order in payload.get("Orders") or ()]
        return orders, payload.get("NextToken") or None

    def fetch_order(self, external_ref):
        """Override of `ChannelAdapter`: getOrder, then every page of
        getOrderItems."""
        path = f"/orders/v0/orders/{quote(external_ref, safe='')}"
        order = self._get_order_payload(path)
        items, cursor = [], None
        for _page in range(MAX_ITEM_PAGES):
            params = {"NextToken": cursor} if cursor else None
            page = self.get("getOrderItems", f"{path}/orderItems", params)
            payload = page.get("payload") or {}
            items += payload.get("OrderItems") or []
            cursor = payload.get("NextToken")
            if not cursor:
                return parse_amazon_order(order, items)
        raise ChannelPayloadError(
            f"Amazon lists more than {MAX_ITEM_PAGES} pages of items for "
            f"order {external_ref}; stopped reading."
        )

    # === FULFILMENT ===

    def push_fulfilment(self, request):
        """Override of `ChannelAdapter`: confirmShipment of the lines Amazon
        still has to ship, as one package numbered after the Odoo delivery.
        An FBA order, or one whose lines all shipped, is already fulfilled."""
        path = f"/orders/v0/orders/{quote(request.order_ref, safe='')}"
        order = self.get("getOrder", path).get("payload") or {}
        if order.get("FulfillmentChannel") == "AFN":
            return FulfilmentResult(already_fulfilled=True)
        items = self.get("getOrderItems", f"{path}/orderItems").get("payload") or {}
        left = {
            str(item.get("OrderItemId")): int(item.get("QuantityOrdered") or 0)
            - int(item.get("QuantityShipped") or 0)
            for item in items.get("OrderItems") or ()
        }
        lines = [
            {
                "orderItemId": line.line_ref,
                "quantity": min(line.quantity, left[line.line_ref]),
            }
            for line in request.lines
            if left.get(line.line_ref, 0) > 0
        ]
        if not lines:
            return FulfilmentResult(already_fulfilled=True)
        body = {
            "marketplaceId": order.get("MarketplaceId") or "",
            "packageDetail": self._package(request, lines),
        }
        self.call_with_backoff(
            self._authorized, "POST", f"{path}/shipmentConfirmation", json=body
        )
        package = body["packageDetail"]["packageReferenceId"]
        return FulfilmentResult(fulfilment_refs=(f"{request.order_ref}/{package}",))

    @staticmethod
    def _package(request, lines):
        """The packageDetail of a request: Amazon needs a tracking number
        and a carrier (its code, else "Other" and the carrier's name)."""
        if not request.tracking_number:
            raise ChannelPayloadError(
                "Amazon confirms a shipment only with its tracking number: "
                "set the delivery's tracking reference."
            )
        carrier = (request.tracking_company or "").strip()
        code = CARRIER_CODES.get(carrier.lower(), "Other")
        package = {
            "packageReferenceId": str(request.shipment_ref or "1"),
            "carrierCode": code,
            "trackingNumber": request.tracking_number,
            "shipDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "orderItems": lines,
        }
        if code == "Other":
            package["carrierName"] = carrier or "Other"
        return package


def _listed(order):
    """A listed order, or an `UnreadableOrder` that fails alone."""
    try:
        return parse_listed_order(order)
    except ChannelPayloadError as exc:
        ref = order.get("AmazonOrderId") if isinstance(order, dict) else None
        return UnreadableOrder(ref, ref or "?", str(exc))
