"""What the simulated shop and store hold, and what clients did to them.

Everything is deterministic from the seed; the state is guarded by one lock
because the HTTP server is threaded.
"""

import random
import threading
from collections import Counter
from decimal import Decimal

from .shopify import gid, number


class SimulatorState:
    """Catalogue, inventory, orders, webhooks and the record of API calls."""

    def __init__(self, seed=42, shop_domain="demo-shop.myshopify.com"):
        self.random = random.Random(seed)
        self.lock = threading.RLock()
        self.shop_domain = shop_domain
        self.shop_name = "Simulated shop"
        self.currency = "USD"
        self.locations = {"1001": "Main warehouse", "1002": "Pop-up store"}
        self.variants = {}  # variant id -> {"sku", "inventory_item", "product"}
        self.levels = {}  # (inventory item id, location id) -> available
        self.woo_products = {}  # id -> product dict (stock_quantity, sku, parent)
        self.orders_graphql = {}  # order id -> GraphQL order node
        self.woo_orders = {}  # order id -> REST order dict
        self.shopify_webhooks = {}  # gid -> {"id", "topic", "uri"}
        self.woo_webhooks = {}  # id -> webhook dict
        self.idempotency = {}  # key -> (input, result)
        self.mutations = []  # every applied inventorySetQuantities input
        self.calls = Counter()
        self.cost = Counter()
        self.faults = []  # [(api, kind, remaining count)]
        self._next_id = 5000

    # === CALL RECORD AND FAULTS ===

    def record_call(self, name, cost=0):
        with self.lock:
            self.calls[name] += 1
            self.cost[name] += cost

    def inject(self, api, kind, count=1):
        """Make the next `count` requests of `api` fail with `kind`
        ("throttled", "429", "500", or "drop" for webhook deliveries)."""
        with self.lock:
            self.faults.append([api, kind, count])

    def take_fault(self, api):
        with self.lock:
            for fault in self.faults:
                if fault[0] == api and fault[2] > 0:
                    fault[2] -= 1
                    return fault[1]
        return None

    def new_id(self):
        with self.lock:
            self._next_id += 1
            return self._next_id

    # === CATALOGUE AND INVENTORY ===

    def seed_catalogue(self, count, quantity=0):
        """`count` variants on both channels, SKUs SIM-000001..., levels set."""
        with self.lock:
            for index in range(1, count + 1):
                variant = str(100000 + index)
                item = str(900000 + index)
                self.variants[variant] = {
                    "sku": f"SIM-{index:06d}",
                    "inventory_item": item,
                    "product": str(10000 + (index - 1) // 3),
                }
                for location in self.locations:
                    self.levels[(item, location)] = quantity
                self.woo_products[variant] = {
                    "id": int(variant),
                    "sku": f"SIM-{index:06d}",
                    "parent_id": 0,
                    "manage_stock": True,
                    "stock_quantity": quantity,
                    "stock_status": "instock" if quantity else "outofstock",
                }
        return list(self.variants)

    def node(self, node_id):
        kind, ref = node_id.split("/")[-2], number(node_id)
        if kind != "InventoryItem":
            return None
        with self.lock:
            known = any(item == ref for item, _loc in self.levels)
        if not known:
            return None

        def inventory_level(_info, locationId, **_defaults):  # noqa: N803
            location = number(locationId)
            with self.lock:
                quantity = self.levels.get((ref, location))
            if quantity is None:
                return None
            return {
                "quantities": lambda _info, names: [
                    {"name": name, "quantity": quantity} for name in names
                ]
            }

        return {
            "__typename": "InventoryItem",
            "id": gid("InventoryItem", ref),
            "inventoryLevel": inventory_level,
        }

    def set_quantities(self, key, data):
        """inventorySetQuantities: CAS on changeFromQuantity, idempotent key.

        All or nothing: one stale item fails the whole call, as Shopify does.
        """
        with self.lock:
            if key in self.idempotency:
                previous_input, result = self.idempotency[key]
                if previous_input != data:
                    return _user_errors(
                        "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                        "The key was used with other parameters.",
                    )
                return result
            quantities = data["quantities"]
            if len(quantities) > 250:
                return _user_errors(
                    "INVALID_QUANTITY_TOO_HIGH", "At most 250 quantities per call."
                )
            errors = self._check_quantities(quantities)
            if errors:
                return {"inventoryAdjustmentGroup": None, "userErrors": errors}
            changes = []
            for item in quantities:
                level_key = (
                    number(item["inventoryItemId"]),
                    number(item["locationId"]),
                )
                before = self.levels[level_key]
                self.levels[level_key] = item["quantity"]
                changes.append(
                    {
                        "name": data["name"],
                        "delta": item["quantity"] - before,
                        "quantityAfterChange": item["quantity"],
                        "item": {"id": item["inventoryItemId"]},
                        "location": {"id": item["locationId"]},
                    }
                )
            self.mutations.append(data)
            result = {
                "inventoryAdjustmentGroup": {
                    "reason": data.get("reason"),
                    "changes": changes,
                },
                "userErrors": [],
            }
            self.idempotency[key] = (data, result)
            return result

    def _check_quantities(self, quantities):
        errors = []
        for index, item in enumerate(quantities):
            level_key = (number(item["inventoryItemId"]), number(item["locationId"]))
            if level_key not in self.levels:
                errors.append(
                    {
                        "code": "ITEM_NOT_STOCKED_AT_LOCATION",
                        "field": ["input", "quantities", str(index)],
                        "message": "The item is not stocked at the location.",
                    }
                )
                continue
            expected = item.get("changeFromQuantity")
            if expected is not None and expected != self.levels[level_key]:
                errors.append(
                    {
                        "code": "CHANGE_FROM_QUANTITY_STALE",
                        "field": [
                            "input",
                            "quantities",
                            str(index),
                            "changeFromQuantity",
                        ],
                        "message": "The quantity changed since you read it.",
                    }
                )
        return errors

    def sell_on_channel(self, variant, location, quantity):
        """A sale made on the channel itself: its level drops behind our back."""
        item = self.variants[variant]["inventory_item"]
        with self.lock:
            self.levels[(item, location)] -= quantity

    def woo_batch(self, items):
        """products/batch update: set stock of each known product."""
        updated = []
        with self.lock:
            for item in items:
                product = self.woo_products.get(str(item.get("id")))
                if not product:
                    updated.append(
                        {
                            "id": item.get("id"),
                            "error": {
                                "code": "woocommerce_rest_product_invalid_id",
                                "message": "Invalid ID.",
                                "data": {"status": 400},
                            },
                        }
                    )
                    continue
                if "stock_quantity" in item:
                    product["stock_quantity"] = int(item["stock_quantity"])
                    product["manage_stock"] = bool(item.get("manage_stock", True))
                updated.append(dict(product))
        return updated

    # === ORDERS ===

    def add_order(self, graphql_node, rest_payload=None, woo_payload=None):
        """Store an order in the shapes each API returns it."""
        with self.lock:
            if graphql_node:
                self.orders_graphql[number(graphql_node["id"])] = graphql_node
            if woo_payload:
                self.woo_orders[str(woo_payload["id"])] = woo_payload
        return rest_payload

    def orders_page(self, first, after, query):
        since = None
        if query and "updated_at:>=" in query:
            since = query.split("updated_at:>=", 1)[1].strip("'\" ")
        with self.lock:
            nodes = sorted(self.orders_graphql.values(), key=lambda n: n["updatedAt"])
        if since:
            nodes = [n for n in nodes if n["updatedAt"] >= since]
        start = int(after or 0)
        page = nodes[start : start + first]
        has_next = start + first < len(nodes)
        return {
            "nodes": page,
            "pageInfo": {
                "hasNextPage": has_next,
                "endCursor": str(start + first) if has_next else None,
            },
        }

    # === WEBHOOKS ===

    def create_shopify_webhook(self, topic, subscription):
        with self.lock:
            webhook_id = gid("WebhookSubscription", self.new_id())
            node = {"id": webhook_id, "topic": topic, "uri": subscription.get("uri")}
            self.shopify_webhooks[webhook_id] = node
        return {"webhookSubscription": node, "userErrors": []}


def _user_errors(code, message):
    return {
        "inventoryAdjustmentGroup": None,
        "userErrors": [{"code": code, "field": ["input"], "message": message}],
    }


def money(amount):
    return str(Decimal(amount).quantize(Decimal("0.01")))
