"""Orders as the simulator keeps them, one canonical record per order.

A canonical order holds its amounts as `Decimal` in the presentment (buyer)
currency; the shop-currency side is derived by converting every component
(unit price, allocation, tax, shipping) and adding the converted components,
so each currency is consistent on its own:

    subtotal = line items - discounts
    total    = subtotal + shipping + tax (when taxes are not included)

Shopify's GraphQL node (shopify_graphql.py), Shopify's REST webhook body
(shopify_payloads.py) and WooCommerce's order JSON (woocommerce_payloads.py)
are all rendered from this record, so every view of one order agrees.
"""

from datetime import timedelta
from decimal import Decimal

from .fulfillment_orders import FulfillmentOrderBook
from .util import cents

RATES = {"USD": Decimal("1"), "EUR": Decimal("0.92"), "GBP": Decimal("0.79")}
RATES["CAD"] = Decimal("1.36")
FIRST_NAMES = ("Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara")
LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson")
ADDRESSES = {
    "US": ("350 Fifth Avenue", "New York", "10118", "New York", "NY"),
    "FR": ("5 Avenue Anatole France", "Paris", "75007", "Paris", ""),
    "GB": ("221B Baker Street", "London", "NW1 6XE", "England", "ENG"),
    "CA": ("290 Bremner Blvd", "Toronto", "M5V 3L9", "Ontario", "ON"),
}
COUNTRIES = {"US": "United States", "FR": "France", "GB": "United Kingdom"}
COUNTRIES["CA"] = "Canada"
CURRENCY_COUNTRY = {"USD": "US", "EUR": "FR", "GBP": "GB", "CAD": "CA"}
GATEWAYS = {
    "shopify": ("shopify_payments", "paypal", "manual", "gift_card"),
    "woocommerce": ("stripe", "paypal", "bacs", "cod"),
}
GATEWAY_TITLES = {
    "stripe": "Credit Card (Stripe)",
    "paypal": "PayPal",
    "bacs": "Direct bank transfer",
    "cod": "Cash on delivery",
}


