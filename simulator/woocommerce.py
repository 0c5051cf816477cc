"""The WooCommerce side of the simulator: REST API v3 over HTTP Basic auth."""

import json
import math

from werkzeug.wrappers import Response

BATCH_LIMIT = 100


def json_response(payload, status=200, headers=None):
    return Response(
        json.dumps(payload),
        status=status,
        headers=headers or {},
        mimetype="application/json",
    )


def woo_error(code, message, status):
    return json_response(
        {"code": code, "message": message, "data": {"status": status}}, status
    )


class WooCommerceRest:
    """Routes /wp-json/wc/v3/... for one store."""

    def __init__(self, state, sender, key, secret):
        self.state, self.sender = state, sender
        self.key, self.secret = key, secret

    def authorized(self, request):
        auth = request.authorization
        if auth and auth.username == self.key and auth.password == self.secret:
            return True
        args = request.args
        return (
            args.get("consumer_key") == self.key
            and args.get("consumer_secret") == self.secret
        )

    def handle(self, request, route):
        if not self.authorized(request):
            return woo_error(
                "woocommerce_rest_authentication_error",
                "Invalid signature - provided signature does not match.",
                401,
            )
        self.state.record_call(f"{request.method} {route.split('/')[0]}")
        fault = self.state.take_fault("woocommerce")
        if fault == "429":
            return Response(
                "Too Many Requests", status=429, headers={"Retry-After": "1"}
            )
        if fault == "500":
            return woo_error("internal_server_error", "Server error.", 500)
        parts = route.strip("/").split("/")
        return self._dispatch(request, parts)

    def _dispatch(self, request, parts):
        method = request.method
        if parts[0] == "products" and parts[-1] == "batch":
            return self._batch(request)
        if parts == ["products"] and method == "GET":
            return self._list(list(self.state.woo_products.values()), request)
        if parts[0] == "orders" and len(parts) == 1 and method == "GET":
            return self._list(self._orders(request), request)
        if parts[0] == "orders" and len(parts) == 2 and method == "GET":
            order = self.state.woo_orders.get(parts[1])
            return (
                json_response(order)
                if order
                else woo_error(
                    "woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404
                )
            )
        if parts[0] == "webhooks":
            return self._webhooks(request, parts)
        return woo_error("rest_no_route", "No route was found.", 404)

    def _list(self, items, request):
        per_page = min(int(request.args.get("per_page", 10)), 100)
        page = int(request.args.get("page", 1))
        total = len(items)
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {
            "X-WP-Total": str(total),
            "X-WP-TotalPages": str(max(1, math.ceil(total / per_page))),
        }
        return json_response(chunk, headers=headers)

    def _orders(self, request):
        since = request.args.get("modified_after")
        orders = sorted(
            self.state.woo_orders.values(),
            key=lambda o: o.get("date_modified_gmt") or "",
        )
        if since:
            orders = [o for o in orders if (o.get("date_modified_gmt") or "") >= since]
        return orders

    def _batch(self, request):
        data = request.get_json(force=True)
        total = sum(len(data.get(k) or ()) for k in ("create", "update", "delete"))
        if total > BATCH_LIMIT:
            return woo_error(
                "woocommerce_rest_request_entity_too_large",
                f"Unable to accept more than {BATCH_LIMIT} items for this request.",
                413,
            )
        return json_response({"update": self.state.woo_batch(data.get("update") or [])})

    def _webhooks(self, request, parts):
        hooks = self.state.woo_webhooks
        if request.method == "GET":
            return self._list(list(hooks.values()), request)
        if request.method == "POST":
            data = request.get_json(force=True)
            webhook_id = self.state.new_id()
            hooks[webhook_id] = {
                "id": webhook_id,
                "topic": data["topic"],
                "delivery_url": data["delivery_url"],
                "secret": data.get("secret", ""),
                "status": data.get("status", "active"),
                "failure_count": 0,
            }
            self.sender.woocommerce_ping(hooks[webhook_id])
            return json_response(hooks[webhook_id], 201)
        if request.method == "DELETE" and len(parts) == 2:
            removed = hooks.pop(int(parts[1]), None)
            return json_response(removed or {}, 200 if removed else 404)
        return woo_error("rest_no_route", "No route was found.", 404)
