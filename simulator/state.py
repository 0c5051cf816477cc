"""What the simulated shop and store hold, and what clients did to them.

One `SimulatorState` backs both channels. Ids, names, prices and uuids come
from one `random.Random(seed)` and counters, so a seed replays the same
scenario. The HTTP server is threaded: every change happens under `lock`.

Numbering: a catalogue variant has the same number on both channels (Shopify
ProductVariant N is WooCommerce simple product or variation N) so a test can
bind one reference to both; a multi-variant product is a WooCommerce variable
product numbered like the Shopify product, and its variations are only
reachable under /products/<parent>/variations, as on a real store. Orders,
line items and customers on Shopify use ids above 2**53, as real payloads do.
"""

import random
import threading
from collections import Counter
from decimal import Decimal

from .faults import FaultBook
from .util import cents, number, utc_now

ADJECTIVES = ("Classic", "Organic", "Vintage", "Urban", "Alpine", "Coastal", "Bold")
NOUNS = ("Mug", "T-shirt", "Backpack", "Candle", "Notebook", "Scarf", "Lamp")
SIZES = ("S", "M", "L")
SHOPIFY_BIG_ID = 6_100_000_000_000_000_000


class SimulatorState:
    """Catalogue, inventory, orders, webhooks and the record of API calls."""

    def __init__(
        self,
        seed=42,
        shop_domain="demo-shop.myshopify.com",
        clock=None,
        wall_clock=utc_now,
    ):
        self.seed = seed
        self.random = random.Random(seed)
        self.lock = threading.RLock()
        self.wall_clock = wall_clock
        self.shop_domain = shop_domain
        # Shopify revokes the app's access token when the merchant uninstalls.
        self.app_installed = True
        self.shop_name = "Simulated shop"
        self.currency = "USD"
        self.weight_unit = "KILOGRAMS"  # the shop's WeightUnit
        # WooCommerce settings (GET settings/<group>/<id>): the store's own.
        self.woo_settings = {
            "woocommerce_currency": "USD",
            "woocommerce_weight_unit": "kg",
        }
        # Asynchronous productSet operations, and how many polls see each
        # one ACTIVE before it is COMPLETE.
        self.product_operations = {}
        self.product_operation_polls = 1
        # Staged uploads (token -> upload) and the URL they are reached at.
        self.staged_uploads = {}
        self.max_image_bytes = 20 * 1024 * 1024  # Shopify's limit on an image
        self.base_url = ""
        self.locations = {
            "1001": {"id": "1001", "name": "Main warehouse"},
            "1002": {"id": "1002", "name": "Pop-up store"},
        }
        self.products = {}  # Shopify product id -> product
        self.variants = {}  # variant id -> variant (sku, inventory_item, ...)
        self.items = {}  # inventory item id -> variant id
        self.levels = {}  # (inventory item id, location id) -> available
        self.committed = Counter()  # (item, location) -> committed (sold, unshipped)
        self.level_history = []  # every change of a level, by anyone
        self.woo_products = {}  # WooCommerce id -> product or variation
        self.shopify_orders = {}  # order id -> canonical order (see orders.py)
        self.woo_orders = {}
        self.customers = {"shopify": [], "woocommerce": []}
        self.shopify_webhooks = {}  # gid -> subscription node
        self.woo_webhooks = {}  # id -> webhook
        self.idempotency = {}  # (mutation, key) -> (input, result)
        self.idempotency_keys = []  # every key received, in order
        self.mutations = []  # applied inventorySetQuantities inputs
        self.product_writes = []  # (mutation, product id, variants written)
        self.fulfillments = []
        self.payouts = []
        self.balance_transactions = []
        self.stripe_payouts = []
        self.stripe_balance = []  # balance transactions (see stripe_api.py)
        self.disputes = {}  # dispute id -> Shopify Payments dispute (REST shape)
        self.calls = Counter()
        self.cost = Counter()
        self.faults = FaultBook(clock or (lambda: 0.0))
        self._counters = Counter()

    # === IDS AND RECORDS ===

    def new_id(self, kind="default", start=5000):
        """Next number of a sequence (deterministic: counters, not clocks)."""
        with self.lock:
            self._counters[kind] += 1
            return start + self._counters[kind]

    def new_big_id(self):
        """Shopify-sized ids (beyond 2**53) for orders, lines, customers...,
        from one sequence so no two objects share an id."""
        return SHOPIFY_BIG_ID + self.new_id("big", 0) * 7919

    def record_call(self, name, cost=0):
        """Count a call of kind `name` and the points it actually cost (what
        the bucket kept: 0 for a throttled or refused query)."""
        with self.lock:
            self.calls[name] += 1
            self.cost[name] += cost

    def inject(self, api, kind, count=1, seconds=None, **options):
        """Arm a fault (see faults.py): `inject("shopify", "throttled", 3)`."""
        return self.faults.add(api, kind, count, seconds, **options)

    def take_fault(self, api):
        return self.faults.take(api)

    # === CATALOGUE ===

    def seed_catalogue(self, count, quantity=0, max_variants=1):
        """`count` more variants on both channels, SKUs SIM-000001, ...

        Products get 1 to `max_variants` variants (a WooCommerce simple or
        variable product; the default, 1, makes every variant a simple
        product); every variant is stocked with `quantity` at each Shopify
        location and on WooCommerce. Returns the new variant ids.
        """
        created = []
        with self.lock:
            while len(created) < count:
                size = min(self.random.randint(1, max_variants), count - len(created))
                created += self._seed_product(size, quantity)
        return created

    def _seed_product(self, size, quantity):
        product_id = str(self.new_id("product", 10000))
        title = f"{self.random.choice(ADJECTIVES)} {self.random.choice(NOUNS)}"
        now = self.wall_clock()
        product = {
            "id": product_id,
            "title": title,
            "handle": f"{title.lower().replace(' ', '-')}-{product_id}",
            "status": "ACTIVE",
            "variant_ids": [],
            "created_at": now,
            "updated_at": now,
        }
        self.products[product_id] = product
        price = cents(Decimal(self.random.randint(500, 12000)) / 100)
        for position in range(size):
            variant = self._seed_variant(product, position, size, price, quantity)
            product["variant_ids"].append(variant["id"])
        if size > 1:
            self.woo_products[product_id] = woo_parent(product, self.variants)
        return list(product["variant_ids"])

    def _seed_variant(self, product, position, size, price, quantity):
        index = len(self.variants) + 1
        variant_id, item_id = str(100000 + index), str(900000 + index)
        variant = {
            "id": variant_id,
            "sku": f"SIM-{index:06d}",
            "title": SIZES[position % 3] if size > 1 else "Default Title",
            "price": price,
            "inventory_item": item_id,
            "product": product["id"],
            "woo_id": variant_id,
            "woo_parent_id": product["id"] if size > 1 else None,
            "created_at": product["created_at"],
            "updated_at": product["updated_at"],
        }
        self.variants[variant_id] = variant
        self.items[item_id] = variant_id
        for location in self.locations:
            self.levels[(item_id, location)] = quantity
        self.woo_products[variant_id] = woo_item(product, variant, quantity)
        return variant

    def variant_by_sku(self, sku):
        return next((v for v in self.variants.values() if v["sku"] == sku), None)

    # === INVENTORY ===

    def quantity(self, item, location, name):
        """A named quantity of a level, None when the item is not stocked there."""
        key = (item, location)
        if key not in self.levels:
            return None
        available, committed = self.levels[key], self.committed[key]
        values = {"available": available, "committed": committed}
        values["on_hand"] = available + committed
        return values.get(name, 0)

    def set_level(self, item, location, name, value, source):
        """Set `available` or `on_hand` (the other follows); returns the delta."""
        key = (item, location)
        before = self.quantity(item, location, name)
        delta = value - before
        self.levels[key] += delta
        self.level_history.append(
            {
                "inventory_item": item,
                "location": location,
                "name": name,
                "before": before,
                "after": value,
                "delta": delta,
                "source": source,
                "at": self.wall_clock(),
            }
        )
        self._touch_variant(item)
        return delta

    def _touch_variant(self, item):
        variant = self.variants.get(self.items.get(item))
        if variant:
            variant["updated_at"] = self.wall_clock()

    def sell_on_channel(self, variant, location, quantity):
        """A sale made on the channel itself: available drops behind our back."""
        item = self.variants[variant]["inventory_item"]
        with self.lock:
            self.committed[(item, location)] += quantity
            self.set_level(
                item,
                location,
                "available",
                self.levels[(item, location)] - quantity,
                "channel sale",
            )

    def set_quantities(self, key, data):
        """inventorySetQuantities with compare-and-set and an idempotency key.

        All or nothing: one invalid or stale quantity fails the whole call and
        nothing is applied. The same key with the same input replays the first
        answer; with another input it is IDEMPOTENCY_KEY_PARAMETER_MISMATCH.
        """
        with self.lock:
            self.idempotency_keys.append(key)
            remembered = self.idempotency.get(("inventorySetQuantities", key))
            if remembered:
                previous_input, result = remembered
                if previous_input != data:
                    return mismatch_result()
                return result
            errors = self._check_quantities(data)
            result = (
                {"inventoryAdjustmentGroup": None, "userErrors": errors}
                if errors
                else self._apply_quantities(data)
            )
            self.idempotency[("inventorySetQuantities", key)] = (data, result)
            return result

    def _check_quantities(self, data):
        if data["name"] not in ("available", "on_hand"):
            return [
                user_error(
                    "INVALID_NAME",
                    ["input", "name"],
                    "The quantity name must be either 'available' or 'on_hand'.",
                )
            ]
        if data["reason"] not in INVENTORY_REASONS:
            return [
                user_error(
                    "INVALID_REASON",
                    ["input", "reason"],
                    "The specified reason is invalid.",
                )
            ]
        errors, seen = [], set()
        for index, item in enumerate(data["quantities"]):
            error = self._check_quantity(data["name"], index, item, seen)
            if error:
                errors.append(error)
        return errors

    def _check_quantity(self, name, index, item, seen):
        path = ["input", "quantities", str(index)]
        key = (number(item["inventoryItemId"]), number(item["locationId"]))
        checks = (
            (key in seen, "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", path),
            (key[0] not in self.items, "INVALID_INVENTORY_ITEM", path),
            (key[1] not in self.locations, "INVALID_LOCATION", path),
            (key not in self.levels, "ITEM_NOT_STOCKED_AT_LOCATION", path),
            (item["quantity"] > 1_000_000_000, "INVALID_QUANTITY_TOO_HIGH", path),
            (item["quantity"] < -1_000_000_000, "INVALID_QUANTITY_TOO_LOW", path),
            (
                name == "on_hand" and item["quantity"] < 0,
                "INVALID_QUANTITY_NEGATIVE",
                path,
            ),
        )
        seen.add(key)
        for failed, code, field in checks:
            if failed:
                return user_error(code, field, USER_ERROR_MESSAGES[code])
        expected = item["changeFromQuantity"]
        if expected is not None and expected != self.quantity(*key, name):
            return user_error(
                "CHANGE_FROM_QUANTITY_STALE",
                [*path, "changeFromQuantity"],
                USER_ERROR_MESSAGES["CHANGE_FROM_QUANTITY_STALE"],
            )
        return None

    def _apply_quantities(self, data):
        changes = []
        for item in data["quantities"]:
            ref, location = number(item["inventoryItemId"]), number(item["locationId"])
            delta = self.set_level(
                ref, location, data["name"], item["quantity"], "inventorySetQuantities"
            )
            changes.append(
                {
                    "name": data["name"],
                    "delta": delta,
                    "quantityAfterChange": item["quantity"],
                    "item": {"id": item["inventoryItemId"]},
                    "location": {"id": item["locationId"]},
                }
            )
        self.mutations.append(data)
        group_id = self.new_id("adjustment_group", 70000)
        return {
            "inventoryAdjustmentGroup": {
                "id": f"gid://shopify/InventoryAdjustmentGroup/{group_id}",
                "reason": data["reason"],
                "referenceDocumentUri": data.get("referenceDocumentUri"),
                "createdAt": self.wall_clock(),
                "changes": changes,
            },
            "userErrors": [],
        }


