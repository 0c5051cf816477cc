"""WooCommerce REST API v3."""

from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs

from . import fulfilment_woocommerce
from .base import ChannelAdapter
from .catalogue import (
    ChannelProductEdit,
    ChannelVariant,
    PublishedVariant,
    PublishResult,
    StoreSettings,
    convert_weight,
)
from .exceptions import ChannelPayloadError
from .orders_woocommerce import parse_woocommerce_order
from .records import ChannelShipment, UnreadableOrder
from .refunds_woocommerce import parse_woocommerce_refund
from .signatures import sign_base64
from .stock import StockWriteResult
from .values import money_text
from .webhooks import (
    FLOW_CATALOG,
    FLOW_ORDERS,
    WebhookDelivery,
    header,
    load_json_object,
    parse_timestamp,
    pick_headers,
    require_header,
)

ORDERS_PAGE_SIZE = 50
# WooCommerce's batch endpoints take at most 100 objects per request.
WOO_BATCH_SIZE = 100
# The REST API's largest page.
WEBHOOKS_PAGE_SIZE = 100
# Resource -> flow; refunds arrive as order.updated.
WOOCOMMERCE_RESOURCE_FLOWS = {"order": FLOW_ORDERS, "product": FLOW_CATALOG}
WOOCOMMERCE_KEPT_HEADERS = (
    "X-WC-Webhook-Source",
    "X-WC-Webhook-Topic",
    "X-WC-Webhook-Resource",
    "X-WC-Webhook-Event",
    "X-WC-Webhook-ID",
    "X-WC-Webhook-Delivery-ID",
)


