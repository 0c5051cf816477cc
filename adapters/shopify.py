"""Shopify Admin GraphQL API."""

import math
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from . import fulfilment_shopify
from .base import ChannelAdapter
from .catalogue import (
    ChannelProductEdit,
    ChannelVariant,
    PublishedVariant,
    PublishResult,
    StoreSettings,
)
from .disputes_shopify import (
    DISPUTE_QUERY,
    DISPUTE_TOPICS,
    parse_dispute_webhook,
    parse_graphql_dispute,
)
from .exceptions import (
    ChannelAuthError,
    ChannelPayloadError,
    ChannelRetryableError,
    ChannelThrottledError,
)
from .images_shopify import files_input, stage_images, variant_file_input
from .order_edits_shopify import edit_order_ref, parse_order_edit
from .orders_shopify import (
    ORDER_CONNECTION_QUERIES,
    ORDER_QUERY,
    ORDERS_COUNT_QUERY,
    ORDERS_PAGE_QUERY,
    merge_connection_page,
    next_page_cursor,
    parse_shopify_graphql_order,
    parse_shopify_order,
)
from .payouts_shopify import fetch_shopify_payout_lines, fetch_shopify_payouts
from .records import UnreadableOrder
from .refunds_shopify import (
    REFUND_QUERY,
    parse_refund_notice,
    parse_shopify_graphql_refund,
)
from .returns_shopify import (
    RETURN_QUERY,
    parse_graphql_return,
    parse_return_notice,
)
from .signatures import sign_base64
from .stock import ChannelStockReport, StockWriteResult
from .transport import BucketStatus, clamp_wait
from .values import money_text
from .webhooks import (
    FLOW_APP,
    FLOW_CATALOG,
    FLOW_ORDERS,
    FLOW_PRIVACY,
    FLOW_STOCK,
    PRIVACY_CUSTOMER_REDACT,
    PRIVACY_DATA_REQUEST,
    PRIVACY_SHOP_REDACT,
    PrivacyRequest,
    WebhookDelivery,
    header,
    load_json_object,
    parse_timestamp,
    pick_headers,
    require_header,
    shorten,
)

SHOP_QUERY = "query ChannelConnectorShop { shop { name myshopifyDomain currencyCode } }"
# Shopify caps every input array at 250 items.
MAX_QUANTITIES_PER_CALL = 250
SET_QUANTITIES_MUTATION = """
mutation ChannelConnectorSetQuantities(
  $input: InventorySetQuantitiesInput!, $key: String!
) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup {
      changes { name delta quantityAfterChange item { id } location { id } }
    }
    userErrors { code field message }
  }
}
"""
LEVELS_QUERY = """
query ChannelConnectorLevels($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      inventoryLevel(locationId: $locationId) {
        quantities(names: ["available"]) { name quantity }
      }
    }
  }
}
"""
STALE_CODE = "CHANGE_FROM_QUANTITY_STALE"
WEBHOOKS_QUERY = """
query ChannelConnectorWebhooks($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic uri }
  }
}
"""
WEBHOOK_CREATE_MUTATION = """
mutation ChannelConnectorWebhookCreate(
  $topic: WebhookSubscriptionTopic!, $subscription: WebhookSubscriptionInput!
) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $subscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""
WEBHOOK_DELETE_MUTATION = """
mutation ChannelConnectorWebhookDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}
"""
ORDERS_PAGE_SIZE = 50
# 100 variants with their product and inventory item cost 302 points, a third
# of the bucket: the catalogue never starves orders of budget.
VARIANTS_PAGE_SIZE = 100
VARIANTS_QUERY = """
query ChannelConnectorVariants($first: Int!, $after: String) {
  productVariants(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      sku
      displayName
      product { id }
      inventoryItem { id }
    }
  }
}
"""
PRODUCT_SET_MUTATION = """
mutation ChannelConnectorProductSet(
  $input: ProductSetInput!, $identifier: ProductSetIdentifiers
) {
  productSet(input: $input, identifier: $identifier, synchronous: true) {
    product {
      id
      variants(first: 250) { nodes { id sku inventoryItem { id } } }
    }
    userErrors { code field message }
  }
}
"""
# Above this many variants a product is set asynchronously: productSet
# answers a ProductSetOperation at once, polled until COMPLETE, then the
# product's variants are read in pages (a synchronous answer carries one
# page only, and a large product's write may outlast the request).
ASYNC_PRODUCT_SET_VARIANTS = 100
# Seconds waited before each poll of an asynchronous productSet (31.5 s in
# all); still running after them, the job is retried later.
PRODUCT_SET_POLL_WAITS = (0.5, 1, 2, 4, 8, 16)
PRODUCT_SET_ASYNC_MUTATION = """
mutation ChannelConnectorProductSetAsync(
  $input: ProductSetInput!, $identifier: ProductSetIdentifiers
) {
  productSet(input: $input, identifier: $identifier, synchronous: false) {
    productSetOperation { id status userErrors { code field message } }
    userErrors { code field message }
  }
}
"""
PRODUCT_OPERATION_QUERY = """
query ChannelConnectorProductOperation($id: ID!) {
  productOperation(id: $id) {
    status
    product { id }
    ... on ProductSetOperation { userErrors { code field message } }
  }
}
"""
PRODUCT_VARIANTS_QUERY = """
query ChannelConnectorProductVariants($id: ID!, $after: String) {
  product(id: $id) {
    variants(first: 250, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id sku inventoryItem { id } }
    }
  }
}
"""
STORE_SETTINGS_QUERY = (
    "query ChannelConnectorStoreSettings { shop { currencyCode weightUnit } }"
)
# Odoo's weight unit name by Shopify's WeightUnit.
SHOPIFY_WEIGHT_UNIT_NAMES = {
    "KILOGRAMS": "kg",
    "GRAMS": "g",
    "POUNDS": "lb",
    "OUNCES": "oz",
}
# productVariantsBulkUpdate takes the variants of one product; a product
# holds up to 2,048 variants but every input array is capped at 250 (the
# 2020-01 rule): one call per product and per 250 of its changed variants.
MAX_VARIANTS_PER_PRICE_CALL = MAX_QUANTITIES_PER_CALL
VARIANTS_BULK_UPDATE_MUTATION = """
mutation ChannelConnectorVariantPrices(
  $productId: ID!, $variants: [ProductVariantsBulkInput!]!
) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id }
    userErrors { code field message }
  }
}
"""
# Shopify's weight units by Odoo's weight unit name.
WEIGHT_UNITS = {"kg": "KILOGRAMS", "g": "GRAMS", "lb": "POUNDS", "oz": "OUNCES"}
# A product without options is one variant under Shopify's default option.
DEFAULT_OPTION = ("Title", "Default Title")
# What a call is expected to cost before Shopify says, for the shared budget.
MUTATION_COST = 10
QUERY_COST = 50


def rest_topic(enum_value):
    """`INVENTORY_LEVELS_UPDATE` -> `inventory_levels/update`: the resource is
    everything before the last underscore, except for topics we know."""
    known = {topic.upper().replace("/", "_"): topic for topic in SHOPIFY_TOPIC_FLOWS}
    if enum_value in known:
        return known[enum_value]
    resource, _sep, action = enum_value.lower().rpartition("_")
    return f"{resource}/{action}" if resource else action


def bucket_status(cost):
    """The `transport.BucketStatus` of a response's cost extension, or None."""
    status = cost.get("throttleStatus")
    if not status:
        return None
    return BucketStatus(
        maximum=status.get("maximumAvailable"),
        available=status.get("currentlyAvailable"),
        restore_rate=status.get("restoreRate"),
    )


