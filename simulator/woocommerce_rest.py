"""WooCommerce REST API v3 (`/wp-json/wc/v3/...`) for one store.

Authentication as WooCommerce over HTTP: Basic auth with the consumer key and
secret, or `consumer_key`/`consumer_secret` query parameters. Errors use
WordPress' shape `{"code", "message", "data": {"status"}}` with WooCommerce's
codes; list endpoints page with `page`/`per_page` (1..100) and answer
`X-WP-Total`, `X-WP-TotalPages` and a `Link` header; batch endpoints accept
at most 100 objects in total (413 `woocommerce_rest_request_entity_too_large`).
"""

import json
import math
from decimal import Decimal, InvalidOperation

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from .orders import set_woo_stock
from .util import cents, parse_when, wc_date
from .woocommerce_payloads import (
    order_json,
    product_json,
    refund_json,
    webhook_json,
)

PREFIX = "/wp-json/wc/v3"
BATCH_LIMIT = 100
WEBHOOK_TOPICS = (
    "order.created",
    "order.updated",
    "order.deleted",
    "order.restored",
    "product.created",
    "product.updated",
    "product.deleted",
    "product.restored",
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "coupon.created",
    "coupon.updated",
    "coupon.deleted",
)
ROUTES = Map(
    [
        Rule(f"{PREFIX}/products", endpoint="products"),
        Rule(f"{PREFIX}/products/batch", endpoint="products_batch"),
        Rule(f"{PREFIX}/products/<int:product_id>", endpoint="product"),
        Rule(f"{PREFIX}/products/<int:product_id>/variations", endpoint="variations"),
        Rule(
            f"{PREFIX}/products/<int:product_id>/variations/batch",
            endpoint="variations_batch",
        ),
        Rule(
            f"{PREFIX}/products/<int:product_id>/variations/<int:variation_id>",
            endpoint="variation",
        ),
        Rule(f"{PREFIX}/orders", endpoint="orders"),
        Rule(f"{PREFIX}/orders/<int:order_id>", endpoint="order"),
        Rule(f"{PREFIX}/orders/<int:order_id>/refunds", endpoint="refunds"),
        Rule(f"{PREFIX}/orders/<int:order_id>/notes", endpoint="notes"),
        Rule(
            f"{PREFIX}/orders/<int:order_id>/refunds/<int:refund_id>",
            endpoint="refund",
        ),
        Rule(f"{PREFIX}/settings/<group>/<setting_id>", endpoint="setting"),
        Rule(f"{PREFIX}/webhooks", endpoint="webhooks"),
        Rule(f"{PREFIX}/webhooks/<int:webhook_id>", endpoint="webhook"),
    ],
    strict_slashes=False,
)


class WooError(Exception):
    """A WordPress REST error response."""

    def __init__(self, code, message, status, **data):
        super().__init__(message)
        self.code, self.message, self.status, self.data = code, message, status, data

    def response(self):
        body = {
            "code": self.code,
            "message": self.message,
            "data": {"status": self.status, **self.data},
        }
        return json_response(body, self.status)


def json_response(payload, status=200, headers=None):
    return Response(
        json.dumps(payload),
        status=status,
        headers=headers or {},
        mimetype="application/json",
    )


def invalid_id(kind):
    return WooError(f"woocommerce_rest_{kind}_invalid_id", "Invalid ID.", 404)


