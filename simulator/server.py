"""The simulator's HTTP server and its Python API (`ChannelSimulator`).

One threaded werkzeug server on 127.0.0.1 answers Shopify
(`/admin/api/2026-07/graphql.json`), WooCommerce (`/wp-json/wc/v3/...`), a
warehouse partner (`/3pl/...`, threepl.py), Amazon's SP-API and Login with
Amazon (`/orders/v0/...`, `/auth/o2/token`, amazon.py) and the scenario admin API
(`/_sim/...`); a daemon thread sends the webhooks.
"""

import json
import logging
import threading
import time

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from .amazon import PREFIXES as AMAZON_PREFIXES
from .amazon import AmazonSellingPartner
from .orders import OrderBook
from .scenario import Scenario
from .shopify_graphql import API_VERSION, ShopifyGraphql, root_fields
from .shopify_uploads import UPLOAD_PREFIX, StagedUploads
from .state import SimulatorState
from .stripe_api import StripeApi
from .threepl import PREFIX as THREEPL_PREFIX
from .threepl import ThreePLWarehouse
from .throttle import LeakyBucket
from .util import utc_now
from .webhooks import WebhookSender
from .woocommerce_payloads import order_json, product_json
from .woocommerce_rest import PREFIX, WooCommerceRest

_logger = logging.getLogger(__name__)

SHOPIFY_PATH = f"/admin/api/{API_VERSION}/graphql.json"
SHOPIFY_TOKEN_PATH = "/admin/oauth/access_token"
# What a client credentials token lasts on Shopify (about 24 h).
SHOPIFY_TOKEN_TTL = 86399
SHOPIFY_SCOPES = "read_orders,read_products,write_inventory,read_locations"
# LWA client id, client secret and the seller's refresh token.
AMAZON_CREDENTIALS = ("amzn1.application-oa2-client.sim", "sim_lwa_secret", "Atzr|sim")
SHOPIFY_AUTH_ERROR = {
    "errors": "[API] Invalid API key or access token (unrecognized login or "
    "wrong password)"
}
WOO_AUTH_ERROR = {
    "code": "woocommerce_rest_authentication_error",
    "message": "Invalid signature - provided signature does not match.",
    "data": {"status": 401},
}
WOO_FATAL = (
    '<p>There has been a critical error on this website.</p><p><a href="https://'
    'wordpress.org/documentation/article/faq-troubleshooting/">Learn more about '
    "troubleshooting WordPress.</a></p>"
)


class QuietHandler(WSGIRequestHandler):
    """No access log on stderr: tests and benchmarks make thousands of calls."""

    def log_request(self, *_args, **_kwargs):
        return None