class WooCommerceAdapter(ChannelAdapter):
    """Talks to one store through `/wp-json/wc/v3/` with consumer key/secret."""

    code = "woocommerce"
    manages_webhook_subscriptions = True
    status_actions = {
        "pending": "wait",
        "on-hold": "quotation",
        "processing": "confirm",
        "completed": "confirm",
        "refunded": "confirm",
        "cancelled": "cancel",
        "failed": "cancel",
        "checkout-draft": "wait",
    }
    refunded_statuses = frozenset({"refunded"})
    product_edit_topics = frozenset({"product.updated"})
    order_payload_topics = frozenset(
        {"order.created", "order.updated", "order.restored"}
    )

    def url(self, route):
        return f"{self.config['base_url'].rstrip('/')}/wp-json/wc/v3/{route}"

    def get(self, route, params=None):
        """GET a route with HTTP Basic credentials (429 waited out)."""
        return self.call_with_backoff(self._request_once, "GET", route, params=params)

    def post(self, route, payload):
        """POST JSON to a route with HTTP Basic credentials (429 waited out)."""
        return self.call_with_backoff(self._request_once, "POST", route, json=payload)

    def _request_once(self, method, route, **kwargs):
        # WooCommerce states no bucket: the shared budget only holds the
        # Retry-After another worker was given, which this call waits out.
        budget = self.config.get("budget")
        if budget:
            budget.before(0)
        return self.transport.request(
            method,
            self.url(route),
            auth=(self.config["consumer_key"], self.config["consumer_secret"]),
            **kwargs,
        )

    def put(self, route, payload):
        """PUT JSON to a route with HTTP Basic credentials (429 waited out)."""
        return self.call_with_backoff(self._put_once, route, payload)

    def _put_once(self, route, payload):
        return self.transport.request(
            "PUT",
            self.url(route),
            json=payload,
            auth=(self.config["consumer_key"], self.config["consumer_secret"]),
        )

    def delete(self, route):
        return self.transport.request(
            "DELETE",
            self.url(route),
            params={"force": "true"},
            auth=(self.config["consumer_key"], self.config["consumer_secret"]),
        )

    # Orders

    def fetch_order(self, external_ref):
        """The current state of one order."""
        return parse_woocommerce_order(self.get(f"orders/{external_ref}").json())

    def push_fulfilment(self, request):
        """Override of `ChannelAdapter`: see `fulfilment_woocommerce`."""
        return fulfilment_woocommerce.push_fulfilment(self, request)

    def update_fulfilment_tracking(self, fulfilment_ref, request):
        """Override of `ChannelAdapter`: a new note with the new tracking,
        and the shipment's meta entry updated."""
        del fulfilment_ref
        fulfilment_woocommerce.push_fulfilment(self, request, update=True)

    def order_shipped_on_channel(self, order, first_import=False):
        """Override of `ChannelAdapter`: WooCommerce has no shipments, so a
        `completed` order is shipped whole, whenever it is imported."""
        del first_import
        if order.financial_status != "completed":
            return None
        return ChannelShipment(
            fulfilment_ref=f"completed:{order.external_ref}",
            order_ref=order.external_ref,
            whole_order=True,
        )

    def cancel_fulfilment(self, fulfilment_ref):
        """Override of `ChannelAdapter`: WooCommerce has no shipment to cancel."""
        raise ChannelPayloadError(
            "WooCommerce has no shipments to cancel: change the order's status "
            f"and notes on WooCommerce (shipment note {fulfilment_ref})."
        )

    def fetch_refund(self, refund_ref, order_ref=None):
        """Override of `ChannelAdapter`: the refund and its order (currency,
        tax mode, gateway); restocking follows `refund_restock` (config)."""
        if not order_ref:
            raise ChannelPayloadError(f"Refund {refund_ref} names no order.")
        order = self.get(f"orders/{order_ref}").json()
        refund = self.get(f"orders/{order_ref}/refunds/{refund_ref}").json()
        restock = self.config.get("refund_restock", True)
        return parse_woocommerce_refund(refund, order, restock=restock)

    def fetch_orders_updated_since(self, since, cursor=None):
        """One page of orders modified at or after `since`; cursor = page number.

        :return: (orders, next cursor or None); an order that does not parse
            is an `UnreadableOrder` in the list
        """
        return self._fetch_orders_page(
            {"modified_after": _gmt(since), "orderby": "modified"}, cursor
        )

    def fetch_orders_created_since(self, since, cursor=None):
        """One page of orders created at or after `since`, oldest first.

        :return: (orders, next cursor or None); an order that does not parse
            is an `UnreadableOrder` in the list
        """
        return self._fetch_orders_page(
            {"after": _gmt(since), "orderby": "date"}, cursor
        )

    def count_orders_created_since(self, since):
        """How many orders were created at or after `since` (`X-WP-Total`)."""
        response = self.get(
            "orders",
            params={"after": _gmt(since), "dates_are_gmt": "true", "per_page": 1},
        )
        return int(response.headers.get("X-WP-Total") or len(response.json()))

    def _fetch_orders_page(self, search, cursor):
        page = int(cursor or 1)
        response = self.get(
            "orders",
            params={
                **search,
                "dates_are_gmt": "true",
                "per_page": ORDERS_PAGE_SIZE,
                "page": page,
                "order": "asc",
            },
        )
        orders = [_parse_listed_order(item) for item in response.json()]
        total_pages = int(response.headers.get("X-WP-TotalPages") or 1)
        return orders, (str(page + 1) if page < total_pages else None)

    # Catalogue

    def fetch_variants(self, cursor=None):
        """One page of products: simple products and the variations of the
        variable ones (their parent as `product_ref`); cursor = page number.

        :return: ([ChannelVariant], next page or None)
        """
        page = int(cursor or 1)
        response = self.get(
            "products", params={"per_page": 100, "page": page, "orderby": "id"}
        )
        variants = []
        for product in response.json():
            if product.get("type") == "variable":
                variants += self._fetch_variations(product)
            else:
                variants.append(_variant(product, parent=None))
        total_pages = int(response.headers.get("X-WP-TotalPages") or 1)
        return variants, (str(page + 1) if page < total_pages else None)

    def _fetch_variations(self, product):
        variants, page, total_pages = [], 1, 1
        while page <= total_pages:
            response = self.get(
                f"products/{product['id']}/variations",
                params={"per_page": 100, "page": page},
            )
            variants += [_variant(item, parent=product) for item in response.json()]
            total_pages = int(response.headers.get("X-WP-TotalPages") or 1)
            page += 1
        return variants

    store_settings_reads = 2

    def fetch_store_settings(self):
        """Override of `ChannelAdapter`: the store's currency and weight unit
        (two settings read once for the adapter's life)."""
        if getattr(self, "_store_settings", None) is None:
            currency = self.get("settings/general/woocommerce_currency").json()
            unit = self.get("settings/products/woocommerce_weight_unit").json()
            self._store_settings = StoreSettings(
                currency=str(currency.get("value") or "").strip() or None,
                weight_unit=str(unit.get("value") or "").strip() or None,
            )
        return self._store_settings

    def publish_products(self, products):
        """Override of `ChannelAdapter`: products and variable parents through
        `products/batch`, then each variable product's variations through
        its `variations/batch`, 100 objects per call; the variations the
        store holds that the product no longer lists are deleted there."""
        unit = self.fetch_store_settings().weight_unit
        results, calls = self._batch_products(products, unit)
        for index, product in enumerate(products):
            answer = results[index]
            if isinstance(answer, ChannelPayloadError):
                continue
            parent_ref = str(answer["id"])
            if not product.options:
                variant = product.variants[0]
                published = (PublishedVariant(sku=variant.sku, variant_ref=parent_ref),)
            else:
                kept = {v.variant_ref for v in product.variants if v.variant_ref}
                gone = [
                    ref
                    for ref in answer.get("variations") or ()
                    if str(ref) not in kept
                ]
                try:
                    published, variation_calls = self._batch_variations(
                        parent_ref, product.variants, unit, gone
                    )
                except ChannelPayloadError as exc:
                    results[index] = exc
                    calls += 1
                    continue
                calls += variation_calls
            results[index] = PublishResult(product_ref=parent_ref, variants=published)
        return results, calls

    def _batch_products(self, products, unit):
        """([product JSON or ChannelPayloadError] aligned, calls) for the
        parents and simple products, created or updated 100 at a time."""
        results, calls = [None] * len(products), 0
        indexed = list(enumerate(products))
        for start in range(0, len(indexed), WOO_BATCH_SIZE):
            chunk = indexed[start : start + WOO_BATCH_SIZE]
            answers = self._send_batch(
                "products/batch", [(i, woo_product(p, unit)) for i, p in chunk]
            )
            calls += 1
            for index, answer in answers.items():
                results[index] = answer
        return results, calls

    def _batch_variations(self, parent_ref, variants, unit, gone=()):
        """([PublishedVariant], calls) for a variable product's variations,
        the ids in `gone` deleted in the same calls (100 objects a call);
        ChannelPayloadError when one is refused."""
        published, calls = [], 0
        indexed = list(enumerate(variants))
        gone = list(gone)
        start = 0
        while start < len(indexed) or gone:
            chunk = indexed[start : start + WOO_BATCH_SIZE]
            start += len(chunk)
            room = WOO_BATCH_SIZE - len(chunk)
            deletes, gone = gone[:room], gone[room:]
            answers = self._send_batch(
                f"products/{parent_ref}/variations/batch",
                [(i, woo_variation(v, unit)) for i, v in chunk],
                deletes,
            )
            calls += 1
            for index, answer in sorted(answers.items()):
                if isinstance(answer, ChannelPayloadError):
                    raise answer
                published.append(
                    PublishedVariant(
                        sku=variants[index].sku,
                        variant_ref=str(answer["id"]),
                        product_ref=parent_ref,
                    )
                )
        return published, calls

    def _send_batch(self, route, items, deletes=()):
        """POST create (no id) and update (with id) items of one route, and
        delete the ids in `deletes`.

        :param items: [(key, object)]
        :return: {key: answered object, or ChannelPayloadError}
        :raise ChannelPayloadError: when a delete is refused
        """
        creates = [(key, item) for key, item in items if "id" not in item]
        updates = [(key, item) for key, item in items if "id" in item]
        payload = {}
        if creates:
            payload["create"] = [item for _key, item in creates]
        if updates:
            payload["update"] = [item for _key, item in updates]
        if deletes:
            payload["delete"] = [int(ref) for ref in deletes]
        answer = self.post(route, payload).json()
        for item in answer.get("delete") or ():
            refused = _batch_answer(item, route)
            if isinstance(refused, ChannelPayloadError):
                raise refused
        results = {}
        for kind, sent in (("create", creates), ("update", updates)):
            answered = answer.get(kind) or []
            for position, (key, _item) in enumerate(sent):
                item = answered[position] if position < len(answered) else None
                results[key] = _batch_answer(item, route)
        return results

    def parse_product_edit(self, topic, payload):
        """Override of `ChannelAdapter`: `product.updated`; a simple
        product's body carries its price, a variable product's only its name."""
        if topic not in self.product_edit_topics:
            return None
        if not isinstance(payload, dict) or payload.get("id") in (None, ""):
            raise ChannelPayloadError("product.updated body has no product id")
        prices = ()
        price = str(payload.get("price") or "").strip()
        if payload.get("type") == "simple" and price:
            try:
                prices = ((str(payload["id"]), Decimal(price)),)
            except InvalidOperation as exc:
                raise ChannelPayloadError(f"Unreadable price {price!r}") from exc
        return ChannelProductEdit(
            product_ref=str(payload.get("parent_id") or payload["id"]),
            title=payload.get("name") if payload.get("type") != "variation" else None,
            prices=prices,
        )

    def update_prices(self, updates):
        """Override of `ChannelAdapter`: simple products share
        `products/batch`, a variable product's variations its
        `variations/batch`; 100 per call."""
        by_route, calls, refused = {}, 0, {}
        for update in updates:
            by_route.setdefault(_price_route(update), []).append(update)
        for route, route_updates in by_route.items():
            for start in range(0, len(route_updates), WOO_BATCH_SIZE):
                chunk = route_updates[start : start + WOO_BATCH_SIZE]
                answers = self._send_batch(
                    route,
                    [(u, {"id": int(u.variant_ref), **woo_prices(u)}) for u in chunk],
                )
                calls += 1
                for update, answer in answers.items():
                    if isinstance(answer, ChannelPayloadError):
                        refused[update.product_ref or update.variant_ref] = str(answer)
        return calls, refused

    # Webhook subscriptions

    def list_webhook_subscriptions(self):
        """[{"id", "topic", "address", "active"}] of every webhook of the store.

        All statuses (the listing's default is `all`) and every page: a webhook
        WooCommerce disabled after failed deliveries, or one an admin paused,
        is still ours to repair, not a missing one to create again.
        """
        subscriptions, page, total_pages = [], 1, 1
        while page <= total_pages:
            response = self.get(
                "webhooks",
                params={"status": "all", "per_page": WEBHOOKS_PAGE_SIZE, "page": page},
            )
            subscriptions += [
                {
                    "id": item["id"],
                    "topic": item["topic"],
                    "address": item["delivery_url"],
                    "active": item.get("status") == "active",
                }
                for item in response.json()
            ]
            total_pages = int(response.headers.get("X-WP-TotalPages") or 1)
            if page < total_pages and page == self.max_subscription_pages:
                raise self._too_many_subscription_pages()
            page += 1
        return subscriptions

    def create_webhook_subscription(self, topic, address):
        item = self.post(
            "webhooks",
            {
                "name": f"channel_connector {topic}",
                "topic": topic,
                "delivery_url": address,
                "secret": self.config["webhook_secret"],
                "status": "active",
            },
        ).json()
        return item["id"]

    def delete_webhook_subscription(self, subscription_id):
        self.delete(f"webhooks/{subscription_id}")

    def reactivate_webhook_subscription(self, subscription_id):
        """Set a paused or disabled webhook back to `active` (PUT webhooks/<id>).

        The same webhook keeps its id and delivery log, and sends no creation
        ping. Our current secret goes with it, in case it changed meanwhile.
        WooCommerce does not reset its failure count on such an update: the
        first successful delivery does.
        """
        self.call_with_backoff(
            self._put_once,
            f"webhooks/{subscription_id}",
            {"status": "active", "secret": self.config["webhook_secret"]},
        )

    # Stock

    # WooCommerce's batch endpoints take at most 100 objects per request.
    stock_batch_size = 100

    def stock_batch_group(self, quantity):
        """Override of `ChannelAdapter`: the batch route of the quantity.

        Simple products share `products/batch`; the variations of a variable
        product can only be written through their parent's
        `products/<parent>/variations/batch`. So k simple products cost
        ceil(k / 100) calls, and variations cost at least one call per parent
        product: the sum over parents of ceil(variations of it / 100).
        """
        return _collection(quantity)

    def push_stock(self, quantities, idempotency_key):
        """Set `stock_quantity` through the batch endpoints (one per group,
        see `stock_batch_group`; callers send one group per call).

        WooCommerce has no compare-and-set: the idempotency key is unused, a
        repeat is harmless because it sets the same absolute quantity.
        """
        del idempotency_key
        if len(quantities) > self.stock_batch_size:
            raise ValueError("At most 100 objects per WooCommerce batch")
        results = []
        for route, items in _by_collection(quantities).items():
            results += self._push_batch(f"{route}/batch", items)
        return results

    def read_stock(self, quantities):
        """{StockQuantity: stock_quantity on WooCommerce} (absent when unknown
        or not managed), read 100 ids at a time per parent."""
        current = {}
        for route, items in _by_collection(quantities).items():
            for start in range(0, len(items), self.stock_batch_size):
                chunk = items[start : start + self.stock_batch_size]
                found = {
                    str(item["id"]): item
                    for item in self.get(
                        route,
                        params={
                            "include": ",".join(q.variant_ref for q in chunk),
                            "per_page": self.stock_batch_size,
                        },
                    ).json()
                }
                for quantity in chunk:
                    item = found.get(quantity.variant_ref) or {}
                    if (
                        item.get("manage_stock")
                        and item.get("stock_quantity") is not None
                    ):
                        current[quantity] = int(item["stock_quantity"])
        return current

    def _push_batch(self, route, items):
        payload = {
            "update": [
                {
                    "id": int(q.variant_ref),
                    "manage_stock": True,
                    "stock_quantity": q.quantity,
                }
                for q in items
            ]
        }
        answer = self.post(route, payload).json()
        updated = {str(item.get("id")): item for item in answer.get("update") or ()}
        results = []
        for quantity in items:
            item = updated.get(quantity.variant_ref) or {}
            if item.get("error"):
                raise ChannelPayloadError(
                    f"WooCommerce refused {quantity.variant_ref}: {item['error']}"
                )
            results.append(
                StockWriteResult(
                    quantity,
                    applied=bool(item),
                    channel_quantity=item.get("stock_quantity"),
                )
            )
        return results

    def test_connection(self):
        """Read one product: it proves the URL and the read permission."""
        response = self.get("products", params={"per_page": 1})
        total = response.headers.get("X-WP-Total", "?")
        return f"{self.config['base_url']} ({total} products)"

    # Webhooks

    def topic_flow(self, topic):
        """Flows follow the resource: `order.updated` also carries refunds."""
        return WOOCOMMERCE_RESOURCE_FLOWS.get(topic.split(".", 1)[0])

    def is_webhook_ping(self, headers, body):
        """WooCommerce's unsigned, form-encoded `webhook_id=N` set-up ping."""
        if header(headers, "X-WC-Webhook-Signature"):
            return False
        fields = parse_qs(body.decode("latin-1"), strict_parsing=False)
        return list(fields) == ["webhook_id"] and fields["webhook_id"][0].isdigit()

    def expected_signature(self, headers, body, secret):
        return sign_base64(secret, body)

    def received_signature(self, headers):
        return header(headers, "X-WC-Webhook-Signature")

    def parse_webhook(self, headers, body):
        """Dedupe on webhook id + resource id + the resource's modification time.

        WooCommerce's delivery id is a hash of the webhook id and the second it
        was sent: two changes within one second would share it.
        """
        topic = require_header(headers, "X-WC-Webhook-Topic")
        webhook_id = require_header(headers, "X-WC-Webhook-ID")
        delivery_id = require_header(headers, "X-WC-Webhook-Delivery-ID")
        payload = load_json_object(body)
        resource_ref = str(payload["id"]) if payload.get("id") is not None else None
        modified = payload.get("date_modified_gmt")
        version = modified or f"delivery-{delivery_id}"
        return WebhookDelivery(
            topic=topic,
            dedupe_key=f"{webhook_id}:{resource_ref}:{version}",
            delivery_id=delivery_id,
            flow=self.topic_flow(topic),
            resource_ref=resource_ref,
            channel_timestamp=parse_timestamp(modified),
            headers=pick_headers(headers, WOOCOMMERCE_KEPT_HEADERS),
            payload=payload,
        )

    def parse_order(self, payload):
        """Override of `ChannelAdapter`: see `orders_woocommerce`."""
        return parse_woocommerce_order(payload)