class WooCommerceRest:
    """Routes one request. Handlers run under the state lock; the creation
    ping is sent after it is released, so a receiver that calls back into
    the store while answering the ping does not wait on the lock."""

    def __init__(self, state, sender, book, credentials, default_secret):
        self.state, self.sender, self.book = state, sender, book
        self.key, self.secret = credentials
        self.default_secret = default_secret
        self._pings = []
        self.base_url = "http://127.0.0.1"

    def authorized(self, request):
        auth = request.authorization
        if auth and auth.username == self.key and auth.password == self.secret:
            return True
        args = request.args
        return (
            args.get("consumer_key") == self.key
            and args.get("consumer_secret") == self.secret
        )

    def call_name(self, request):
        """Call-count key of a request, e.g. "POST products" for a batch."""
        adapter = ROUTES.bind_to_environ(request.environ)
        try:
            endpoint, _values = adapter.match(method=None)
        except (NotFound, MethodNotAllowed):
            return f"{request.method} unknown"
        return f"{request.method} {_route_name(endpoint)}"

    def handle(self, request):
        """The response to one `/wp-json/wc/v3/...` request (auth checked)."""
        adapter = ROUTES.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match(method=None)
            handler = getattr(self, f"_{endpoint}")
            with self.state.lock:
                response = handler(request, **values)
                pings, self._pings = self._pings, []
            for hook in pings:
                self.sender.woo_ping(hook)
            return response
        except (NotFound, MethodNotAllowed):
            return WooError(
                "rest_no_route",
                "No route was found matching the URL and request method.",
                404,
            ).response()
        except WooError as error:
            return error.response()

    # === PRODUCTS ===

    def _products(self, request):
        if request.method == "POST":
            raise WooError(
                "woocommerce_rest_cannot_create",
                "Sorry, you are not allowed to create resources.",
                401,
            )
        items = [p for p in self._sorted_products() if p["type"] != "variation"]
        sku = request.args.get("sku")
        if sku:
            wanted = {s.strip() for s in sku.split(",")}
            items = [p for p in self._sorted_products() if p["sku"] in wanted]
        items = _filter_included(items, request.args)
        items = _filter_modified(items, request.args, "date_modified")
        return self._page([product_json(p, self.base_url) for p in items], request)

    def _product(self, request, product_id):
        product = self.state.woo_products.get(str(product_id))
        if product is None:
            raise invalid_id("product")
        if request.method in ("PUT", "POST", "PATCH"):
            product = self._update_product(product, _body(request))
        elif request.method == "DELETE":
            raise WooError(
                "woocommerce_rest_trash_not_supported",
                "Products do not support trashing.",
                501,
            )
        return json_response(product_json(product, self.base_url))

    def _variations(self, request, product_id):
        parent = self._parent(product_id)
        items = [self.state.woo_products[str(v)] for v in parent["variations"]]
        items = _filter_included(items, request.args)
        return self._page([product_json(v, self.base_url) for v in items], request)

    def _variation(self, request, product_id, variation_id):
        variation = self.state.woo_products.get(str(variation_id))
        if variation is None or variation["parent_id"] != product_id:
            raise invalid_id("product_variation")
        if request.method in ("PUT", "POST", "PATCH"):
            variation = self._update_product(variation, _body(request))
        return json_response(product_json(variation, self.base_url))

    def _products_batch(self, request):
        return self._batch(request, None)

    def _variations_batch(self, request, product_id):
        self._parent(product_id)
        return self._batch(request, product_id)

    def _batch(self, request, parent_id):
        """create/update/delete, at most 100 objects (WC_REST_Controller)."""
        if request.method not in ("POST", "PUT", "PATCH"):
            raise NotFound()
        data = _body(request)
        total = sum(len(data.get(k) or ()) for k in ("create", "update", "delete"))
        if total > BATCH_LIMIT:
            raise WooError(
                "woocommerce_rest_request_entity_too_large",
                f"Unable to accept more than {BATCH_LIMIT} items for this request.",
                413,
            )
        answer = {}
        if "create" in data:
            answer["create"] = [
                self._batch_create(item, parent_id) for item in data["create"] or ()
            ]
        if "update" in data:
            answer["update"] = [
                self._batch_update(item, parent_id) for item in data["update"] or ()
            ]
        if "delete" in data:
            answer["delete"] = [
                self._batch_delete(item, parent_id) for item in data["delete"] or ()
            ]
        return json_response(answer)

    def _batch_delete(self, ref, parent_id):
        """Delete a variation of `parent_id`, or a product with its
        variations (a batch deletes for good: WooCommerce sets force)."""
        state = self.state
        product = state.woo_products.get(str(ref))
        valid = product is not None and (
            product["parent_id"] == parent_id
            if parent_id
            else product["type"] != "variation"
        )
        if not valid:
            error = invalid_id("product_variation" if parent_id else "product")
            return {
                "id": ref,
                "error": {
                    "code": error.code,
                    "message": error.message,
                    "data": {"status": 400},
                },
            }
        answer = product_json(product, self.base_url)
        for child in product["variations"]:
            state.woo_products.pop(str(child), None)
        state.woo_products.pop(str(product["id"]))
        if parent_id:
            state.woo_products[str(parent_id)]["variations"].remove(product["id"])
        state.product_writes.append(("woo_delete", product["id"], 1))
        return answer

    def _batch_update(self, item, parent_id):
        product = self.state.woo_products.get(str(item.get("id")))
        kind = "product_variation" if parent_id else "product"
        valid = product is not None and (
            product["parent_id"] == parent_id
            if parent_id
            else product["type"] != "variation"
        )
        if not valid:
            error = invalid_id(kind)
            return {
                "id": item.get("id"),
                "error": {
                    "code": error.code,
                    "message": error.message,
                    "data": {"status": 400},
                },
            }
        try:
            return product_json(self._update_product(product, item), self.base_url)
        except WooError as error:
            return {
                "id": item.get("id"),
                "error": {
                    "code": error.code,
                    "message": error.message,
                    "data": {"status": error.status},
                },
            }

    def _batch_create(self, item, parent_id):
        """Create a simple or variable product, or a variation of `parent_id`."""
        try:
            with self.state.lock:
                product = create_woo_product(self.state, item, parent_id)
        except WooError as error:
            return {
                "id": 0,
                "error": {
                    "code": error.code,
                    "message": error.message,
                    "data": {"status": error.status},
                },
            }
        self.sender.woo_event("product.created", product["id"])
        return product_json(product, self.base_url)

    def _update_product(self, product, data):
        """Stock, catalogue and price fields; product.updated fires."""
        state = self.state
        with state.lock:
            if "sku" in data:
                check_woo_sku(state, data["sku"], product["id"])
            apply_woo_catalogue_fields(product, data)
            if "manage_stock" in data:
                product["manage_stock"] = bool(data["manage_stock"])
            if "stock_quantity" in data and product["manage_stock"]:
                set_woo_stock(product, _int(data["stock_quantity"], "stock_quantity"))
            if "stock_status" in data and not product["manage_stock"]:
                product["stock_status"] = data["stock_status"]
            product["date_modified"] = state.wall_clock()
        self.sender.woo_event("product.updated", product["id"])
        return product

    def _parent(self, product_id):
        parent = self.state.woo_products.get(str(product_id))
        if parent is None or parent["type"] != "variable":
            raise invalid_id("product")
        return parent

    def _sorted_products(self):
        return sorted(self.state.woo_products.values(), key=lambda p: p["id"])

    # === SETTINGS ===

    def _setting(self, request, group, setting_id):
        """GET settings/<group>/<id>: the store's currency and weight unit."""
        if request.method != "GET" or setting_id not in self.state.woo_settings:
            raise WooError("rest_setting_setting_invalid", "Invalid setting.", 404)
        value = self.state.woo_settings[setting_id]
        return json_response(
            {"id": setting_id, "group_id": group, "value": value, "default": value}
        )

    # === ORDERS ===

    def _orders(self, request):
        if request.method == "POST":
            order = self.book.create("woocommerce", **_order_spec(_body(request)))
            self.sender.woo_event("order.created", int(order["id"]))
            return json_response(self._order_json(order), 201)
        orders = list(self.state.woo_orders.values())
        orders = _filter_modified(orders, request.args, "updated_at")
        orders = _filter_created(orders, request.args)
        status = request.args.get("status")
        if status and status != "any":
            wanted = set(status.split(","))
            orders = [o for o in orders if self._order_json(o)["status"] in wanted]
        orders = _sort_orders(orders, request.args)
        return self._page([self._order_json(o) for o in orders], request)

    def _order(self, request, order_id):
        order = self._get_order(order_id)
        if request.method in ("PUT", "POST", "PATCH"):
            data = _body(request)
            if data.get("status") == "cancelled":
                self.book.cancel(order)
            elif data.get("status") in WOO_SET_STATUSES:
                order["woo_status"] = data["status"]
                if data["status"] == "completed":
                    order["completed_at"] = self.state.wall_clock()
            elif "status" in data:
                raise WooError(
                    "rest_invalid_param", "Invalid parameter(s): status", 400
                )
            _set_meta(order, data.get("meta_data"))
            if "customer_note" in data:
                self.book.update(order, note=data["customer_note"])
            self.book.touch(order)
            self.sender.woo_event("order.updated", order_id)
        elif request.method == "DELETE":
            raise WooError(
                "woocommerce_rest_trash_not_supported",
                "The order does not support trashing.",
                501,
            )
        return json_response(self._order_json(order))

    def _notes(self, request, order_id):
        """Order notes: POST adds one (`customer_note` true: the buyer is
        emailed it), GET lists them newest first."""
        order = self._get_order(order_id)
        notes = order.setdefault("notes", [])
        if request.method == "POST":
            data = _body(request)
            if not str(data.get("note") or "").strip():
                raise WooError(
                    "rest_missing_callback_param",
                    "Missing parameter(s): note",
                    400,
                )
            note = {
                "id": self.state.new_id("woo_note", 900),
                "author": "WooCommerce",
                "date_created": wc_date(self.state.wall_clock()),
                "note": str(data["note"]),
                "customer_note": bool(data.get("customer_note")),
                "added_by_user": False,
            }
            notes.append(note)
            return json_response(note, 201)
        return json_response(list(reversed(notes)))

    def _order_json(self, order):
        return order_json(order, self.state, self.base_url)

    def _get_order(self, order_id):
        order = self.state.woo_orders.get(str(order_id))
        if order is None:
            raise invalid_id("shop_order")
        return order

    def _refunds(self, request, order_id):
        order = self._get_order(order_id)
        if request.method == "POST":
            return json_response(self._create_refund(order, _body(request)), 201)
        items = [refund_json(order, r, self.base_url) for r in order["refunds"][::-1]]
        return self._page(items, request)

    def _refund(self, _request, order_id, refund_id):
        order = self._get_order(order_id)
        refund = next((r for r in order["refunds"] if r["id"] == str(refund_id)), None)
        if refund is None:
            raise invalid_id("shop_order_refund")
        return json_response(refund_json(order, refund, self.base_url))

    def _create_refund(self, order, data):
        """POST orders/<id>/refunds: amount, line_items, api_restock, api_refund."""
        try:
            amount = cents(Decimal(str(data.get("amount", "0"))))
        except InvalidOperation as error:
            raise WooError(
                "rest_invalid_param", "Invalid parameter(s): amount", 400
            ) from error
        if amount <= 0:
            raise WooError(
                "woocommerce_rest_invalid_order_refund",
                "Refund amount must be greater than zero.",
                400,
            )
        lines = [
            (str(item["id"]), int(item.get("quantity") or 0))
            for item in data.get("line_items") or ()
            if int(item.get("quantity") or 0) > 0
        ]
        available = order_json(order, self.state, self.base_url)
        refundable = Decimal(available["total"]) - sum(
            (r["amount"] for r in order["refunds"]), Decimal(0)
        )
        if amount > refundable:
            raise WooError(
                "woocommerce_rest_cannot_create_order_refund",
                "Invalid refund amount.",
                500,
            )
        try:
            refund = self.book.refund(
                order,
                lines,
                restock=bool(data.get("api_restock", True)),
                note=data.get("reason") or None,
            )
        except ValueError as error:
            raise WooError(
                "woocommerce_rest_cannot_create_order_refund", str(error), 500
            ) from error
        refund["amount"] = amount
        refund["refunded_payment"] = bool(data.get("api_refund", True))
        self.sender.woo_event("order.updated", int(order["id"]))
        return refund_json(order, refund, self.base_url)

    # === WEBHOOKS ===

    def _webhooks(self, request):
        hooks = self.state.woo_webhooks
        if request.method == "POST":
            return json_response(self._create_webhook(_body(request)), 201)
        items = sorted(hooks.values(), key=lambda h: h["id"])
        status = request.args.get("status")
        if status and status != "all":
            items = [h for h in items if h["status"] == status]
        return self._page([webhook_json(h, self.base_url) for h in items], request)

    def _create_webhook(self, data):
        topic = data.get("topic")
        if topic not in WEBHOOK_TOPICS and not str(topic).startswith("action."):
            raise WooError(
                "woocommerce_rest_webhook_invalid_topic",
                "Webhook topic must be valid.",
                400,
            )
        if not data.get("delivery_url"):
            raise WooError(
                "rest_missing_callback_param",
                "Missing parameter(s): delivery_url",
                400,
                params=["delivery_url"],
            )
        state = self.state
        with state.lock:
            hook_id = state.new_id("woo_webhook", 0)
            now = state.wall_clock()
            hook = {
                "id": hook_id,
                "name": data.get("name") or f"Webhook created on {now:%b %d, %Y}",
                "topic": topic,
                "delivery_url": data["delivery_url"],
                "secret": data.get("secret") or self.default_secret,
                "status": data.get("status", "active"),
                "failure_count": 0,
                "created_at": now,
                "modified_at": now,
            }
            state.woo_webhooks[hook_id] = hook
        if hook["status"] == "active":
            self._pings.append(hook)
        return webhook_json(hook, self.base_url)

    def _webhook(self, request, webhook_id):
        hooks = self.state.woo_webhooks
        hook = hooks.get(webhook_id)
        if hook is None:
            raise invalid_id("webhook")
        if request.method == "DELETE":
            if request.args.get("force") not in ("true", "1"):
                raise WooError(
                    "woocommerce_rest_trash_not_supported",
                    "Webhooks do not support trashing.",
                    501,
                )
            del hooks[webhook_id]
        elif request.method in ("PUT", "POST", "PATCH"):
            self._update_webhook(hook, _body(request))
        return json_response(webhook_json(hook, self.base_url))

    def _update_webhook(self, hook, data):
        with self.state.lock:
            for key in ("name", "delivery_url", "secret", "topic"):
                if key in data:
                    hook[key] = data[key]
            if "status" in data:
                hook["status"] = data["status"]
                if data["status"] == "active":
                    hook["failure_count"] = 0
            hook["modified_at"] = self.state.wall_clock()

    # === PAGING ===

    def _page(self, items, request):
        per_page = _int(request.args.get("per_page", 10), "per_page")
        page = _int(request.args.get("page", 1), "page")
        if not 1 <= per_page <= 100:
            raise WooError(
                "rest_invalid_param",
                "Invalid parameter(s): per_page",
                400,
                params={
                    "per_page": "per_page must be between 1 (inclusive) and 100 "
                    "(inclusive)"
                },
            )
        if page < 1:
            raise WooError(
                "rest_invalid_param",
                "Invalid parameter(s): page",
                400,
                params={"page": "page must be greater than or equal to 1"},
            )
        total = len(items)
        pages = math.ceil(total / per_page)
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        link = _link_header(request, page, pages)
        if link:
            headers["Link"] = link
        return json_response(chunk, headers=headers)


