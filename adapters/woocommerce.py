"""WooCommerce REST API v3."""

from .base import ChannelAdapter


class WooCommerceAdapter(ChannelAdapter):
    """Talks to one store through `/wp-json/wc/v3/` with consumer key/secret."""

    code = "woocommerce"

    def url(self, route):
        return f"{self.config['base_url'].rstrip('/')}/wp-json/wc/v3/{route}"

    def get(self, route, params=None):
        """GET a route with HTTP Basic credentials and return the response."""
        return self.transport.request(
            "GET",
            self.url(route),
            params=params,
            auth=(self.config["consumer_key"], self.config["consumer_secret"]),
        )

    def test_connection(self):
        """Read one product: it proves the URL and the read permission."""
        response = self.get("products", params={"per_page": 1})
        total = response.headers.get("X-WP-Total", "?")
        return f"{self.config['base_url']} ({total} products)"