INVENTORY_REASONS = (
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "movement_updated",
    "movement_received",
    "movement_canceled",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
)
USER_ERROR_MESSAGES = {
    "CHANGE_FROM_QUANTITY_STALE": (
        "The changeFromQuantity value does not match persisted value."
    ),
    "IDEMPOTENCY_KEY_PARAMETER_MISMATCH": (
        "The same idempotency key cannot be used with different operation parameters."
    ),
    "INVALID_INVENTORY_ITEM": "The specified inventory item could not be found.",
    "INVALID_LOCATION": "The specified location could not be found.",
    "INVALID_QUANTITY_NEGATIVE": "The quantity can't be negative.",
    "INVALID_QUANTITY_TOO_HIGH": (
        "The total quantity can't be higher than 1,000,000,000."
    ),
    "INVALID_QUANTITY_TOO_LOW": (
        "The total quantity can't be lower than -1,000,000,000."
    ),
    "ITEM_NOT_STOCKED_AT_LOCATION": (
        "The specified inventory item is not stocked at the location."
    ),
    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR": (
        "The combination of inventoryItemId and locationId must be unique."
    ),
}


def user_error(code, field, message):
    return {"code": code, "field": field, "message": message}


def mismatch_result():
    code = "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    return {
        "inventoryAdjustmentGroup": None,
        "userErrors": [user_error(code, None, USER_ERROR_MESSAGES[code])],
    }