class OrderBook:
    """Builds and changes canonical orders in a `SimulatorState`."""

    def __init__(self, state):
        self.state = state
        self.fulfillment_orders = FulfillmentOrderBook(state, self)

    # === CREATE ===

    def create(self, channel, **spec):
        """A new order; see `Scenario.create_order` for the options."""
        state = self.state
        with state.lock:
            currency = spec.get("currency") or state.currency
            order = self._header(channel, spec, currency)
            order["lines"] = self._lines(channel, spec, order)
            self._apply_discounts(order, spec)
            self._apply_taxes(order)
            order["shipping_lines"] = self._shipping(channel, spec, order)
            order["transactions"] = self._payments(channel, spec, order)
            order["financial_status"] = spec.get("financial_status", "paid")
            self._commit_stock(channel, order)
            book = state.shopify_orders if channel == "shopify" else state.woo_orders
            book[order["id"]] = order
            return order

    def _header(self, channel, spec, shop_currency):
        state = self.state
        presentment = spec.get("presentment_currency") or shop_currency
        rate = RATES.get(presentment, Decimal(1)) / RATES.get(shop_currency, 1)
        now = state.wall_clock()
        if channel == "shopify":
            order_id = str(state.new_big_id())
            number = state.new_id("order_number", 1000)
            name = f"#{number}"
        else:
            order_id = str(state.new_id("woo_order", 700))
            number, name = int(order_id), order_id
        country = spec.get("country") or CURRENCY_COUNTRY.get(presentment, "US")
        customer = self._customer(channel, spec.get("customer", "new"), country)
        return {
            "channel": channel,
            "id": order_id,
            "number": number,
            "name": name,
            "token": f"{state.random.getrandbits(64):016x}",
            "created_at": now,
            "updated_at": now,
            "processed_at": now,
            "cancelled_at": None,
            "cancel_reason": None,
            "currency": shop_currency,
            "presentment_currency": presentment,
            "rate": cents(rate) if rate != 1 else Decimal(1),
            "taxes_included": bool(spec.get("taxes_included", False)),
            "tax_rate": Decimal(str(spec.get("tax_rate", "0.20"))),
            "tax_title": spec.get("tax_title", "VAT"),
            "customer": customer["record"],
            "email": customer["email"],
            "phone": customer["phone"],
            "billing_address": customer["address"],
            "shipping_address": dict(customer["address"]),
            "note": spec.get("note"),
            "tags": list(spec.get("tags") or ()),
            "high_risk": bool(spec.get("high_risk", False)),
            "discount_applications": [],
            "refunds": [],
            "returns": [],
            "fulfillments": [],
        }

    def _customer(self, channel, kind, country):
        """Guest (no customer), a new customer, or a repeat one."""
        state = self.state
        known = state.customers[channel]
        if kind == "repeat" and known:
            record = state.random.choice(known)
        else:
            first = state.random.choice(FIRST_NAMES)
            last = state.random.choice(LAST_NAMES)
            serial = state.new_id("customer_serial", 0)
            record = {
                "id": str(
                    state.new_big_id()
                    if channel == "shopify"
                    else state.new_id("woo_customer", 40)
                ),
                "first_name": first,
                "last_name": last,
                "email": f"{first}.{last}{serial}@example.com".lower(),
                "phone": f"+1555{state.random.randint(1000000, 9999999)}",
            }
            if kind != "guest":
                known.append(record)
        address = make_address(record, country)
        return {
            "record": None if kind == "guest" else record,
            "email": record["email"],
            "phone": record["phone"],
            "address": address,
        }

    def _lines(self, channel, spec, order):
        state = self.state
        wanted = spec.get("lines") or self._random_lines()
        lines = []
        for ref, quantity in wanted:
            variant = state.variants.get(str(ref)) or state.variant_by_sku(str(ref))
            if variant is None:
                raise ValueError(f"Unknown variant or SKU {ref}")
            product = state.products[variant["product"]]
            lines.append(
                {
                    "id": str(
                        state.new_big_id()
                        if channel == "shopify"
                        else state.new_id("woo_line", 300)
                    ),
                    "variant_id": variant["id"],
                    "product_id": variant["product"],
                    "woo_parent_id": variant["woo_parent_id"],
                    "sku": variant["sku"],
                    "title": product["title"],
                    "variant_title": variant["title"],
                    "quantity": int(quantity),
                    "price": cents(variant["price"] * order["rate"]),
                    "discounts": [],
                    "tax": Decimal(0),
                    "fulfilled": 0,
                    "refunded": 0,
                }
            )
        return lines

    def _random_lines(self):
        state = self.state
        if not state.variants:
            state.seed_catalogue(6, quantity=20)
        refs = sorted(state.variants)
        count = state.random.randint(1, min(3, len(refs)))
        picked = state.random.sample(refs, count)
        return [(ref, state.random.randint(1, 3)) for ref in picked]

    def _apply_discounts(self, order, spec):
        """A percentage off the first line, and an amount spread over all lines."""
        percent = spec.get("line_discount_percent")
        if percent:
            index = self._discount_application(
                order,
                kind="manual",
                title="Line discount",
                value=percent,
                value_type="percentage",
                method="each",
            )
            line = order["lines"][0]
            amount = cents(line_total(line) * Decimal(str(percent)) / 100)
            line["discounts"].append({"application": index, "amount": amount})
        amount = spec.get("order_discount")
        if amount:
            code = spec.get("discount_code", "WELCOME10")
            index = self._discount_application(
                order,
                kind="discount_code",
                title=code,
                value=amount,
                value_type="fixed_amount",
                method="across",
            )
            self._allocate(order["lines"], index, cents(Decimal(str(amount))))

    def _discount_application(self, order, *, kind, title, value, value_type, method):
        order["discount_applications"].append(
            {
                "index": len(order["discount_applications"]),
                "type": kind,
                "code": title if kind == "discount_code" else None,
                "title": title,
                "value": Decimal(str(value)),
                "value_type": value_type,
                "allocation_method": method,
                "target_selection": "all" if method == "across" else "explicit",
                "target_type": "line_item",
            }
        )
        return len(order["discount_applications"]) - 1

    def _allocate(self, lines, index, amount):
        """Spread `amount` in proportion to each line's net; last takes the rest."""
        nets = [line_net(line) for line in lines]
        base = sum(nets) or Decimal(1)
        left = min(amount, sum(nets))
        for position, (line, net) in enumerate(zip(lines, nets, strict=True)):
            share = left if position == len(lines) - 1 else cents(amount * net / base)
            share = min(share, left)
            left -= share
            line["discounts"].append({"application": index, "amount": share})

    def _apply_taxes(self, order):
        for line in order["lines"]:
            line["tax"] = tax_of(line_net(line), order)

    def _shipping(self, channel, spec, order):
        price = spec.get("shipping", "4.90")
        if price is None:
            return []
        amount = cents(Decimal(str(price)) * order["rate"])
        return [
            {
                "id": str(
                    self.state.new_big_id()
                    if channel == "shopify"
                    else self.state.new_id("woo_line", 300)
                ),
                "title": spec.get("shipping_title", "Standard"),
                "code": "STANDARD",
                "method_id": "flat_rate",
                "price": amount,
                "tax": tax_of(amount, order),
                "refunded": Decimal(0),
            }
        ]

    def _payments(self, channel, spec, order):
        state = self.state
        gateway = spec.get("gateway") or state.random.choice(GATEWAYS[channel])
        status = spec.get("financial_status", "paid")
        if status == "pending":
            return []
        kind = "authorization" if status == "authorized" else "sale"
        return [
            {
                "id": str(
                    state.new_big_id()
                    if channel == "shopify"
                    else state.new_id("woo_transaction", 0)
                ),
                "gateway": gateway,
                "kind": kind,
                "status": "success",
                # A short capture settles less than the order's total.
                "amount": Decimal(str(spec["captured"]))
                if spec.get("captured")
                else totals(order)["total"],
                "authorization": _authorization(state.random, gateway),
                "created_at": order["created_at"],
                "parent_id": None,
            }
        ]

    def _commit_stock(self, channel, order):
        """The sale takes stock on the channel (what other systems see change)."""
        state = self.state
        for line in order["lines"]:
            variant = state.variants[line["variant_id"]]
            if channel == "woocommerce":
                product = state.woo_products[variant["woo_id"]]
                set_woo_stock(product, product["stock_quantity"] - line["quantity"])
                product["date_modified"] = state.wall_clock()
                continue
            state.sell_on_channel(variant["id"], "1001", line["quantity"])

    # === CHANGE ===

    def touch(self, order):
        """A change: updated_at moves forward, strictly, even within a second."""
        now = self.state.wall_clock()
        order["updated_at"] = max(now, order["updated_at"] + timedelta(seconds=1))
        return order

    def update(self, order, **changes):
        """Merchant edits: note, tags, email, phone, shipping_address."""
        with self.state.lock:
            for key, value in changes.items():
                if key not in ("note", "tags", "email", "phone", "shipping_address"):
                    raise ValueError(f"Cannot change {key}")
                order[key] = value
            return self.touch(order)

    def edit(self, order, removals):
        """An order edit removing `removals` [(line id or SKU, quantity)] of
        undiscounted lines; returns the edit (its id and line deltas)."""
        state = self.state
        with state.lock:
            deltas = []
            for ref, quantity in removals:
                line = next(
                    (
                        line
                        for line in order["lines"]
                        if ref in (line["id"], line["sku"])
                    ),
                    None,
                )
                left = None if line is None else line["quantity"] - line["refunded"]
                if left is None or quantity > left or line["discounts"]:
                    raise ValueError(f"Cannot remove {quantity} of {ref}")
                line["quantity"] -= quantity
                deltas.append({"id": int(line["id"]), "delta": quantity})
            self._apply_taxes(order)
            self.touch(order)
            return {
                "id": state.new_id("order_edit", 78912000),
                "created_at": state.wall_clock(),
                "order_id": int(order["id"]),
                "removals": deltas,
            }

    def capture(self, order, gateway=None):
        """The payment of a pending or authorized order is taken: it is paid."""
        state = self.state
        with state.lock:
            if order["financial_status"] not in ("pending", "authorized"):
                raise ValueError(f"Cannot capture a {order['financial_status']} order")
            authorization = (order["transactions"] or [None])[0]
            order["transactions"].append(
                {
                    "id": str(
                        state.new_big_id()
                        if order["channel"] == "shopify"
                        else state.new_id("woo_transaction", 0)
                    ),
                    "gateway": gateway
                    or (authorization or {}).get("gateway")
                    or GATEWAYS[order["channel"]][0],
                    "kind": "capture" if authorization else "sale",
                    "status": "success",
                    "amount": totals(order)["total"],
                    "authorization": (authorization or {}).get("authorization"),
                    "created_at": state.wall_clock(),
                    "parent_id": (authorization or {}).get("id"),
                }
            )
            order["financial_status"] = "paid"
            return self.touch(order)

    def cancel(self, order, reason="customer", refund=False, restock=True):
        """Cancel the order; with `refund` (Shopify `orderCancel(refund:
        true)`) a paid order gets one refund of what earlier refunds left:
        every line's remaining units (CANCEL when none shipped, else RETURN
        or NO_RESTOCK per `restock`) and the shipping not refunded yet.
        Returns the refund, or None."""
        with self.state.lock:
            order["cancelled_at"] = self.state.wall_clock()
            order["cancel_reason"] = reason
            if order["financial_status"] in ("pending", "authorized"):
                order["financial_status"] = "voided"
            self.touch(order)
            if not refund or order["financial_status"] not in (
                "paid",
                "partially_refunded",
            ):
                return None
            shipped_type = "return" if restock else "no_restock"
            lines = [
                (
                    line["id"],
                    line["quantity"] - line["refunded"],
                    "cancel" if not line["fulfilled"] else shipped_type,
                )
                for line in order["lines"]
                if line["quantity"] > line["refunded"]
            ]
            return self.refund(order, lines, shipping=True, note="Order canceled")

    def refund(
        self,
        order,
        lines=(),
        shipping=False,
        restock=True,
        note=None,
        *,
        restock_type=None,
        adjustment=None,
        money_moved=True,
    ):
        """Refund `lines` [(line id or SKU, quantity[, restock type])] and
        maybe the shipping.

        Restocking puts the quantity back on the channel (Shopify location
        1001, the WooCommerce product); `restock_type` (return, cancel,
        no_restock, legacy_restock) overrides `restock`. `adjustment` is an
        amount refunded on no line (an order adjustment); the refund is paid
        back through the order's first gateway unless `money_moved` is False
        (store credit: no transaction).
        """
        state = self.state
        restock_type = restock_type or ("return" if restock else "no_restock")
        with state.lock:
            refund_lines = [
                self._refund_line(order, ref, quantity, (kind or [restock_type])[0])
                for ref, quantity, *kind in lines
            ]
            shipping_lines = self._refund_shipping(order) if shipping else []
            shipping_amount = sum(
                (
                    s["amount"] + (0 if order["taxes_included"] else s["tax"])
                    for s in shipping_lines
                ),
                Decimal(0),
            )
            adjustment = Decimal(str(adjustment or 0))
            amount = (
                sum(
                    (r["amount"] + (0 if order["taxes_included"] else r["tax"]))
                    for r in refund_lines
                )
                + shipping_amount
                + adjustment
            )
            refund_id = str(
                state.new_big_id()
                if order["channel"] == "shopify"
                else state.new_id("woo_order", 700)
            )
            refund = {
                "id": refund_id,
                "created_at": state.wall_clock(),
                "note": note,
                "restock": restock_type in ("return", "legacy_restock"),
                "lines": refund_lines,
                "shipping": shipping_amount,
                "shipping_lines": shipping_lines,
                "adjustments": [
                    {"id": str(state.new_big_id()), "amount": cents(adjustment)}
                ]
                if adjustment
                else [],
                "amount": cents(amount) if money_moved else Decimal(0),
                "transactions": [self._refund_transaction(order, cents(amount))]
                if money_moved
                else [],
            }
            order["refunds"].append(refund)
            refunded = sum(r["amount"] for r in order["refunds"])
            order["financial_status"] = (
                "refunded"
                if refunded >= totals(order)["total"]
                else "partially_refunded"
            )
            self.touch(order)
            return refund

    def _refund_line(self, order, ref, quantity, restock_type):
        line = next(
            (line for line in order["lines"] if ref in (line["id"], line["sku"])),
            None,
        )
        if line is None or quantity > line["quantity"] - line["refunded"]:
            raise ValueError(f"Cannot refund {quantity} of {ref}")
        # What earlier refunds of the line took: the last one takes the rest,
        # so that the line's refunds sum to the line to the cent.
        before = [
            item
            for refund in order["refunds"]
            for item in refund["lines"]
            if item["line_id"] == line["id"]
        ]
        line["refunded"] += quantity
        last = line["refunded"] == line["quantity"]
        share = Decimal(quantity) / line["quantity"]
        restocks = restock_type in ("return", "legacy_restock")
        if restocks:
            self._restock(order, line, quantity)
        return {
            "id": str(self.state.new_big_id()),
            "line_id": line["id"],
            "quantity": quantity,
            "amount": line_net(line) - sum(i["amount"] for i in before)
            if last
            else cents(line_net(line) * share),
            "tax": line["tax"] - sum(i["tax"] for i in before)
            if last
            else cents(line["tax"] * share),
            "restock_type": restock_type,
            "location_id": "1001" if restocks else None,
        }

    def _restock(self, order, line, quantity):
        state = self.state
        variant = state.variants[line["variant_id"]]
        if order["channel"] == "woocommerce":
            product = state.woo_products[variant["woo_id"]]
            set_woo_stock(product, product["stock_quantity"] + quantity)
            return
        item = variant["inventory_item"]
        state.set_level(
            item, "1001", "available", state.levels[(item, "1001")] + quantity, "refund"
        )

    def _refund_shipping(self, order):
        """The shipping lines not refunded yet, refunded whole."""
        refunded = []
        for line in order["shipping_lines"]:
            if line["refunded"]:
                continue
            line["refunded"] = line["price"]
            refunded.append(
                {
                    "id": str(self.state.new_big_id()),
                    "line_id": line["id"],
                    "amount": line["price"],
                    "tax": line["tax"],
                }
            )
        return refunded

    def _refund_transaction(self, order, amount):
        parent = (order["transactions"] or [{}])[0]
        return {
            "id": str(
                self.state.new_big_id()
                if order["channel"] == "shopify"
                else self.state.new_id("woo_transaction", 0)
            ),
            "gateway": parent.get("gateway", "manual"),
            "kind": "refund",
            "status": "success",
            "amount": amount,
            "authorization": _authorization(
                self.state.random, parent.get("gateway", "manual")
            ),
            "created_at": self.state.wall_clock(),
            "parent_id": parent.get("id"),
        }

    def create_return(self, order, lines, status="OPEN", reason="UNKNOWN", note=""):
        """A Shopify return of `lines` [(line id or SKU, quantity[, reason])].

        `status` is a ReturnStatus (REQUESTED, OPEN, CLOSED, DECLINED,
        CANCELED); `reason` a ReturnReason for lines that name none. A line
        cannot be returned beyond what is neither refunded nor already in
        another live (not declined or canceled) return.
        """
        status = str(status).upper()
        if status not in RETURN_STATUSES:
            raise ValueError(f"Unknown return status {status}")
        if order["channel"] != "shopify" or not lines:
            raise ValueError("A return needs a Shopify order and lines to return")
        state = self.state
        with state.lock:
            items = [
                self._return_line(order, *entry, reason=reason, note=note)
                for entry in lines
            ]
            now = state.wall_clock()
            record = {
                "id": str(state.new_id("return", 945_000_000)),
                "name": f"{order['name']}-R{len(order['returns']) + 1}",
                "status": status,
                "created_at": now,
                "approved_at": now if status in ("OPEN", "CLOSED") else None,
                "closed_at": now if status == "CLOSED" else None,
                "note": note,
                "lines": items,
            }
            order["returns"].append(record)
            self.touch(order)
            return record

    def set_return_status(self, order, return_id, status):
        """Shopify `returnCancel` (an OPEN return, nothing refunded on it
        yet) or `returnDeclineRequest` (a REQUESTED one): the return ends
        and its lines become returnable again."""
        record = next((r for r in order["returns"] if r["id"] == str(return_id)), None)
        if record is None:
            raise ValueError(f"Unknown return {return_id}")
        allowed = {"CANCELED": ("OPEN",), "DECLINED": ("REQUESTED",)}[status]
        if record["status"] not in allowed:
            raise ValueError(f"A {record['status']} return cannot become {status}")
        if status == "CANCELED" and any(
            refund.get("return_id") == record["id"] for refund in order["refunds"]
        ):
            raise ValueError("A return with a refund cannot be canceled")
        with self.state.lock:
            record["status"] = status
            self.touch(order)
            return record

    def _return_line(self, order, ref, quantity, line_reason=None, *, reason, note):
        line = next(
            (line for line in order["lines"] if ref in (line["id"], line["sku"])),
            None,
        )
        if line is None or not 0 < quantity <= returnable(order, line):
            raise ValueError(f"Cannot return {quantity} of {ref}")
        reason = str(line_reason or reason).upper()
        if reason not in RETURN_REASONS:
            raise ValueError(f"Unknown return reason {reason}")
        return {
            "id": str(self.state.new_id("return_line", 677_000_000)),
            "line_id": line["id"],
            "quantity": quantity,
            "reason": reason,
            "note": note or "",
        }

    def fulfill(
        self, order, quantities, location="1001", tracking=None, notify_customer=False
    ):
        """Record a fulfillment of {line id: quantity} (what a client sends)."""
        with self.state.lock:
            lines = {line["id"]: line for line in order["lines"]}
            for line_id, quantity in quantities.items():
                line = lines[line_id]
                line["fulfilled"] += quantity
            fulfillment = {
                "id": str(self.state.new_id("fulfillment", 4_500_000)),
                "order_id": order["id"],
                "location_id": location,
                "lines": dict(quantities),
                "tracking": tracking or {},
                "notify_customer": bool(notify_customer),
                "created_at": self.state.wall_clock(),
                "status": "SUCCESS",
            }
            order["fulfillments"].append(fulfillment)
            self.state.fulfillments.append(fulfillment)
            self.touch(order)
            return fulfillment


