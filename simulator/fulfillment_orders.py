"""Shopify fulfillment orders of a simulated order: where each line ships
from, holds, moves, fulfillments made from them, tracking updates and
cancellations.

An order starts with one fulfillment order (its id is the order's id, its
line items' ids the order lines' ids) assigned to location 1001. Tests and
the admin API split it (`split`), hold it (`hold`), and the client moves it
(`move`), fulfils it (`fulfill`), updates tracking and cancels fulfillments.
A fulfillment-order line item is {"id", "line_id", "quantity", "fulfilled"}.
"""

FULFILLABLE = ("OPEN", "IN_PROGRESS")


class FulfillmentError(ValueError):
    """A request Shopify answers with a userError (the message is Shopify's)."""


class FulfillmentOrderBook:
    """Fulfillment orders of the orders of a `SimulatorState`."""

    def __init__(self, state, book):
        self.state = state
        self.book = book

    # === READ ===

    def of(self, order):
        """The order's fulfillment orders (made on first use)."""
        with self.state.lock:
            if "fulfillment_orders" not in order:
                order["fulfillment_orders"] = [
                    {
                        "id": order["id"],
                        "location": "1001",
                        "status": "OPEN",
                        "holds": [],
                        "items": [
                            {
                                "id": line["id"],
                                "line_id": line["id"],
                                "quantity": line["quantity"],
                                "fulfilled": line["fulfilled"],
                            }
                            for line in order["lines"]
                        ],
                    }
                ]
            return order["fulfillment_orders"]

    def find(self, fo_id):
        """(order, fulfillment order) of a fulfillment order id, or (None, None)."""
        for order in self.state.shopify_orders.values():
            if order["id"] == fo_id or "fulfillment_orders" in order:
                for fo in self.of(order):
                    if fo["id"] == fo_id:
                        return order, fo
        return None, None

    def remaining(self, order, item):
        """What an item still has to fulfil (refunds taken off)."""
        line = _line(order, item["line_id"])
        return max(
            0,
            min(
                item["quantity"] - item["fulfilled"],
                line["quantity"] - line["fulfilled"] - line["refunded"],
            ),
        )

    def status(self, order, fo):
        """OPEN, IN_PROGRESS, CLOSED, or the stored ON_HOLD / SCHEDULED..."""
        if fo["status"] not in FULFILLABLE:
            return fo["status"]
        if not any(self.remaining(order, item) for item in fo["items"]):
            return "CLOSED"
        if any(item["fulfilled"] for item in fo["items"]):
            return "IN_PROGRESS"
        return "OPEN"

    # === MERCHANT (tests, admin API) ===

    def split(self, order, location, quantities, status="OPEN"):
        """A new fulfillment order at `location` taking {line id or SKU:
        quantity} off the order's open fulfillment orders."""
        with self.state.lock:
            items = []
            for ref, quantity in quantities.items():
                line = next(
                    line for line in order["lines"] if ref in (line["id"], line["sku"])
                )
                left = quantity
                for fo in self.of(order):
                    for item in fo["items"]:
                        if item["line_id"] != line["id"] or left <= 0:
                            continue
                        take = min(left, item["quantity"] - item["fulfilled"])
                        item["quantity"] -= take
                        left -= take
                if left:
                    raise ValueError(f"Cannot split {quantity} of {ref}")
                items.append(self._item(line["id"], quantity))
            fo = self._new(location, items, status)
            order["fulfillment_orders"].append(fo)
            self._drop_empty(order)
            self.book.touch(order)
            return fo

    def hold(self, fo, reason="OTHER", notes=""):
        with self.state.lock:
            fo["status"] = "ON_HOLD"
            fo["holds"] = [{"reason": reason, "reasonNotes": notes}]
            return fo

    def release(self, fo):
        with self.state.lock:
            fo["status"] = "OPEN"
            fo["holds"] = []
            return fo

    # === CLIENT (mutations) ===

    def move(self, fo_id, location, wanted=None):
        """fulfillmentOrderMove: {item id: quantity} (None: all that remains)
        to `location`; the fulfillment order itself when all of it moves and
        none of it was fulfilled. Return (order, moved, original)."""
        with self.state.lock:
            order, fo = self.find(fo_id)
            if fo is None:
                raise FulfillmentError("Fulfillment order does not exist.")
            if location not in self.state.locations:
                raise FulfillmentError("Location does not exist.")
            if self.status(order, fo) not in FULFILLABLE:
                raise FulfillmentError(
                    "Cannot move a fulfillment order with status "
                    f"{self.status(order, fo)}."
                )
            if wanted is None:
                wanted = {i["id"]: self.remaining(order, i) for i in fo["items"]}
            items = {item["id"]: item for item in fo["items"]}
            for item_id, quantity in wanted.items():
                if item_id not in items or quantity > self.remaining(
                    order, items[item_id]
                ):
                    raise FulfillmentError("Invalid fulfillment order line item.")
            whole = not any(i["fulfilled"] for i in fo["items"]) and all(
                wanted.get(i["id"], 0) == self.remaining(order, i) for i in fo["items"]
            )
            if whole:
                fo["location"] = location
                self.book.touch(order)
                return order, fo, fo
            moved = self._new(
                location,
                [
                    self._item(items[item_id]["line_id"], quantity)
                    for item_id, quantity in wanted.items()
                    if quantity
                ],
                "OPEN",
            )
            for item_id, quantity in wanted.items():
                items[item_id]["quantity"] -= quantity
            order["fulfillment_orders"].append(moved)
            self.book.touch(order)
            return order, moved, fo

    def fulfill(self, groups, tracking, notify_customer):
        """fulfillmentCreate: [(fulfillment order id, {item id: quantity} or
        None for all)], all at one location. Return (order, fulfillment)."""
        with self.state.lock:
            found = [self.find(fo_id) for fo_id, _wanted in groups]
            orders = {id(order) for order, _fo in found}
            if not found or None in (fo for _order, fo in found) or len(orders) > 1:
                raise FulfillmentError("Fulfillment order does not exist.")
            order = found[0][0]
            if len({fo["location"] for _order, fo in found}) > 1:
                raise FulfillmentError(
                    "All fulfillment orders must be assigned to the same location."
                )
            taken = self._taken(order, found, groups)
            lines = {}
            for item, quantity in taken:
                item["fulfilled"] += quantity
                lines[item["line_id"]] = lines.get(item["line_id"], 0) + quantity
            record = self.book.fulfill(
                order,
                lines,
                location=found[0][1]["location"],
                tracking=tracking,
                notify_customer=notify_customer,
            )
            record["items"] = {item["id"]: quantity for item, quantity in taken}
            return order, record

    def _taken(self, order, found, groups):
        taken = []
        for (_order, fo), (_fo_id, asked) in zip(found, groups, strict=True):
            status = self.status(order, fo)
            if status not in FULFILLABLE:
                raise FulfillmentError(
                    f"The fulfillment order's status ({status}) does not "
                    "allow a fulfillment."
                )
            items = {item["id"]: item for item in fo["items"]}
            wanted = asked
            if asked is None:
                wanted = {i["id"]: self.remaining(order, i) for i in fo["items"]}
            for item_id, quantity in wanted.items():
                item = items.get(item_id)
                if item is None or quantity > self.remaining(order, item):
                    raise FulfillmentError(
                        "Invalid fulfillment order line item quantity requested."
                    )
                if quantity:
                    taken.append((item, quantity))
        if not taken:
            raise FulfillmentError("Fulfillment order line items are empty.")
        return taken

    def update_tracking(self, fulfillment_id, tracking, notify_customer):
        """fulfillmentTrackingInfoUpdate. Return (order, fulfillment)."""
        with self.state.lock:
            order, record = self._fulfillment(fulfillment_id)
            if record["status"] != "SUCCESS":
                raise FulfillmentError("Fulfillment cannot be updated.")
            record["tracking"] = dict(tracking)
            record.setdefault("tracking_updates", []).append(
                {"tracking": dict(tracking), "notify_customer": bool(notify_customer)}
            )
            self.book.touch(order)
            return order, record

    def cancel(self, fulfillment_id):
        """fulfillmentCancel: the quantities are to fulfil again."""
        with self.state.lock:
            order, record = self._fulfillment(fulfillment_id)
            if record["status"] != "SUCCESS":
                raise FulfillmentError("Fulfillment cannot be cancelled.")
            record["status"] = "CANCELLED"
            items = {i["id"]: i for fo in self.of(order) for i in fo["items"]}
            for item_id, quantity in record.get("items", {}).items():
                items[item_id]["fulfilled"] -= quantity
            for line_id, quantity in record["lines"].items():
                _line(order, line_id)["fulfilled"] -= quantity
            self.book.touch(order)
            return order, record

    # === HELPERS ===

    def _fulfillment(self, fulfillment_id):
        for order in self.state.shopify_orders.values():
            for record in order["fulfillments"]:
                if record["id"] == fulfillment_id:
                    return order, record
        raise FulfillmentError("Fulfillment does not exist.")

    def _item(self, line_id, quantity):
        return {
            "id": str(self.state.new_id("fulfillment_order_line", 88_000_000)),
            "line_id": line_id,
            "quantity": quantity,
            "fulfilled": 0,
        }

    def _new(self, location, items, status):
        if location not in self.state.locations:
            raise ValueError(f"Unknown location {location}")
        return {
            "id": str(self.state.new_id("fulfillment_order", 77_000_000)),
            "location": location,
            "status": status,
            "holds": [],
            "items": items,
        }

    @staticmethod
    def _drop_empty(order):
        for fo in order["fulfillment_orders"]:
            fo["items"] = [i for i in fo["items"] if i["quantity"] or i["fulfilled"]]
        order["fulfillment_orders"] = [
            fo for fo in order["fulfillment_orders"] if fo["items"]
        ]


def _line(order, line_id):
    return next(line for line in order["lines"] if line["id"] == line_id)