WOO_SET_STATUSES = ("pending", "processing", "on-hold", "completed", "failed")


def _set_meta(order, entries):
    """PUT meta_data: an entry replaces the one of the same id, else of the
    same key (WooCommerce's update_meta_data), else is added."""
    meta = order.setdefault("meta_data", [])
    for entry in entries or ():
        same = next(
            (
                m
                for m in meta
                if (entry.get("id") and m["id"] == entry["id"])
                or (not entry.get("id") and m["key"] == entry.get("key"))
            ),
            None,
        )
        if same:
            same["value"] = entry.get("value")
        else:
            meta.append(
                {
                    "id": 7000 + len(meta),
                    "key": entry["key"],
                    "value": entry.get("value"),
                }
            )


def _filter_included(items, args):
    """`include=1,2,3`: only those ids (WooCommerce's list filter)."""
    wanted = args.get("include")
    if not wanted:
        return items
    ids = {int(x) for x in wanted.split(",") if x.strip().isdigit()}
    return [item for item in items if int(item["id"]) in ids]


def _route_name(endpoint):
    """Call-count key: the REST route family, e.g. "products" for a batch."""
    return {
        "products_batch": "products",
        "variations_batch": "variations",
        "product": "products/<id>",
        "variation": "variations/<id>",
        "setting": "settings",
        "order": "orders/<id>",
        "refund": "refunds/<id>",
        "webhook": "webhooks/<id>",
    }.get(endpoint, endpoint)