def refill_seconds(cost):
    """Seconds until the bucket holds the requested cost again (None: unknown),
    at most `MAX_RETRY_AFTER`: a zero, negative or absurd restore rate or cost
    never makes a division by zero nor an endless wait."""
    status = cost.get("throttleStatus") or {}
    rate = _finite(status.get("restoreRate"))
    if not rate or rate <= 0:
        return None
    missing = (_finite(cost.get("requestedQueryCost")) or 0) - (
        _finite(status.get("currentlyAvailable")) or 0
    )
    return clamp_wait(max(missing, 0) / rate + 0.1)


def _finite(value):
    """`value` as a finite float, None if it is none."""
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def gid(kind, ref):
    """Shopify global id from a numeric id (kept if it is one already)."""
    ref = str(ref)
    return ref if ref.startswith("gid://") else f"gid://shopify/{kind}/{ref}"


def numeric_id(value):
    """Numeric id of a Shopify global id, as text."""
    return str(value).rsplit("/", 1)[-1]


# Topic -> flow. Refund and transaction topics belong to their order.
SHOPIFY_TOPIC_FLOWS = {
    "orders/create": FLOW_ORDERS,
    "orders/updated": FLOW_ORDERS,
    "orders/cancelled": FLOW_ORDERS,
    "orders/paid": FLOW_ORDERS,
    "orders/edited": FLOW_ORDERS,
    "refunds/create": FLOW_ORDERS,
    "disputes/create": FLOW_ORDERS,
    "returns/approve": FLOW_ORDERS,
    "returns/cancel": FLOW_ORDERS,
    "returns/decline": FLOW_ORDERS,
    "disputes/update": FLOW_ORDERS,
    "order_transactions/create": FLOW_ORDERS,
    "fulfillments/create": FLOW_ORDERS,
    "fulfillments/update": FLOW_ORDERS,
    "inventory_levels/update": FLOW_STOCK,
    "inventory_items/update": FLOW_STOCK,
    "products/create": FLOW_CATALOG,
    "products/update": FLOW_CATALOG,
    "products/delete": FLOW_CATALOG,
    "locations/update": FLOW_CATALOG,
    "customers/data_request": FLOW_PRIVACY,
    "customers/redact": FLOW_PRIVACY,
    "shop/redact": FLOW_PRIVACY,
    "app/uninstalled": FLOW_APP,
}
SHOPIFY_KEPT_HEADERS = (
    "X-Shopify-Topic",
    "X-Shopify-Shop-Domain",
    "X-Shopify-API-Version",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Event-Id",
    "X-Shopify-Triggered-At",
    "X-Shopify-Name",
)
ORDER_ID_KEYS = {
    "refunds/create": "order_id",
    "order_transactions/create": "order_id",
    "fulfillments/create": "order_id",
    "fulfillments/update": "order_id",
}
# Topics that act on the whole shop or erase data, and the keys their body
# must (True) or must not (False) have. Only the body is signed: a captured
# body re-sent under one of these topics must not pass for it.
SHOP_TOPIC_SHAPES = {
    "app/uninstalled": {"myshopify_domain": True, "shop_domain": False},
    "shop/redact": {"shop_domain": True, "customer": False},
    "customers/redact": {
        "shop_domain": True,
        "customer": True,
        "orders_to_redact": True,
    },
    "customers/data_request": {
        "shop_domain": True,
        "customer": True,
        "data_request": True,
    },
}