def woo_prices(item):
    """regular_price and sale_price of a variant or `PriceUpdate`: the
    compare-at price is WooCommerce's regular price with the price on sale;
    without one, sale_price "" clears a sale that Odoo no longer has."""
    if item.compare_at_price is not None:
        return {
            "regular_price": money_text(item.compare_at_price),
            "sale_price": money_text(item.price),
        }
    return {"regular_price": money_text(item.price), "sale_price": ""}


def woo_product(product, unit="kg"):
    """The products/batch object of a `catalogue.ProductData`: a simple
    product (no options) or a variable product's parent; weights in the
    store's `unit`."""
    values = {
        "name": product.title,
        "status": "publish" if product.active else "draft",
    }
    if product.description_html is not None:
        values["description"] = product.description_html
    if product.product_ref:
        values["id"] = int(product.product_ref)
    if not product.options:
        variant = product.variants[0]
        return {**values, "type": "simple", **_woo_variant_fields(variant, unit)}
    return {
        **values,
        "type": "variable",
        "attributes": [
            {"name": name, "options": list(options), "variation": True, "visible": True}
            for name, options in product.options
        ],
    }


def woo_variation(variant, unit="kg"):
    """The variations/batch object of a `catalogue.VariantData`."""
    values = {
        **_woo_variant_fields(variant, unit),
        "attributes": [{"name": n, "option": v} for n, v in variant.options],
    }
    if variant.variant_ref:
        values["id"] = int(variant.variant_ref)
    return values