def _body(request):
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise WooError("rest_invalid_json", "Invalid JSON body passed.", 400)
    return data


def _int(value, name):
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise WooError(
            "rest_invalid_param",
            f"Invalid parameter(s): {name}",
            400,
            params={name: f"{name} is not of type integer."},
        ) from error


def _filter_modified(items, args, key):
    after, before = args.get("modified_after"), args.get("modified_before")
    if after:
        items = [i for i in items if i[key] > parse_when(after)]
    if before:
        items = [i for i in items if i[key] < parse_when(before)]
    return items


def _filter_created(orders, args):
    after, before = args.get("after"), args.get("before")
    if after:
        orders = [o for o in orders if o["created_at"] > parse_when(after)]
    if before:
        orders = [o for o in orders if o["created_at"] < parse_when(before)]
    return orders


def _sort_orders(orders, args):
    """WooCommerce's default: newest first by date created."""
    key = {
        "date": lambda o: (o["created_at"], int(o["id"])),
        "modified": lambda o: (o["updated_at"], int(o["id"])),
        "id": lambda o: int(o["id"]),
    }.get(args.get("orderby", "date"), lambda o: (o["created_at"], int(o["id"])))
    return sorted(orders, key=key, reverse=args.get("order", "desc") == "desc")


def _link_header(request, page, pages):
    base = request.base_url
    query = {k: v for k, v in request.args.items() if k != "page"}
    parts = []

    def url(number):
        params = "&".join(f"{k}={v}" for k, v in {**query, "page": number}.items())
        return f"<{base}?{params}>"

    if page > 1:
        parts.append(f'{url(page - 1)}; rel="prev"')
    if page < pages:
        parts.append(f'{url(page + 1)}; rel="next"')
    return ", ".join(parts)