SHOPIFY_PRIVACY_KINDS = {
    "shop/redact": PRIVACY_SHOP_REDACT,
    "customers/redact": PRIVACY_CUSTOMER_REDACT,
    "customers/data_request": PRIVACY_DATA_REQUEST,
}


@dataclass(frozen=True)
class AccessToken:
    """An Admin API token from the client credentials grant."""

    token: str = field(repr=False)
    scope: str
    expires_in: float


class ShopifyAdapter(ChannelAdapter):
    """Talks to one shop through `POST /admin/api/<version>/graphql.json`."""

    code = "shopify"
    manages_webhook_subscriptions = True
    topic_flows = SHOPIFY_TOPIC_FLOWS
    status_actions = {
        "pending": "wait",
        "authorized": "confirm",
        "partially_paid": "confirm",
        "paid": "confirm",
        "partially_refunded": "confirm",
        "refunded": "confirm",
        "voided": "cancel",
        "expired": "cancel",
    }
    refunded_statuses = frozenset({"partially_refunded", "refunded"})
    product_edit_topics = frozenset({"products/update"})
    order_payload_topics = frozenset(
        {
            "orders/create",
            "orders/updated",
            "orders/cancelled",
            "orders/paid",
            "orders/fulfilled",
            "orders/partially_fulfilled",
        }
    )

    @property
    def graphql_url(self):
        base_url = self.config["base_url"].rstrip("/")
        return f"{base_url}/admin/api/{self.config['api_version']}/graphql.json"

    def graphql(self, document, variables=None):
        """Run a GraphQL document; return its `data`, raise on errors.

        Throttling (THROTTLED, HTTP 429) is waited out in place: the wait is
        what the bucket needs to hold the requested cost again.
        """
        return self.call_with_backoff(self._graphql_once, document, variables)

    def _graphql_once(self, document, variables):
        budget = self.config.get("budget")
        if budget:
            budget.before(MUTATION_COST if "mutation" in document[:40] else QUERY_COST)
        response = self._authorized_post(
            self.graphql_url, json={"query": document, "variables": variables or {}}
        )
        body = response.json()
        cost = (body.get("extensions") or {}).get("cost") or {}
        if budget:
            budget.after(bucket_status(cost))
        errors = body.get("errors")
        if errors:
            codes = {(e.get("extensions") or {}).get("code") for e in errors}
            message = "; ".join(str(e.get("message")) for e in errors)
            if "THROTTLED" in codes:
                raise ChannelThrottledError(
                    f"Shopify throttled: {message}", retry_after=refill_seconds(cost)
                )
            raise ChannelPayloadError(f"Shopify GraphQL errors: {message}")
        return body["data"]

    def _authorized_post(self, url, **kwargs):
        """POST with the access token. A client credentials token Shopify
        refuses (401: expired or revoked) is renewed once and the call
        sent again; a static token's refusal is final."""
        tokens = self.config.get("token_provider")
        if not tokens:
            return self.transport.request(
                "POST",
                url,
                headers=self._token_header(self.config["access_token"]),
                **kwargs,
            )
        token = tokens.get(self._request_access_token)
        try:
            return self.transport.request(
                "POST", url, headers=self._token_header(token), **kwargs
            )
        except ChannelAuthError:
            token = tokens.renew(self._request_access_token, failed=token)
            return self.transport.request(
                "POST", url, headers=self._token_header(token), **kwargs
            )

    @staticmethod
    def _token_header(token):
        return {"X-Shopify-Access-Token": token or ""}

    def _request_access_token(self):
        """Exchange the app's client id and secret for an Admin API token
        (OAuth client credentials grant, Dev Dashboard apps).

        :return: `AccessToken` (the token lasts `expires_in` seconds)
        """
        base_url = self.config["base_url"].rstrip("/")
        try:
            response = self.transport.request(
                "POST",
                f"{base_url}/admin/oauth/access_token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.config.get("client_id") or "",
                    "client_secret": self.config.get("webhook_secret") or "",
                },
            )
        except ChannelPayloadError as exc:
            # 400 invalid_client: wrong id or secret, or the app is not
            # installed on this shop.
            raise ChannelAuthError(
                f"Shopify refused the app's client credentials: {exc}"
            ) from exc
        body = response.json()
        if not isinstance(body, dict) or not body.get("access_token"):
            raise ChannelPayloadError("Shopify's token answer holds no access_token.")
        try:
            expires_in = float(body.get("expires_in") or 0)
        except (TypeError, ValueError):
            expires_in = 0.0
        return AccessToken(
            str(body["access_token"]), str(body.get("scope") or ""), expires_in
        )

    # Stock

    stock_batch_size = MAX_QUANTITIES_PER_CALL

    def push_stock(self, quantities, idempotency_key):
        """Set `available` quantities in one `inventorySetQuantities` call.

        Compare-and-set: each item carries `changeFromQuantity`; if any is
        stale Shopify applies nothing, and every item comes back unapplied
        with the channel's current quantity so that the caller can retry.
        A retried call with the same key is not applied twice by Shopify.
        """
        if len(quantities) > MAX_QUANTITIES_PER_CALL:
            raise ValueError("At most 250 quantities per inventorySetQuantities")
        variables = {
            "key": idempotency_key,
            "input": {
                "name": "available",
                "reason": "correction",
                "referenceDocumentUri": f"odoo://channel_connector/{idempotency_key}",
                "quantities": [
                    {
                        "inventoryItemId": gid("InventoryItem", q.inventory_item_ref),
                        "locationId": gid("Location", q.location_ref),
                        "quantity": q.quantity,
                        "changeFromQuantity": q.change_from,
                    }
                    for q in quantities
                ],
            },
        }
        result = self.graphql(SET_QUANTITIES_MUTATION, variables)
        errors = result["inventorySetQuantities"]["userErrors"]
        if not errors:
            return [StockWriteResult(q, applied=True) for q in quantities]
        if any(error.get("code") == STALE_CODE for error in errors):
            current = self.read_stock(quantities)
            return [
                StockWriteResult(
                    q,
                    applied=False,
                    channel_quantity=current.get(q),
                    message=STALE_CODE,
                )
                for q in quantities
            ]
        messages = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
        raise ChannelPayloadError(f"Shopify refused the quantities: {messages}")

    def read_stock(self, quantities):
        """{StockQuantity: available quantity on Shopify} (absent when unknown)."""
        current = {}
        by_location = {}
        for quantity in quantities:
            by_location.setdefault(quantity.location_ref, []).append(quantity)
        for location_ref, items in by_location.items():
            for start in range(0, len(items), MAX_QUANTITIES_PER_CALL):
                chunk = items[start : start + MAX_QUANTITIES_PER_CALL]
                data = self.graphql(
                    LEVELS_QUERY,
                    {
                        "ids": [
                            gid("InventoryItem", q.inventory_item_ref) for q in chunk
                        ],
                        "locationId": gid("Location", location_ref),
                    },
                )
                available = {
                    numeric_id(node["id"]): _available(node)
                    for node in data["nodes"]
                    if node
                }
                for quantity in chunk:
                    value = available.get(numeric_id(quantity.inventory_item_ref))
                    if value is not None:
                        current[quantity] = value
        return current

    def parse_stock_report(self, topic, payload):
        """Override of `ChannelAdapter`: `inventory_levels/update`."""
        if topic != "inventory_levels/update":
            return None
        if not isinstance(payload, dict):
            raise ChannelPayloadError("inventory_levels/update body is not an object")
        item, location = payload.get("inventory_item_id"), payload.get("location_id")
        available = payload.get("available")
        if available is None:
            return None  # the item is not tracked there: nothing to compare
        if not item or not location or not isinstance(available, int):
            raise ChannelPayloadError(
                "inventory_levels/update without item, location or quantity"
            )
        return ChannelStockReport(
            inventory_item_ref=str(item),
            location_ref=str(location),
            available=available,
            reported_at=parse_timestamp(payload.get("updated_at")),
        )

    def parse_order(self, payload):
        """Override of `ChannelAdapter`: see `orders_shopify`."""
        return parse_shopify_order(payload)

    def fetch_order(self, external_ref):
        """The current state of one order, through GraphQL.

        ORDER_QUERY reads the first 50 line items (and 10 shipping lines):
        a query for more would pass Shopify's 1,000-point cost cap. The rest
        of a longer order is read page by page (one 603-point query per 50
        line items) before the order is parsed, so that a large order is
        imported whole. Falling back to the webhook body instead was
        rejected: the backfill and the reconciliation have no body, and a
        body has no risk or transactions.
        """
        order_id = gid("Order", external_ref)
        node = self.graphql(ORDER_QUERY, {"id": order_id}).get("order")
        if not node:
            raise ChannelPayloadError(f"Shopify has no order {external_ref}.")
        for key, document in ORDER_CONNECTION_QUERIES.items():
            while cursor := next_page_cursor(node, key):
                page = self.graphql(document, {"id": order_id, "after": cursor})
                if not page.get("order"):
                    raise ChannelPayloadError(f"Shopify has no order {external_ref}.")
                merge_connection_page(node, key, page["order"][key])
        return parse_shopify_graphql_order(node)

    def fetch_orders_updated_since(self, since, cursor=None):
        """One page of orders updated at or after `since` (aware datetime).

        :return: (orders, next cursor or None); an order that cannot be read
            is an `UnreadableOrder` in the list
        """
        return self._fetch_orders_page(
            f"updated_at:>='{_search_stamp(since)}'", "UPDATED_AT", cursor
        )

    def fetch_orders_created_since(self, since, cursor=None):
        """One page of orders created at or after `since`, oldest first.

        :return: (orders, next cursor or None); an order that cannot be read
            is an `UnreadableOrder` in the list
        """
        return self._fetch_orders_page(
            f"created_at:>='{_search_stamp(since)}'", "CREATED_AT", cursor
        )

    def count_orders_created_since(self, since):
        """How many orders were created at or after `since`."""
        data = self.graphql(
            ORDERS_COUNT_QUERY, {"query": f"created_at:>='{_search_stamp(since)}'"}
        )
        return data["ordersCount"]["count"]

    def _fetch_orders_page(self, search, sort_key, cursor):
        data = self.graphql(
            ORDERS_PAGE_QUERY,
            {
                "first": ORDERS_PAGE_SIZE,
                "after": cursor,
                "query": search,
                "sortKey": sort_key,
            },
        )
        page = data["orders"]
        orders = [self._fetch_listed_order(node) for node in page["nodes"]]
        info = page["pageInfo"]
        return orders, (info["endCursor"] if info["hasNextPage"] else None)

    def _fetch_listed_order(self, listed):
        """One order of a page: its `OrderData`, or an `UnreadableOrder` when
        Shopify's answer cannot be used (a transient error still raises)."""
        ref = numeric_id(listed["id"])
        try:
            return self.fetch_order(ref)
        except ChannelPayloadError as exc:
            return UnreadableOrder(
                external_ref=ref,
                name=listed.get("name") or ref,
                error=str(exc),
                updated_at=parse_timestamp(listed.get("updatedAt")),
            )

    # Refunds

    def parse_refund_notice(self, topic, payload):
        """Override of `ChannelAdapter`: `refunds/create`."""
        return parse_refund_notice(topic, payload)

    def fetch_refund(self, refund_ref, order_ref=None):
        """Override of `ChannelAdapter`: one `Refund` through GraphQL."""
        del order_ref  # a Shopify refund id is global
        node = self.graphql(REFUND_QUERY, {"id": gid("Refund", refund_ref)})
        if not node.get("refund"):
            raise ChannelPayloadError(f"Shopify has no refund {refund_ref}.")
        return parse_shopify_graphql_refund(node["refund"])

    # Order edits

    def parse_order_edit(self, topic, payload):
        """Override of `ChannelAdapter`: `orders/edited`."""
        return parse_order_edit(topic, payload)

    # Returns

    def parse_return_notice(self, topic, payload):
        """Override of `ChannelAdapter`: `returns/approve`, `/cancel`,
        `/decline`."""
        return parse_return_notice(topic, payload)

    def fetch_return(self, return_ref):
        """Override of `ChannelAdapter`: one `Return` through GraphQL."""
        node = self.graphql(RETURN_QUERY, {"id": gid("Return", return_ref)})
        if not node.get("return"):
            raise ChannelPayloadError(f"Shopify has no return {return_ref}.")
        return parse_graphql_return(node["return"])

    # Disputes

    dispute_topics = DISPUTE_TOPICS

    def parse_dispute(self, topic, payload):
        """Override of `ChannelAdapter`: `disputes/create` and `/update`."""
        del topic  # both carry the dispute as it was then
        return parse_dispute_webhook(payload)

    def fetch_dispute(self, dispute_ref):
        """Override of `ChannelAdapter`: one `ShopifyPaymentsDispute`."""
        node = self.graphql(
            DISPUTE_QUERY, {"id": gid("ShopifyPaymentsDispute", dispute_ref)}
        )
        if not node.get("dispute"):
            raise ChannelPayloadError(f"Shopify has no dispute {dispute_ref}.")
        return parse_graphql_dispute(node["dispute"])

    # Fulfilment

    def push_fulfilment(self, request):
        """Override of `ChannelAdapter`: see `fulfilment_shopify`."""
        return fulfilment_shopify.push_fulfilment(
            self.graphql, gid, numeric_id, request
        )

    def update_fulfilment_tracking(self, fulfilment_ref, request):
        """Override of `ChannelAdapter`: `fulfillmentTrackingInfoUpdate`."""
        fulfilment_shopify.update_tracking(self.graphql, gid, fulfilment_ref, request)

    def parse_channel_fulfilment(self, topic, payload):
        """Override of `ChannelAdapter`: see `fulfilment_shopify`."""
        return fulfilment_shopify.parse_channel_fulfilment(topic, payload)

    def fetch_channel_fulfilment(self, shipment):
        """Override of `ChannelAdapter`: read through GraphQL (a
        `fulfillments/update` may arrive before the create it follows)."""
        return fulfilment_shopify.read_channel_fulfilment(
            self.graphql, gid, numeric_id, shipment
        )

    def cancel_fulfilment(self, fulfilment_ref):
        """Override of `ChannelAdapter`: `fulfillmentCancel`."""
        fulfilment_shopify.cancel(self.graphql, gid, fulfilment_ref)

    # Payouts

    def fetch_payouts(self, since, cursor=None):
        """Override of `ChannelAdapter`: Shopify Payments payouts."""
        return fetch_shopify_payouts(self.graphql, since, cursor)

    def fetch_payout_lines(self, payout_ref):
        """Override of `ChannelAdapter`: a payout's balance transactions."""
        return fetch_shopify_payout_lines(self.graphql, payout_ref)

    # Catalogue

    def fetch_variants(self, cursor=None):
        """One page of the shop's variants.

        :return: ([ChannelVariant], next cursor or None)
        """
        page = self.graphql(
            VARIANTS_QUERY, {"first": VARIANTS_PAGE_SIZE, "after": cursor}
        )["productVariants"]
        variants = [
            ChannelVariant(
                variant_ref=numeric_id(node["id"]),
                sku=(node.get("sku") or "").strip() or None,
                title=node.get("displayName") or "",
                product_ref=numeric_id(node["product"]["id"]),
                inventory_item_ref=numeric_id(node["inventoryItem"]["id"]),
            )
            for node in page["nodes"]
        ]
        info = page["pageInfo"]
        return variants, (info["endCursor"] if info["hasNextPage"] else None)

    def fetch_store_settings(self):
        """Override of `ChannelAdapter`: the shop's currency and weight unit
        (one query, kept for the adapter's life)."""
        if getattr(self, "_store_settings", None) is None:
            shop = self.graphql(STORE_SETTINGS_QUERY)["shop"]
            self._store_settings = StoreSettings(
                currency=shop.get("currencyCode") or None,
                weight_unit=SHOPIFY_WEIGHT_UNIT_NAMES.get(shop.get("weightUnit")),
            )
        return self._store_settings

    def publish_products(self, products):
        """Override of `ChannelAdapter`: one `productSet` each, synchronous
        up to ASYNC_PRODUCT_SET_VARIANTS variants, asynchronous above."""
        results, calls = [], 0
        for product in products:
            try:
                sources, staged = self._stage_images(product)
                calls += staged
                if len(product.variants) > ASYNC_PRODUCT_SET_VARIANTS:
                    result, used = self._set_product_async(product, sources)
                else:
                    result, used = self._set_product(product, sources), 1
                calls += used
                results.append(result)
            except ChannelPayloadError as exc:
                calls += 1
                results.append(exc)
        return results, calls

    def _stage_images(self, product):
        """({image key: resourceUrl} of the product's images, calls made):
        staged and uploaded when it has images to set."""
        if not product.images:
            return {}, 0
        return stage_images(self.graphql, self.transport, product.images), 1

    def _set_product_async(self, product, sources):
        """productSet with `synchronous: false`, its operation polled until
        COMPLETE, then the product's variants read: (PublishResult, calls)."""
        variables = product_set_variables(product, sources)
        data = self.graphql(PRODUCT_SET_ASYNC_MUTATION, variables)["productSet"]
        _raise_user_errors(data, f"publish {product.title!r}")
        operation_id = data["productSetOperation"]["id"]
        sleep = self.config.get("sleep") or time.sleep
        calls = 1
        for wait in PRODUCT_SET_POLL_WAITS:
            sleep(wait)
            operation = self.graphql(PRODUCT_OPERATION_QUERY, {"id": operation_id})[
                "productOperation"
            ]
            calls += 1
            if operation and operation["status"] == "COMPLETE":
                try:
                    product_ref = _completed_product(operation, product.title)
                except ChannelPayloadError as exc:
                    return exc, calls
                variants, pages = self._product_variants(product_ref)
                return PublishResult(product_ref, variants), calls + pages
        raise ChannelRetryableError(
            f"Shopify is still publishing {product.title!r} ({operation_id})",
            retry_after=60,
        )

    def _product_variants(self, product_ref):
        """(PublishedVariants of a product, pages read), 250 a page."""
        variants, cursor, pages = [], None, 0
        while True:
            page = self.graphql(
                PRODUCT_VARIANTS_QUERY,
                {"id": gid("Product", product_ref), "after": cursor},
            )["product"]["variants"]
            pages += 1
            variants += [
                PublishedVariant(
                    sku=node.get("sku") or "",
                    variant_ref=numeric_id(node["id"]),
                    inventory_item_ref=numeric_id(node["inventoryItem"]["id"]),
                    product_ref=product_ref,
                )
                for node in page["nodes"]
            ]
            if not page["pageInfo"]["hasNextPage"]:
                return tuple(variants), pages
            cursor = page["pageInfo"]["endCursor"]

    def _set_product(self, product, sources):
        variables = product_set_variables(product, sources)
        data = self.graphql(PRODUCT_SET_MUTATION, variables)["productSet"]
        _raise_user_errors(data, f"publish {product.title!r}")
        node = data["product"]
        return PublishResult(
            product_ref=numeric_id(node["id"]),
            variants=tuple(
                PublishedVariant(
                    sku=variant.get("sku") or "",
                    variant_ref=numeric_id(variant["id"]),
                    inventory_item_ref=numeric_id(variant["inventoryItem"]["id"]),
                    product_ref=numeric_id(node["id"]),
                )
                for variant in node["variants"]["nodes"]
            ),
        )

    def parse_product_edit(self, topic, payload):
        """Override of `ChannelAdapter`: `products/update` (REST shape)."""
        if topic not in self.product_edit_topics:
            return None
        if not isinstance(payload, dict) or payload.get("id") in (None, ""):
            raise ChannelPayloadError("products/update body has no product id")
        return ChannelProductEdit(
            product_ref=str(payload["id"]),
            title=payload.get("title"),
            prices=_edit_prices(payload.get("variants") or ()),
        )

    def update_prices(self, updates):
        """Override of `ChannelAdapter`: `productVariantsBulkUpdate`, one
        product per call (Shopify's rule), 250 variants at most."""
        by_product, calls, refused = {}, 0, {}
        for update in updates:
            by_product.setdefault(update.product_ref, []).append(update)
        for product_ref, product_updates in by_product.items():
            try:
                calls += self._update_product_prices(product_ref, product_updates)
            except ChannelPayloadError as exc:
                calls += 1
                refused[product_ref] = str(exc)
        return calls, refused

    def _update_product_prices(self, product_ref, updates):
        calls = 0
        for start in range(0, len(updates), MAX_VARIANTS_PER_PRICE_CALL):
            chunk = updates[start : start + MAX_VARIANTS_PER_PRICE_CALL]
            data = self.graphql(
                VARIANTS_BULK_UPDATE_MUTATION,
                {
                    "productId": gid("Product", product_ref),
                    "variants": [
                        {
                            "id": gid("ProductVariant", update.variant_ref),
                            "price": money_text(update.price),
                            "compareAtPrice": money_text(update.compare_at_price),
                        }
                        for update in chunk
                    ],
                },
            )["productVariantsBulkUpdate"]
            calls += 1
            _raise_user_errors(data, f"update the prices of product {product_ref}")
        return calls

    # Webhook subscriptions

    def list_webhook_subscriptions(self):
        """[{"id", "topic" (e.g. orders/create), "address", "active"}] of the app.

        Shopify has no paused subscription: it deletes one whose deliveries
        keep failing, so every listed subscription is active.
        """
        subscriptions, cursor = [], None
        for _page in range(self.max_subscription_pages):
            page = self.graphql(WEBHOOKS_QUERY, {"after": cursor})[
                "webhookSubscriptions"
            ]
            subscriptions += [
                {
                    "id": node["id"],
                    "topic": rest_topic(node["topic"]),
                    "address": node.get("uri"),
                    "active": True,
                }
                for node in page["nodes"]
            ]
            if not page["pageInfo"]["hasNextPage"]:
                return subscriptions
            cursor = page["pageInfo"]["endCursor"]
        raise self._too_many_subscription_pages()

    def create_webhook_subscription(self, topic, address):
        data = self.graphql(
            WEBHOOK_CREATE_MUTATION,
            {
                "topic": topic.upper().replace("/", "_"),
                "subscription": {"uri": address, "format": "JSON"},
            },
        )["webhookSubscriptionCreate"]
        _raise_user_errors(data, f"create the {topic} webhook")
        return data["webhookSubscription"]["id"]

    def delete_webhook_subscription(self, subscription_id):
        data = self.graphql(WEBHOOK_DELETE_MUTATION, {"id": subscription_id})[
            "webhookSubscriptionDelete"
        ]
        _raise_user_errors(data, "delete a webhook")

    def test_connection(self):
        """Read the shop's name and domain with the configured token."""
        shop = self.graphql(SHOP_QUERY)["shop"]
        return f"{shop['name']} ({shop['myshopifyDomain']}, {shop['currencyCode']})"

    # Webhooks

    def expected_signature(self, headers, body, secret):
        return sign_base64(secret, body)

    def received_signature(self, headers):
        return header(headers, "X-Shopify-Hmac-Sha256")

    def parse_webhook(self, headers, body):
        """Dedupe on X-Shopify-Event-Id (one merchant action) per topic and
        resource.

        The same event reaches us under several X-Shopify-Webhook-Ids (retries,
        twin subscriptions), so the webhook id is only the fallback. The topic is
        part of the key because one action triggers several topics with one
        event id (orders/create and orders/paid), the resource because it
        changes several resources of one topic (one inventory level per item).
        """
        topic = require_header(headers, "X-Shopify-Topic")
        webhook_id = require_header(headers, "X-Shopify-Webhook-Id")
        event_id = header(headers, "X-Shopify-Event-Id")
        payload = load_json_object(body)
        self._check_shop_topic(topic, payload)
        triggered_at = header(headers, "X-Shopify-Triggered-At")
        resource_ref = shopify_resource_ref(topic, payload)
        return WebhookDelivery(
            topic=topic,
            dedupe_key=f"{topic}:{resource_ref or ''}:{event_id or webhook_id}",
            delivery_id=webhook_id,
            flow=self.topic_flow(topic),
            resource_ref=resource_ref,
            channel_timestamp=parse_timestamp(
                triggered_at or payload.get("updated_at")
            ),
            headers=pick_headers(headers, SHOPIFY_KEPT_HEADERS),
            payload=payload,
        )

    def _check_shop_topic(self, topic, payload):
        """Raise ChannelPayloadError unless a shop-wide or privacy delivery's
        body has its topic's shape and names this backend's shop."""
        shape = SHOP_TOPIC_SHAPES.get(topic)
        if shape is None:
            return
        for key, wanted in shape.items():
            if (payload.get(key) is not None) != wanted:
                raise ChannelPayloadError(f"The body is not a {topic} body ({key}).")
        domain_key = "myshopify_domain" if topic == "app/uninstalled" else "shop_domain"
        domain = str(payload[domain_key]).lower()
        if domain != (self.config.get("shop_domain") or "").lower():
            raise ChannelPayloadError(
                f"The {topic} body names the shop {shorten(domain)}, not this one."
            )

    def confirms_app_uninstalled(self):
        """Override of `ChannelAdapter`: the token stops working on uninstall."""
        try:
            self.test_connection()
        except ChannelAuthError:
            return True
        return False

    def is_app_uninstall(self, topic):
        """Override of `ChannelAdapter`: `app/uninstalled`."""
        return topic == "app/uninstalled"

    def parse_privacy_request(self, topic, payload):
        """Override of `ChannelAdapter`: the mandatory compliance topics."""
        kind = SHOPIFY_PRIVACY_KINDS.get(topic)
        if kind is None:
            return None
        if not isinstance(payload, dict):
            raise ChannelPayloadError(f"The {topic} body is not an object.")
        customer = payload.get("customer") or {}
        orders = payload.get("orders_to_redact") or ()
        if not isinstance(customer, dict) or not isinstance(orders, list | tuple):
            raise ChannelPayloadError(f"The {topic} body is malformed.")
        return PrivacyRequest(
            kind=kind,
            customer_ref=str(customer["id"]) if customer.get("id") else None,
            order_refs=tuple(str(ref) for ref in orders),
            email=customer.get("email") or None,
        )