def _woo_variant_fields(variant, unit):
    """SKU, stock tracking, prices and the weight converted to the store's
    `unit`; a weight that cannot be converted is left out, never sent in a
    unit the store would read as another."""
    values = {
        "sku": variant.sku,
        "manage_stock": variant.tracked,
        **woo_prices(variant),
    }
    weight = convert_weight(variant.weight, variant.weight_unit, unit)
    if weight is not None:
        values["weight"] = money_text(weight)
    return values


def _price_route(update):
    if update.product_ref and update.product_ref != update.variant_ref:
        return f"products/{update.product_ref}/variations/batch"
    return "products/batch"


def _batch_answer(item, route):
    """One object of a batch answer, or the ChannelPayloadError it carries."""
    if not isinstance(item, dict):
        return ChannelPayloadError(f"WooCommerce answered nothing for it ({route}).")
    error = item.get("error")
    if error:
        message = error.get("message") if isinstance(error, dict) else error
        return ChannelPayloadError(f"WooCommerce refused it: {message}")
    if not item.get("id"):
        return ChannelPayloadError(f"WooCommerce answered no id ({route}).")
    return item


def _by_collection(quantities):
    """{route: [StockQuantity]}: variations live under their parent product
    (`products/<parent>/variations`), simple products under `products`."""
    groups = {}
    for quantity in quantities:
        groups.setdefault(_collection(quantity), []).append(quantity)
    return groups


def _collection(quantity):
    parent = quantity.product_ref
    if parent and parent != quantity.variant_ref:
        return f"products/{parent}/variations"
    return "products"


def _gmt(moment):
    """A datetime as WooCommerce's GMT filter value (with `dates_are_gmt`)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _variant(item, parent):
    title = item.get("name") or ""
    if parent and not title:
        options = ", ".join(a.get("option", "") for a in item.get("attributes") or ())
        title = f"{parent.get('name', '')} - {options}".strip(" -")
    return ChannelVariant(
        variant_ref=str(item["id"]),
        sku=(item.get("sku") or "").strip() or None,
        title=title,
        product_ref=str(parent["id"]) if parent else None,
    )


def _parse_listed_order(item):
    """The canonical order of one order of a listed page, or an
    `UnreadableOrder` saying why it could not be parsed."""
    try:
        return parse_woocommerce_order(item)
    except ChannelPayloadError as exc:
        ref = item.get("id") if isinstance(item, dict) else None
        ref = str(ref) if ref not in (None, "") else None
        return UnreadableOrder(external_ref=ref, name=ref or "?", error=str(exc))