RETURN_STATUSES = ("REQUESTED", "OPEN", "CLOSED", "DECLINED", "CANCELED")
RETURN_REASONS = (
    "COLOR",
    "DEFECTIVE",
    "NOT_AS_DESCRIBED",
    "OTHER",
    "SIZE_TOO_LARGE",
    "SIZE_TOO_SMALL",
    "STYLE",
    "UNKNOWN",
    "UNWANTED",
    "WRONG_ITEM",
)


def returnable(order, line):
    """Quantity of `line` neither refunded nor in a live return."""
    returned = sum(
        item["quantity"]
        for record in order["returns"]
        if record["status"] not in ("DECLINED", "CANCELED")
        for item in record["lines"]
        if item["line_id"] == line["id"]
    )
    return line["quantity"] - line["refunded"] - returned


# === AMOUNTS ===


def line_total(line):
    return line["price"] * line["quantity"]


def line_discount(line):
    return sum((d["amount"] for d in line["discounts"]), Decimal(0))


def line_net(line):
    return line_total(line) - line_discount(line)


def tax_of(amount, order):
    """Tax inside (taxes included) or on top of (excluded) `amount`."""
    rate = order["tax_rate"]
    if order["taxes_included"]:
        return cents(amount * rate / (1 + rate))
    return cents(amount * rate)