class ChannelSimulator:
    """A Shopify shop and a WooCommerce store on one loopback port.

        with ChannelSimulator(seed=1) as sim:
            sim.scenario.seed_catalogue(count=10)
            ...  # talk to sim.base_url

    `clock` (monotonic seconds) drives the leaky bucket and fault windows;
    `wall_clock` (aware datetime) the timestamps in payloads. Shopify webhook
    retries wait 1, 2, 4 ... 128 minutes times `retry_time_scale`.
    """

    def __init__(
        self,
        *,
        seed=42,
        shopify_shop_domain="demo-shop.myshopify.com",
        shopify_access_token="shpat_sim_token",
        shopify_api_secret="sim_shopify_secret",
        shopify_client_id="sim_client_id",
        woo_consumer_key="ck_sim",
        woo_consumer_secret="cs_sim",
        woo_webhook_secret="sim_woo_secret",
        bucket_size=1000,
        restore_rate=100,
        clock=time.monotonic,
        wall_clock=utc_now,
        webhook_timeout=5.0,
        woo_webhook_timeout=60.0,
        retry_time_scale=1.0,
        threepl_secret="sim_threepl_secret",
        amazon_credentials=AMAZON_CREDENTIALS,
        amazon_rate_scale=1.0,
    ):
        self.state = SimulatorState(seed, shopify_shop_domain, clock, wall_clock)
        self.clock = clock
        self.bucket = LeakyBucket(bucket_size, restore_rate, clock)
        self.access_token = shopify_access_token
        # Client credentials grant (Dev Dashboard apps): the app's client id
        # and secret (the secret also signs webhooks) buy expiring tokens.
        self.client_credentials = (shopify_client_id, shopify_api_secret)
        self.token_ttl = SHOPIFY_TOKEN_TTL
        self.issued_tokens = {}  # token -> clock() it expires at
        self.token_requests = 0
        self.woo_webhook_secret = woo_webhook_secret
        self.sender = WebhookSender(
            self.state, shopify_api_secret, webhook_timeout, woo_webhook_timeout
        )
        self.sender.retry_time_scale = retry_time_scale
        self.sender.render_woo = self._render_woo
        self.book = OrderBook(self.state)
        self.shopify = ShopifyGraphql(
            self.state, self.bucket, self.sender.shopify_event, self.book
        )
        self.woocommerce = WooCommerceRest(
            self.state,
            self.sender,
            self.book,
            (woo_consumer_key, woo_consumer_secret),
            woo_webhook_secret,
        )
        self.threepl = ThreePLWarehouse(self.state, threepl_secret)
        self.stripe = StripeApi(self.state)
        self.uploads = StagedUploads(self.state)
        self.amazon = AmazonSellingPartner(
            self.state, clock, amazon_credentials, amazon_rate_scale
        )
        self.scenario = Scenario(self)
        self._server = None
        self._thread = None

    # === LIFECYCLE ===

    def start(self, port=0):
        """Serve on 127.0.0.1:`port` (0: a free one); returns self."""
        self._server = make_server(
            "127.0.0.1", port, self._wsgi, threaded=True, request_handler=QuietHandler
        )
        self._server.daemon_threads = True
        self.woocommerce.base_url = self.base_url
        self.state.base_url = self.base_url
        self.sender.source_url = f"{self.base_url}/"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="channel-simulator",
            daemon=True,
        )
        self._thread.start()
        self.sender.start()
        return self

    def stop(self):
        """Stop serving and sending; idempotent."""
        if self._server:
            self._server.shutdown()
            self._thread.join(10)
            self._server.server_close()
            self._server = None
        self.sender.stop()
        self.threepl.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *_exc):
        self.stop()

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def deliveries(self):
        """Every webhook delivery attempt (webhooks.Delivery), in order."""
        return self.sender.deliveries

    def wait_for_deliveries(self, count, timeout=10.0):
        return self.sender.wait_for_deliveries(count, timeout)

    def wait_for_webhooks_idle(self, timeout=10.0):
        self.sender.wait_idle(timeout)

    # === HTTP ===

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        try:
            response = self._route(request)
        except Exception:
            # A simulator bug, not a channel answer: say so where tests look.
            _logger.exception("simulator failed on %s %s", request.method, request.path)
            response = _json({"error": "simulator error, see the log"}, 500)
        return response(environ, start_response)

    def _route(self, request):
        path = request.path
        if path == SHOPIFY_TOKEN_PATH:
            return self._shopify_token(request)
        routes = (
            ("/admin/api/", self._shopify),
            (PREFIX, self._woocommerce),
            ("/v1/", self.stripe.handle),
            ("/_sim/", self.admin.handle),
            (UPLOAD_PREFIX, self.uploads.receive),
            (THREEPL_PREFIX, self._threepl),
            *((prefix, self.amazon.handle) for prefix in AMAZON_PREFIXES),
        )
        for prefix, handler in routes:
            if path.startswith(prefix):
                return handler(request)
        return Response("Not Found", status=404)

    def _shopify(self, request):
        if request.path != SHOPIFY_PATH:
            return Response("Not Found", status=404)
        if not self._shopify_token_valid(request.headers.get("X-Shopify-Access-Token")):
            return _json(SHOPIFY_AUTH_ERROR, 401)
        if request.method != "POST":
            return Response("Method Not Allowed", status=405)
        payload = request.get_json(force=True, silent=True)
        faulty = self._fault("shopify", SHOPIFY_FAULT_BODIES)
        if faulty:
            self.state.record_call(root_fields(payload))
            return faulty
        if not isinstance(payload, dict):
            return _json(
                {"errors": {"query": "Required parameter missing or invalid"}}, 400
            )
        status, body = self.shopify.execute(
            payload.get("query"), payload.get("variables"), payload.get("operationName")
        )
        return _json(body, status)

    def _shopify_token(self, request):
        """POST /admin/oauth/access_token, grant_type=client_credentials."""
        if request.method != "POST":
            return Response("Method Not Allowed", status=405)
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return _json({"error": "unsupported_grant_type"}, 400)
        given = (form.get("client_id"), form.get("client_secret"))
        if given != self.client_credentials or not self.state.app_installed:
            return _json(
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed",
                },
                400,
            )
        with self.state.lock:
            self.token_requests += 1
            token = f"shpat_cc_{self.state.random.getrandbits(64):016x}"
            self.issued_tokens[token] = self.clock() + self.token_ttl
        return _json(
            {
                "access_token": token,
                "scope": SHOPIFY_SCOPES,
                "expires_in": self.token_ttl,
            }
        )

    def _shopify_token_valid(self, token):
        if not token or not self.state.app_installed:
            return False
        if token == self.access_token:
            return True
        expires_at = self.issued_tokens.get(token)
        return expires_at is not None and self.clock() < expires_at

    def expire_tokens(self):
        """Expire every issued client credentials token now (Shopify's
        24 h, passed in a test)."""
        with self.state.lock:
            self.issued_tokens = dict.fromkeys(self.issued_tokens, 0)

    def _woocommerce(self, request):
        if not self.woocommerce.authorized(request):
            return _json(WOO_AUTH_ERROR, 401)
        self.state.record_call(self.woocommerce.call_name(request))
        faulty = self._fault("woocommerce", WOO_FAULT_BODIES)
        if faulty:
            return faulty
        return self.woocommerce.handle(request)

    def _fault(self, api, bodies):
        """Apply an armed fault; a response when it replaces the answer."""
        fault = self.state.take_fault(api)
        if fault is None:
            return None
        kind = fault["kind"]
        if kind == "latency":
            time.sleep(float(fault.get("delay", 1.0)))
            return None
        if kind == "throttled":
            self.bucket.drain()
            return None
        if kind == "timeout":
            time.sleep(float(fault.get("delay", 30.0)))
            return _json(bodies[504], 504)
        if kind == "429":
            retry_after = str(fault.get("retry_after", 2))
            return _json(bodies[429], 429, {"Retry-After": retry_after})
        status = int(fault.get("status", 500))
        return _json(bodies.get(status, bodies[500]), status)

    def _threepl(self, request):
        """The warehouse partner (threepl.py), after any armed fault."""
        self.state.record_call(f"3pl {request.method} {request.path}")
        faulty = self._fault("threepl", THREEPL_FAULT_BODIES)
        return faulty or self.threepl.handle(request)

    def _render_woo(self, resource, resource_id, event):
        """A WooCommerce webhook payload, built when it is sent."""
        if event == "deleted":
            return {"id": resource_id}
        if resource == "order":
            order = self.state.woo_orders[str(resource_id)]
            return order_json(order, self.state, self.base_url)
        product = self.state.woo_products[str(resource_id)]
        return product_json(product, self.base_url)

    @property
    def admin(self):
        return AdminApi(self)