def _order_spec(data):
    """POST /orders body -> OrderBook options (line_items by product/variation)."""
    lines = []
    for item in data.get("line_items") or ():
        ref = item.get("variation_id") or item.get("product_id") or item.get("sku")
        lines.append((str(ref), int(item.get("quantity") or 1)))
    return {
        "lines": lines or None,
        "presentment_currency": data.get("currency"),
        "financial_status": "paid" if data.get("set_paid") else "pending",
        "gateway": data.get("payment_method") or "bacs",
        "customer": "guest" if not data.get("customer_id") else "repeat",
    }


# Fields a client sets on create and update (`price` follows the prices).
CATALOGUE_KEYS = ("name", "status", "description", "sku", "weight")


def apply_woo_catalogue_fields(product, data):
    """Set the catalogue and price fields `data` carries on `product`."""
    for key in CATALOGUE_KEYS:
        if key in data:
            product[key] = str(data[key] if data[key] is not None else "")
    for key in ("regular_price", "sale_price"):
        if key in data:
            product[key] = _woo_price(data[key], key)
    if "attributes" in data and isinstance(data["attributes"], list):
        product["attributes"] = data["attributes"]
    product["price"] = product.get("sale_price") or product.get("regular_price") or ""


def _woo_price(value, key):
    """A price as WooCommerce keeps it: text, "" for none; never "False"."""
    text = "" if value is None else str(value).strip()
    if text:
        try:
            if Decimal(text) < 0:
                raise InvalidOperation
        except InvalidOperation as exc:
            raise WooError(
                "woocommerce_rest_invalid_price", f"Invalid {key}: {text}", 400
            ) from exc
    return text