def converter(order, shop_side):
    """Presentment -> shop currency, component by component."""
    rate = order["rate"]
    if not shop_side or rate == 1:
        return cents
    return lambda amount: cents(Decimal(amount) / rate)


def totals(order, shop_side=False):
    """Every order total in one currency, from converted components."""
    convert = converter(order, shop_side)
    lines = order["lines"]
    line_items = sum((convert(line["price"]) * line["quantity"] for line in lines), 0)
    discounts = sum(
        (convert(d["amount"]) for line in lines for d in line["discounts"]), 0
    )
    line_tax = sum((convert(line["tax"]) for line in lines), 0)
    shipping = sum((convert(s["price"]) for s in order["shipping_lines"]), 0)
    shipping_tax = sum((convert(s["tax"]) for s in order["shipping_lines"]), 0)
    tax = line_tax + shipping_tax
    subtotal = line_items - discounts
    total = subtotal + shipping + (0 if order["taxes_included"] else tax)
    refunded = sum((convert(r["amount"]) for r in order["refunds"]), 0)
    return {
        "line_items": cents(line_items),
        "discounts": cents(discounts),
        "subtotal": cents(subtotal),
        "shipping": cents(shipping),
        "tax": cents(tax),
        "line_tax": cents(line_tax),
        "shipping_tax": cents(shipping_tax),
        "total": cents(total),
        "refunded": cents(refunded),
    }


def set_woo_stock(product, quantity):
    product["stock_quantity"] = quantity
    product["stock_status"] = "instock" if quantity > 0 else "outofstock"


def make_address(person, country):
    street, city, postcode, province, province_code = ADDRESSES[country]
    return {
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "name": f"{person['first_name']} {person['last_name']}",
        "company": None,
        "address1": street,
        "address2": None,
        "city": city,
        "zip": postcode,
        "province": province,
        "province_code": province_code,
        "country": COUNTRIES[country],
        "country_code": country,
        "phone": person["phone"],
    }


def _authorization(rng, gateway):
    """Gateway-looking transaction references (ch_..., PAYID-..., ...)."""
    token = f"{rng.getrandbits(80):020X}"
    prefixes = {"shopify_payments": "ch_", "stripe": "ch_", "paypal": "PAYID-"}
    return prefixes.get(gateway, "") + token if gateway != "manual" else None