def woo_item(product, variant, quantity):
    """A WooCommerce simple product or variation (live fields only)."""
    is_variation = variant["woo_parent_id"] is not None
    return {
        "id": int(variant["woo_id"]),
        "name": product["title"] + (f" - {variant['title']}" if is_variation else ""),
        "slug": product["handle"],
        "type": "variation" if is_variation else "simple",
        "parent_id": int(variant["woo_parent_id"] or 0),
        "sku": variant["sku"],
        "price": str(variant["price"]),
        "regular_price": str(variant["price"]),
        "manage_stock": True,
        "stock_quantity": quantity,
        "stock_status": "instock" if quantity > 0 else "outofstock",
        "attributes": (
            [{"id": 0, "name": "Size", "option": variant["title"]}]
            if is_variation
            else []
        ),
        "variations": [],
        "date_created": product["created_at"],
        "date_modified": product["updated_at"],
    }


def woo_parent(product, variants):
    """The WooCommerce variable product above several variations."""
    options = [variants[v]["title"] for v in product["variant_ids"]]
    return {
        "id": int(product["id"]),
        "name": product["title"],
        "slug": product["handle"],
        "type": "variable",
        "parent_id": 0,
        "sku": f"SIM-P{product['id']}",
        "price": str(variants[product["variant_ids"][0]]["price"]),
        "regular_price": "",
        "manage_stock": False,
        "stock_quantity": None,
        "stock_status": "instock",
        "attributes": [
            {"id": 0, "name": "Size", "variation": True, "options": options}
        ],
        "variations": [int(v) for v in product["variant_ids"]],
        "date_created": product["created_at"],
        "date_modified": product["updated_at"],
    }