def shopify_resource_ref(topic, payload):
    """The channel id of what the delivery is about (the order for refunds)."""
    if topic.startswith("inventory_levels/"):
        item, location = payload.get("inventory_item_id"), payload.get("location_id")
        return f"{item}@{location}" if item and location else None
    if topic.startswith("customers/"):
        customer = payload.get("customer") or {}
        return str(customer["id"]) if customer.get("id") else None
    if topic == "orders/edited":
        return edit_order_ref(payload)
    value = payload.get(ORDER_ID_KEYS.get(topic, "id"))
    return str(value) if value is not None else None


def _edit_prices(variants):
    """(variant ref, Decimal price) of a products/update body's variants."""
    prices = []
    for variant in variants:
        if not isinstance(variant, dict) or variant.get("id") is None:
            continue
        try:
            price = Decimal(str(variant.get("price")))
        except InvalidOperation:
            continue
        prices.append((str(variant["id"]), price))
    return tuple(prices)


def product_set_variables(product, sources=None):
    """productSet's variables: the product identified by its id once known,
    by its handle before (an upsert: a productSet retried after its answer
    was lost, or after polling gave up, updates the product it created).
    `sources` ({image key: resourceUrl}) are the product's staged images."""
    variables = {"input": product_set_input(product, sources or {})}
    if product.product_ref:
        variables["identifier"] = {"id": gid("Product", product.product_ref)}
    elif product.handle:
        variables["input"]["handle"] = product.handle
        variables["identifier"] = {"handle": product.handle}
    return variables


