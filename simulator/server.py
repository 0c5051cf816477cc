"""The simulator's HTTP server and its Python API (`ChannelSimulator`)."""

import json
import threading
import time

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from .shopify import API_VERSION, LeakyBucket, ShopifyGraphql
from .state import SimulatorState
from .webhooks import WebhookSender
from .woocommerce import WooCommerceRest

SHOPIFY_PATH = f"/admin/api/{API_VERSION}/graphql.json"
WOO_PREFIX = "/wp-json/wc/v3/"


class ChannelSimulator:
    """A Shopify shop and a WooCommerce store on one loopback port.

    with ChannelSimulator(seed=1) as sim:
        sim.state.seed_catalogue(10)
        ...  # talk to sim.base_url
    """

    def __init__(
        self,
        *,
        seed=42,
        shopify_shop_domain="demo-shop.myshopify.com",
        shopify_access_token="shpat_sim_token",
        shopify_api_secret="sim_shopify_secret",
        woo_consumer_key="ck_sim",
        woo_consumer_secret="cs_sim",
        bucket_size=1000,
        restore_rate=100,
        clock=time.monotonic,
        retry_delay=0.0,
    ):
        self.state = SimulatorState(seed=seed, shop_domain=shopify_shop_domain)
        self.bucket = LeakyBucket(bucket_size, restore_rate, clock)
        self.access_token = shopify_access_token
        self.sender = WebhookSender(
            self.state, shopify_api_secret, retry_delay=retry_delay
        )
        self.shopify = ShopifyGraphql(self.state, self.bucket)
        self.woocommerce = WooCommerceRest(
            self.state, self.sender, woo_consumer_key, woo_consumer_secret
        )
        self._server = None
        self._thread = None

    # === LIFECYCLE ===

    def start(self, port=0):
        self._server = make_server("127.0.0.1", port, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._thread.join(10)
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *_exc):
        self.stop()

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self._server.server_port}"

    # === HTTP ===

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        return self._route(request)(environ, start_response)

    def _route(self, request):
        path = request.path
        if path.startswith("/admin/api/"):
            return self._shopify(request)
        if path.startswith(WOO_PREFIX):
            return self.woocommerce.handle(request, path[len(WOO_PREFIX) :])
        if path.startswith("/_sim/"):
            return self._admin(request, path[len("/_sim/") :])
        return Response("Not Found", status=404)

    def _shopify(self, request):
        if request.path != SHOPIFY_PATH:
            return Response("Not Found", status=404)
        if request.headers.get("X-Shopify-Access-Token") != self.access_token:
            body = {
                "errors": "[API] Invalid API key or access token "
                "(unrecognized login or wrong password)"
            }
            return _json(body, 401)
        fault = self.state.take_fault("shopify-http")
        if fault == "429":
            return Response(
                "Too Many Requests", status=429, headers={"Retry-After": "1"}
            )
        if fault == "500":
            return _json({"errors": "Internal Server Error"}, 500)
        payload = request.get_json(force=True, silent=True) or {}
        status, body = self.shopify.execute(
            payload.get("query", ""), payload.get("variables")
        )
        return _json(body, status)

    def _admin(self, request, action):
        """Scenario control over HTTP for another process (demo, benchmarks)."""
        data = request.get_json(force=True, silent=True) or {}
        if action == "seed":
            return _json(
                {
                    "variants": self.state.seed_catalogue(
                        int(data.get("count", 10)), int(data.get("quantity", 0))
                    )
                }
            )
        if action == "fault":
            self.state.inject(data["api"], data["kind"], int(data.get("count", 1)))
            return _json({"ok": True})
        if action == "calls":
            return _json(
                {"calls": dict(self.state.calls), "cost": dict(self.state.cost)}
            )
        return Response("Not Found", status=404)


def _json(payload, status=200):
    return Response(json.dumps(payload), status=status, mimetype="application/json")
