"""Shopify Admin GraphQL API."""

from .base import ChannelAdapter
from .exceptions import ChannelPayloadError, ChannelRetryableError

SHOP_QUERY = "query ChannelConnectorShop { shop { name myshopifyDomain currencyCode } }"


class ShopifyAdapter(ChannelAdapter):
    """Talks to one shop through `POST /admin/api/<version>/graphql.json`."""

    code = "shopify"

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
