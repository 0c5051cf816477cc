"""Shopify Admin GraphQL API."""

from .base import ChannelAdapter
from .exceptions import ChannelPayloadError, ChannelRetryableError
from .signatures import sign_base64
from .webhooks import (
    FLOW_APP,
    FLOW_CATALOG,
    FLOW_ORDERS,
    FLOW_PRIVACY,
    FLOW_STOCK,
    WebhookDelivery,
    header,
    load_json_object,
    parse_timestamp,
    pick_headers,
    require_header,
)

SHOP_QUERY = "query ChannelConnectorShop { shop { name myshopifyDomain currencyCode } }"


# Topic -> flow. Refund and transaction topics belong to their order.
SHOPIFY_TOPIC_FLOWS = {
    "orders/create": FLOW_ORDERS,
    "orders/updated": FLOW_ORDERS,
    "orders/cancelled": FLOW_ORDERS,
    "orders/paid": FLOW_ORDERS,
    "orders/edited": FLOW_ORDERS,
    "refunds/create": FLOW_ORDERS,
    "order_transactions/create": FLOW_ORDERS,
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
ORDER_ID_KEYS = {"refunds/create": "order_id", "order_transactions/create": "order_id"}


class ShopifyAdapter(ChannelAdapter):
    """Talks to one shop through `POST /admin/api/<version>/graphql.json`."""

    code = "shopify"
    topic_flows = SHOPIFY_TOPIC_FLOWS

    @property
    def graphql_url(self):
        base_url = self.config["base_url"].rstrip("/")
        return f"{base_url}/admin/api/{self.config['api_version']}/graphql.json"

    def graphql(self, document, variables=None):
        """Run a GraphQL document; return its `data`, raise on errors."""
        response = self.transport.request(
            "POST",
            self.graphql_url,
            json={"query": document, "variables": variables or {}},
            headers={"X-Shopify-Access-Token": self.config["access_token"]},
        )
        body = response.json()
        errors = body.get("errors")
        if errors:
            codes = {(e.get("extensions") or {}).get("code") for e in errors}
            message = "; ".join(str(e.get("message")) for e in errors)
            if "THROTTLED" in codes:
                raise ChannelRetryableError(f"Shopify throttled: {message}")
            raise ChannelPayloadError(f"Shopify GraphQL errors: {message}")
        return body["data"]

    def test_connection(self):
        """Read the shop's name and domain with the configured token."""
        shop = self.graphql(SHOP_QUERY)["shop"]
        return f"{shop['name']} ({shop['myshopifyDomain']}, {shop['currencyCode']})"

    # Webhooks

    def expected_signature(self, body):
        return sign_base64(self.config["webhook_secret"], body)

    def received_signature(self, headers):
        return header(headers, "X-Shopify-Hmac-Sha256")

    def parse_webhook(self, headers, body):
        """Dedupe on X-Shopify-Event-Id (one merchant action) per topic.

        The same event reaches us under several X-Shopify-Webhook-Ids (retries,
        twin subscriptions), so the webhook id is only the fallback. The topic is
        part of the key because one action triggers several topics with one
        event id (orders/create and orders/paid).
        """
        topic = require_header(headers, "X-Shopify-Topic")
        webhook_id = require_header(headers, "X-Shopify-Webhook-Id")
        event_id = header(headers, "X-Shopify-Event-Id")
        payload = load_json_object(body)
        triggered_at = header(headers, "X-Shopify-Triggered-At")
        return WebhookDelivery(
            topic=topic,
            dedupe_key=f"{topic}:{event_id or webhook_id}",
            delivery_id=webhook_id,
            flow=self.topic_flow(topic),
            resource_ref=shopify_resource_ref(topic, payload),
            channel_timestamp=parse_timestamp(
                triggered_at or payload.get("updated_at")
            ),
            headers=pick_headers(headers, SHOPIFY_KEPT_HEADERS),
            payload=payload,
        )


def shopify_resource_ref(topic, payload):
    """The channel id of what the delivery is about (the order for refunds)."""
    if topic.startswith("inventory_levels/"):
        item, location = payload.get("inventory_item_id"), payload.get("location_id")
        return f"{item}@{location}" if item and location else None
    if topic.startswith("customers/"):
        customer = payload.get("customer") or {}
        return str(customer["id"]) if customer.get("id") else None
    value = payload.get(ORDER_ID_KEYS.get(topic, "id"))
    return str(value) if value is not None else None