def product_set_input(product, sources=None):
    """The `ProductSetInput` of a `catalogue.ProductData`: keys whose value
    is None are left out, never sent empty. Images (staged at `sources`)
    only when the product has images to set: `files` replaces them all."""
    sources = sources or {}
    images = product.images
    options = product.options or ((DEFAULT_OPTION[0], (DEFAULT_OPTION[1],)),)
    values = {
        "title": product.title,
        "descriptionHtml": product.description_html,
        "status": "ACTIVE" if product.active else "DRAFT",
        "productOptions": [
            {"name": name, "position": position, "values": [{"name": v} for v in vals]}
            for position, (name, vals) in enumerate(options, start=1)
        ],
        "variants": [
            _variant_set_input(variant, position, sources, images or ())
            for position, variant in enumerate(product.variants, start=1)
        ],
        "files": None if images is None else files_input(images, sources),
    }
    return _without_none(values)


def _variant_set_input(variant, position, sources=None, images=()):
    options = variant.options or (DEFAULT_OPTION,)
    weight = None
    if variant.weight is not None:
        weight = {
            "weight": {
                "value": float(variant.weight),
                "unit": WEIGHT_UNITS.get(variant.weight_unit, "KILOGRAMS"),
            }
        }
    values = _without_none(
        {
            "id": variant.variant_ref and gid("ProductVariant", variant.variant_ref),
            "position": position,
            "optionValues": [
                {"optionName": name, "name": value} for name, value in options
            ],
            "sku": variant.sku,
            "barcode": variant.barcode,
            "price": money_text(variant.price),
            "taxable": variant.taxable,
            "inventoryItem": _without_none(
                {"sku": variant.sku, "tracked": variant.tracked, "measurement": weight}
            ),
            "file": variant_file_input(variant.image, sources or {}, images),
        }
    )
    # null, not left out: a compare-at price Odoo no longer has is cleared.
    values["compareAtPrice"] = money_text(variant.compare_at_price)
    return values


def _without_none(values):
    return {key: value for key, value in values.items() if value is not None}


def _search_stamp(moment):
    """An aware datetime in Shopify's search syntax (UTC)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _available(node):
    level = node.get("inventoryLevel") or {}
    for quantity in level.get("quantities") or ():
        if quantity.get("name") == "available":
            return quantity.get("quantity")
    return None


def _completed_product(operation, title):
    """The product id of a COMPLETE productSet operation; ChannelPayloadError
    with its userErrors, or when it completed without a product."""
    _raise_user_errors(operation, f"publish {title!r}")
    if not operation.get("product"):
        raise ChannelPayloadError(
            f"Shopify completed publishing {title!r} without a product."
        )
    return numeric_id(operation["product"]["id"])


def _raise_user_errors(data, doing):
    errors = data.get("userErrors") or ()
    if errors:
        messages = "; ".join(str(error.get("message")) for error in errors)
        raise ChannelPayloadError(f"Shopify refused to {doing}: {messages}")