SHOPIFY_FAULT_BODIES = {
    429: {
        "errors": "Exceeded 2 calls per second for api client. Reduce request "
        "rates to resume uninterrupted service."
    },
    500: {"errors": "Internal Server Error"},
    502: {"errors": "Bad Gateway"},
    503: {"errors": "Service Unavailable"},
    504: {"errors": "Gateway Timeout"},
}
WOO_FAULT_BODIES = {
    429: {
        "code": "rest_too_many_requests",
        "message": "Too many requests.",
        "data": {"status": 429},
    },
    500: {
        "code": "internal_server_error",
        "message": WOO_FATAL,
        "data": {"status": 500},
        "additional_errors": [],
    },
    502: {"code": "bad_gateway", "message": "Bad Gateway", "data": {"status": 502}},
    503: {
        "code": "service_unavailable",
        "message": "Service Unavailable",
        "data": {"status": 503},
    },
    504: {
        "code": "gateway_timeout",
        "message": "Gateway Timeout",
        "data": {"status": 504},
    },
}

THREEPL_FAULT_BODIES = {
    429: {"error": "too many requests"},
    500: {"error": "internal error"},
    502: {"error": "bad gateway"},
    503: {"error": "service unavailable"},
    504: {"error": "gateway timeout"},
}


ADMIN_ROUTES = Map(
    [
        Rule("/_sim/catalogue", endpoint="seed_catalogue", methods=["POST"]),
        Rule("/_sim/inventory", endpoint="set_inventory", methods=["POST"]),
        Rule("/_sim/woo_stock", endpoint="set_woo_stock", methods=["POST"]),
        Rule("/_sim/orders", endpoint="create_order", methods=["POST"]),
        Rule(
            "/_sim/orders/<channel>/<order_id>", endpoint="order_json", methods=["GET"]
        ),
        Rule(
            "/_sim/orders/<channel>/<order_id>",
            endpoint="update_order",
            methods=["PATCH", "PUT"],
        ),
        Rule(
            "/_sim/orders/<channel>/<order_id>/capture",
            endpoint="capture_payment",
            methods=["POST"],
        ),
        Rule(
            "/_sim/orders/<channel>/<order_id>/cancel",
            endpoint="cancel_order",
            methods=["POST"],
        ),
        Rule(
            "/_sim/orders/<channel>/<order_id>/refunds",
            endpoint="refund_order",
            methods=["POST"],
        ),
        Rule(
            "/_sim/orders/<channel>/<order_id>/returns",
            endpoint="create_return",
            methods=["POST"],
        ),
        Rule(
            "/_sim/orders/shopify/<order_id>/returns/<return_id>/end",
            endpoint="end_return",
            methods=["POST"],
        ),
        Rule(
            "/_sim/orders/<channel>/<order_id>/edits",
            endpoint="edit_order",
            methods=["POST"],
        ),
        Rule(
            "/_sim/orders/<channel>/<order_id>/disputes",
            endpoint="open_dispute",
            methods=["POST"],
        ),
        Rule(
            "/_sim/disputes/<dispute_id>", endpoint="update_dispute", methods=["POST"]
        ),
        Rule("/_sim/payouts", endpoint="create_payout", methods=["POST"]),
        Rule("/_sim/stripe/payouts", endpoint="create_stripe_payout", methods=["POST"]),
        Rule("/_sim/app/uninstall", endpoint="uninstall_app", methods=["POST"]),
        Rule(
            "/_sim/products/operations/slow",
            endpoint="slow_product_operations",
            methods=["POST"],
        ),
        Rule(
            "/_sim/threepl/<path:request_id>/ship",
            endpoint="threepl_ship",
            methods=["POST"],
        ),
        Rule("/_sim/threepl/snapshot", endpoint="threepl_snapshot", methods=["POST"]),
        Rule("/_sim/threepl/connect", endpoint="threepl_connect", methods=["POST"]),
        Rule("/_sim/faults", endpoint="inject", methods=["POST"]),
        Rule("/_sim/faults", endpoint="clear_faults", methods=["DELETE"]),
        Rule("/_sim/faults", endpoint="faults", methods=["GET"]),
        Rule("/_sim/report", endpoint="report", methods=["GET"]),
        Rule("/_sim/deliveries", endpoint="deliveries", methods=["GET"]),
        Rule("/_sim/snapshot", endpoint="snapshot", methods=["GET"]),
    ]
)


class AdminApi:
    """`/_sim/...`: the Scenario methods over JSON (body = keyword arguments)."""

    def __init__(self, sim):
        self.scenario = sim.scenario

    def handle(self, request):
        adapter = ADMIN_ROUTES.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except (NotFound, MethodNotAllowed) as error:
            return _json({"error": error.description}, error.code)
        body = request.get_json(force=True, silent=True) or {}
        if not isinstance(body, dict):
            return _json({"error": "The body must be a JSON object."}, 400)
        try:
            result = getattr(self.scenario, endpoint)(**values, **body)
        except (ValueError, TypeError, KeyError) as error:
            return _json({"error": str(error)}, 400)
        return _json(result)


def _json(payload, status=200, headers=None):
    return Response(
        json.dumps(payload, default=str),
        status=status,
        headers=headers or {},
        mimetype="application/json",
    )