def check_woo_sku(state, sku, own_id=None):
    """WooCommerce refuses a SKU another product or variation has."""
    sku = str(sku or "").strip()
    if sku and any(
        p.get("sku") == sku and p["id"] != own_id for p in state.woo_products.values()
    ):
        raise WooError(
            "product_invalid_sku", "Invalid or duplicated SKU.", 400, resource_id=0
        )


def create_woo_product(state, data, parent_id):
    """A new simple or variable product, or a variation of `parent_id`."""
    parent = state.woo_products.get(str(parent_id)) if parent_id else None
    check_woo_sku(state, data.get("sku"))
    product_id = state.new_id("woo_product", 300000)
    now = state.wall_clock()
    kind = "variation" if parent else data.get("type") or "simple"
    product = {
        "id": product_id,
        "name": str(data.get("name") or (parent or {}).get("name") or ""),
        "slug": f"product-{product_id}",
        "type": kind,
        "parent_id": int(parent_id or 0),
        "sku": "",
        "price": "",
        "regular_price": "",
        "sale_price": "",
        "manage_stock": bool(data.get("manage_stock", kind != "variable")),
        "stock_quantity": 0 if kind != "variable" else None,
        "stock_status": "outofstock" if kind != "variable" else "instock",
        "attributes": [],
        "variations": [],
        "date_created": now,
        "date_modified": now,
    }
    apply_woo_catalogue_fields(product, data)
    state.woo_products[str(product_id)] = product
    if parent:
        parent["variations"].append(product_id)
    return product
