"""Scenario control: what happens on the channels besides the client's calls.

Every method returns plain JSON-able data, so the `/_sim/...` admin endpoints
(server.py) can expose exactly this API to another process. Each call is also
journaled; `snapshot()`/`restore()` replay the journal from the seed, which is
how `python -m simulator --state file.json` persists a scenario.
"""

import functools
import inspect
from datetime import timedelta
from decimal import Decimal

from .orders import RATES, totals
from .shopify_payloads import (
    app_uninstalled_payload,
    fulfillment_payload,
    inventory_level_payload,
    order_edit_payload,
    order_payload,
    refund_payload,
    return_payload,
)
from .util import cents, iso_z, money
from .woocommerce_payloads import order_json


def journaled(method):
    """Record the call (name and keyword arguments) for replay, once it has
    succeeded: a refused call would make the replay fail."""

    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        arguments = dict(bound.arguments)
        arguments.pop("self")
        arguments.update(arguments.pop("spec", None) or {})
        arguments.update(arguments.pop("changes", None) or {})
        result = method(self, *args, **kwargs)
        self.journal.append({"action": method.__name__, **arguments})
        return result

    return wrapper


class Scenario:
    """`sim.scenario`: seed, sell, refund, pay out, break things, read back."""

    def __init__(self, sim):
        self.sim = sim
        self.state = sim.state
        self.book = sim.book
        self.sender = sim.sender
        self.journal = []

    # === CATALOGUE AND INVENTORY ===

    @journaled
    def seed_catalogue(self, count=10, quantity=10, max_variants=3):
        """`count` variants (SKUs SIM-000001...) on both channels."""
        return self.state.seed_catalogue(count, quantity, max_variants)

    @journaled
    def set_inventory(self, variant, available, location="1001", notify=True):
        """Someone else changes a Shopify level (a count, a POS sale...)."""
        state = self.state
        with state.lock:
            item = self._variant(variant)["inventory_item"]
            state.set_level(item, location, "available", int(available), "merchant")
            payload = inventory_level_payload(
                item, location, int(available), state.wall_clock()
            )
        if notify:
            self.sender.shopify_event([("inventory_levels/update", payload)])
        return {"inventory_item": item, "location": location, "available": available}

    @journaled
    def set_woo_stock(self, variant, quantity, notify=True):
        """Someone else changes a WooCommerce stock quantity."""
        state = self.state
        with state.lock:
            product = state.woo_products[self._variant(variant)["woo_id"]]
            product["stock_quantity"] = int(quantity)
            product["stock_status"] = "instock" if int(quantity) > 0 else "outofstock"
            product["date_modified"] = state.wall_clock()
        if notify:
            self.sender.woo_event("product.updated", product["id"])
        return {"id": product["id"], "stock_quantity": product["stock_quantity"]}

    def _variant(self, ref):
        state = self.state
        variant = state.variants.get(str(ref)) or state.variant_by_sku(str(ref))
        if variant is None:
            raise ValueError(f"Unknown variant or SKU {ref}")
        return variant

    # === ORDERS ===

    @journaled
    def create_order(self, channel="shopify", notify=True, **spec):
        """A customer orders on `channel`; webhooks fire unless `notify=False`.

        Options: lines=[(variant id or SKU, quantity)] (random when omitted),
        currency (presentment, e.g. "EUR"), taxes_included, tax_rate ("0.20"),
        line_discount_percent, order_discount (amount) with discount_code,
        shipping ("4.90", None for none), customer ("new", "guest",
        "repeat"), high_risk, gateway, financial_status ("paid", "pending",
        "authorized"), note, tags.
        """
        spec = _order_options(spec)
        order = self.book.create(channel, **spec)
        if notify:
            self._announce(order, "create")
        return self.summary(channel, order["id"])

    @journaled
    def update_order(self, channel, order_id, notify=True, **changes):
        order = self._order(channel, order_id)
        self.book.update(order, **changes)
        if notify:
            self._announce(order, "update")
        return self.summary(channel, order_id)

    @journaled
    def edit_order(self, channel, order_id, *, remove, notify=True):
        """The merchant edits a Shopify order: remove=[(line id or SKU,
        quantity)]; `orders/edited` then `orders/updated` fire."""
        if channel != "shopify":
            raise ValueError("Only Shopify orders have order edits")
        order = self._order(channel, order_id)
        edit = self.book.edit(order, [tuple(x) for x in remove])
        if notify:
            self.sender.shopify_event(
                [
                    ("orders/edited", order_edit_payload(edit)),
                    ("orders/updated", order_payload(order)),
                ]
            )
        return {"id": edit["id"], "removals": edit["removals"]}

    @journaled
    def capture_payment(self, channel, order_id, gateway=None, notify=True):
        """The merchant captures the payment of a pending or authorized order."""
        order = self._order(channel, order_id)
        self.book.capture(order, gateway)
        if notify:
            self._announce(order, "update")
        return self.summary(channel, order_id)

    @journaled
    def cancel_order(
        self,
        channel,
        order_id,
        reason="customer",
        notify=True,
        *,
        refund=False,
        restock=True,
    ):
        """The merchant cancels the order; with `refund` (Shopify only) the
        money left is refunded with it and `refunds/create` fires with
        `orders/cancelled` (see `OrderBook.cancel`). The summary carries the
        refund as `refund` ({id, amount}) when one was made."""
        if refund and channel != "shopify":
            raise ValueError("Only Shopify cancels with a refund")
        order = self._order(channel, order_id)
        record = self.book.cancel(order, reason, refund=refund, restock=restock)
        if notify:
            extra = (
                [("refunds/create", refund_payload(order, record))] if record else []
            )
            self._announce(order, "cancel", extra)
        summary = self.summary(channel, order_id)
        if record:
            summary["refund"] = {"id": record["id"], "amount": money(record["amount"])}
        return summary

    @journaled
    def create_amazon_order(self, lines, fulfillment="MFN", status="Unshipped"):
        """An order on the simulated Amazon seller account (amazon.py
        `add_order`); journaled, so a restored scenario never reuses its id."""
        order_id = self.sim.amazon.add_order(
            lines, fulfillment=fulfillment, status=status
        )
        return {"id": order_id, "fulfillment": fulfillment}

    @journaled
    def refund_order(
        self,
        channel,
        order_id,
        *,
        lines=(),
        shipping=False,
        restock=True,
        note=None,
        notify=True,
        restock_type=None,
        adjustment=None,
        money_moved=True,
        return_id=None,
    ):
        """Partial or full refund: lines=[(line id or SKU, quantity)]; see
        `OrderBook.refund` for `restock_type`, `adjustment`, `money_moved`;
        `return_id` names the Shopify return the refund settles."""
        order = self._order(channel, order_id)
        refund = self.book.refund(
            order,
            [tuple(x) for x in lines],
            shipping,
            restock,
            note,
            restock_type=restock_type,
            adjustment=adjustment,
            money_moved=money_moved,
        )
        if return_id:
            refund["return_id"] = str(return_id)
        if notify and channel == "shopify":
            items = [
                ("refunds/create", refund_payload(order, refund)),
                ("orders/updated", order_payload(order)),
            ]
            items += self._level_payloads(order, refund) if refund["restock"] else []
            self.sender.shopify_event(items)
        elif notify:
            self.sender.woo_event("order.updated", int(order["id"]))
        return {"id": refund["id"], "amount": money(refund["amount"])}

    @journaled
    def create_return(
        self,
        channel,
        order_id,
        *,
        lines,
        status="OPEN",
        reason="UNKNOWN",
        note="",
        notify=False,
    ):
        """A Shopify return: lines=[(line id or SKU, quantity[, reason])],
        `status` a ReturnStatus, `reason` a ReturnReason. Read back with
        `order { returns }` and `return(id:)`; with `notify`, an OPEN return
        sends `returns/approve` (a REQUESTED one `returns/request`)."""
        if channel != "shopify":
            raise ValueError("Only Shopify orders have returns")
        order = self._order(channel, order_id)
        record = self.book.create_return(
            order, [tuple(x) for x in lines], status, reason, note
        )
        if notify:
            topic = {"OPEN": "returns/approve", "REQUESTED": "returns/request"}.get(
                record["status"]
            )
            if topic:
                self.sender.shopify_event([(topic, return_payload(order, record))])
        return {
            "id": record["id"],
            "gid": f"gid://shopify/Return/{record['id']}",
            "name": record["name"],
            "status": record["status"],
            "lines": [
                {
                    "id": item["id"],
                    "line_id": item["line_id"],
                    "quantity": item["quantity"],
                }
                for item in record["lines"]
            ],
        }

    @journaled
    def end_return(self, order_id, return_id, *, decline=False, notify=True):
        """The merchant cancels an open Shopify return (`returns/cancel`) or,
        with `decline`, declines a requested one (`returns/decline`)."""
        order = self._order("shopify", order_id)
        status = "DECLINED" if decline else "CANCELED"
        record = self.book.set_return_status(order, return_id, status)
        if notify:
            topic = "returns/decline" if decline else "returns/cancel"
            self.sender.shopify_event([(topic, return_payload(order, record))])
        return {"id": record["id"], "status": record["status"]}

    @journaled
    def split_fulfillment_order(
        self, order_id, *, location, lines, status="OPEN", hold_reason=None
    ):
        """Shopify assigns some of an order's lines to another location: a
        new fulfillment order at `location` with lines=[(line id or SKU,
        quantity)], `status` OPEN or SCHEDULED, or on hold for `hold_reason`
        (a FulfillmentHoldReason). Returns the fulfillment order's id."""
        order = self._order("shopify", order_id)
        book = self.book.fulfillment_orders
        fo = book.split(order, str(location), dict(lines), status)
        if hold_reason:
            book.hold(fo, hold_reason)
        return {"id": fo["id"], "gid": f"gid://shopify/FulfillmentOrder/{fo['id']}"}

    @journaled
    def hold_fulfillment_order(self, fulfillment_order_id, reason="OTHER", notes=""):
        """The merchant holds (reason: a FulfillmentHoldReason) or, with
        reason None, releases a fulfillment order."""
        book = self.book.fulfillment_orders
        _order, fo = book.find(str(fulfillment_order_id))
        if fo is None:
            raise ValueError(f"Unknown fulfillment order {fulfillment_order_id}")
        if reason:
            book.hold(fo, reason, notes)
        else:
            book.release(fo)
        return {"id": fo["id"], "status": fo["status"]}

    @journaled
    def fulfill_on_channel(
        self, channel, order_id, lines=None, tracking=None, notify=True
    ):
        """Staff (or another app) ship on the channel, not through the
        client. Shopify: a fulfillment of lines=[(line id or SKU, quantity)]
        (default: all that remains) from the fulfillment orders that hold
        them, `tracking` {"number", "company", "url"}, announced as
        fulfillments/create and orders/updated. WooCommerce: the order
        becomes `completed` (order.updated). Returns the fulfillment."""
        order = self._order(channel, order_id)
        if channel == "woocommerce":
            with self.state.lock:
                order["woo_status"] = "completed"
                order["completed_at"] = self.state.wall_clock()
                self.book.touch(order)
            if notify:
                self._announce(order, "update")
            return {"id": None, "status": "completed"}
        book = self.book.fulfillment_orders
        wanted = {}
        for ref, quantity in lines or ():
            line = next(li for li in order["lines"] if ref in (li["id"], li["sku"]))
            wanted[line["id"]] = wanted.get(line["id"], 0) + quantity
        groups = {}
        for fo in book.of(order):
            if book.status(order, fo) not in ("OPEN", "IN_PROGRESS"):
                continue
            for item in fo["items"]:
                take = book.remaining(order, item)
                if lines is not None:
                    take = min(take, wanted.get(item["line_id"], 0))
                    wanted[item["line_id"]] = wanted.get(item["line_id"], 0) - take
                if take:
                    groups.setdefault(fo["location"], {}).setdefault(fo["id"], {})[
                        item["id"]
                    ] = take
        if not groups or any(wanted.values()):
            raise ValueError(f"Cannot fulfil {lines} of order {order_id}")
        _location, by_fo = next(iter(groups.items()))
        order, record = book.fulfill(list(by_fo.items()), tracking or {}, False)
        if notify:
            self.sender.shopify_event(
                [
                    ("fulfillments/create", fulfillment_payload(order, record)),
                    ("orders/updated", order_payload(order)),
                ]
            )
        return {"id": record["id"], "lines": dict(record["lines"])}

    @journaled
    def cancel_fulfillment(self, fulfillment_id, notify=True):
        """Staff cancel a Shopify fulfillment on the channel (its quantities
        are to fulfil again), announced as fulfillments/update."""
        order, record = self.book.fulfillment_orders.cancel(str(fulfillment_id))
        if notify:
            self.sender.shopify_event(
                [
                    ("fulfillments/update", fulfillment_payload(order, record)),
                    ("orders/updated", order_payload(order)),
                ]
            )
        return {"id": record["id"], "status": record["status"]}

    @journaled
    def update_fulfillment_tracking(self, fulfillment_id, tracking, notify=True):
        """Staff change a Shopify fulfillment's tracking on the channel
        (announced as fulfillments/update)."""
        book = self.book.fulfillment_orders
        order, record = book.update_tracking(str(fulfillment_id), tracking, False)
        if notify:
            self.sender.shopify_event(
                [("fulfillments/update", fulfillment_payload(order, record))]
            )
        return {"id": record["id"], "tracking": dict(record["tracking"])}

    def _announce(self, order, action, extra=()):
        """The webhooks one merchant action triggers (one Event-Id), then
        `extra` [(topic, payload)] of the same action."""
        if order["channel"] == "woocommerce":
            topic = "order.created" if action == "create" else "order.updated"
            self.sender.woo_event(topic, int(order["id"]))
            return
        payload = order_payload(order)
        topics = {
            "create": ["orders/create"]
            + (["orders/paid"] if order["financial_status"] == "paid" else []),
            "update": ["orders/updated"],
            "cancel": ["orders/cancelled", "orders/updated"],
        }[action]
        items = [(topic, payload) for topic in topics]
        if action == "create":
            items += self._level_payloads(order)
        self.sender.shopify_event(items + list(extra))

    def _level_payloads(self, order, refund=None):
        state = self.state
        wanted = (
            [line["variant_id"] for line in order["lines"]]
            if refund is None
            else [
                line["variant_id"]
                for line in order["lines"]
                if any(r["line_id"] == line["id"] for r in refund["lines"])
            ]
        )
        payloads = []
        for ref in wanted:
            item = state.variants[ref]["inventory_item"]
            if (item, "1001") in state.levels:
                payloads.append(
                    (
                        "inventory_levels/update",
                        inventory_level_payload(
                            item,
                            "1001",
                            state.levels[(item, "1001")],
                            state.wall_clock(),
                        ),
                    )
                )
        return payloads

    def _order(self, channel, order_id):
        book = (
            self.state.shopify_orders if channel == "shopify" else self.state.woo_orders
        )
        order = book.get(str(order_id))
        if order is None:
            raise ValueError(f"Unknown {channel} order {order_id}")
        return order

    def summary(self, channel, order_id):
        """What a test needs to find the order again and check its totals."""
        order = self._order(channel, order_id)
        amounts = totals(order)
        return {
            "channel": channel,
            "id": order["id"],
            "name": order["name"],
            "currency": order["currency"],
            "presentment_currency": order["presentment_currency"],
            "total": money(amounts["total"]),
            "subtotal": money(amounts["subtotal"]),
            "tax": money(amounts["tax"]),
            "discounts": money(amounts["discounts"]),
            "shipping": money(amounts["shipping"]),
            "financial_status": order["financial_status"],
            "customer_id": order["customer"]["id"] if order["customer"] else None,
            "lines": [
                {"id": line["id"], "sku": line["sku"], "quantity": line["quantity"]}
                for line in order["lines"]
            ],
        }

    def order_json(self, channel, order_id):
        """The order as the channel serialises it (webhook body / GET)."""
        order = self._order(channel, order_id)
        if channel == "shopify":
            return order_payload(order)
        return order_json(order, self.state, self.sim.base_url)

    # === SHOPIFY PAYMENTS ===

    @journaled
    def open_dispute(
        self,
        channel,
        order_id,
        *,
        amount=None,
        reason="fraudulent",
        kind="chargeback",
        evidence_days=7,
        notify=True,
    ):
        """A card holder disputes a Shopify Payments charge (default: the
        order's total); `disputes/create` fires and the disputed amount is
        withdrawn from the balance."""
        if channel != "shopify":
            raise ValueError("Only Shopify orders have Shopify Payments disputes")
        order = self._order(channel, order_id)
        state = self.state
        now = state.wall_clock()
        disputed = Decimal(str(amount)) if amount else totals(order)["total"]
        dispute = {
            "id": state.new_id("dispute", 815700000),
            "order_id": int(order["id"]),
            "type": kind,
            "amount": money(disputed),
            "currency": order["currency"],
            "reason": reason,
            "network_reason_code": "4837",
            "status": "needs_response",
            "evidence_due_by": iso_z(now + timedelta(days=evidence_days)),
            "evidence_sent_on": None,
            "finalized_on": None,
            "initiated_at": iso_z(now),
        }
        state.disputes[str(dispute["id"])] = dispute
        self._dispute_balance(dispute, "dispute_withdrawal", -disputed)
        if notify:
            self.sender.shopify_event([("disputes/create", dict(dispute))])
        return dict(dispute)

    @journaled
    def update_dispute(self, dispute_id, status, notify=True):
        """The dispute moves on (`under_review`, `won`, `lost`...);
        `disputes/update` fires; a won chargeback is paid back."""
        dispute = self.state.disputes[str(dispute_id)]
        dispute["status"] = status
        now = iso_z(self.state.wall_clock())
        if status == "under_review":
            dispute["evidence_sent_on"] = now
        if status in ("won", "lost", "accepted"):
            dispute["finalized_on"] = now
        if status == "won":
            amount = Decimal(dispute["amount"])
            self._dispute_balance(dispute, "dispute_reversal", amount)
        if notify:
            self.sender.shopify_event([("disputes/update", dict(dispute))])
        return dict(dispute)

    def _dispute_balance(self, dispute, kind, amount):
        state = self.state
        state.balance_transactions.append(
            {
                "id": str(state.new_id("balance_transaction", 798000000)),
                "type": kind,
                "source_type": "dispute",
                "source_id": dispute["id"],
                "source_order_transaction_id": None,
                "date": state.wall_clock(),
                "amount": amount,
                "fee": Decimal(0),
                "net": amount,
                "order_id": str(dispute["order_id"]),
                "payout_id": None,
                "payout_status": None,
            }
        )

    @journaled
    def create_payout(self, status="paid"):
        """Balance transactions for Shopify Payments charges and refunds not
        yet paid out, and the payout that pays them."""
        state = self.state
        with state.lock:
            self._new_balance_transactions()
            entries = [e for e in state.balance_transactions if not e["payout_id"]]
            if not entries:
                return None
            payout_id = str(state.new_id("payout", 623721000))
            for entry in entries:
                entry["payout_id"], entry["payout_status"] = payout_id, status
            payout = {
                "id": payout_id,
                "date": state.wall_clock(),
                "status": status,
                "net": sum((e["net"] for e in entries), Decimal(0)),
                "summary": _payout_summary(entries),
            }
            state.payouts.append(payout)
            return {
                "id": payout_id,
                "net": money(payout["net"]),
                "transactions": [e["id"] for e in entries],
            }

    @journaled
    def add_balance_transaction(
        self,
        type,
        amount,
        fee="0",
        order_id=None,
        transaction_id=None,  # noqa: A002
    ):
        """A Shopify Payments balance transaction besides the orders' own
        (adjustment, dispute_withdrawal, chargeback_fee, reserved_funds, a
        charge Odoo never saw...), paid out by the next `create_payout`."""
        state = self.state
        amount, fee = Decimal(str(amount)), Decimal(str(fee))
        with state.lock:
            entry = {
                "id": str(state.new_id("balance_transaction", 798000000)),
                "type": type,
                "source_type": _source_type(type),
                "source_id": int(transaction_id or 0) % 10**12 or None,
                "source_order_transaction_id": int(transaction_id)
                if transaction_id
                else None,
                "date": state.wall_clock(),
                "amount": amount,
                "fee": fee,
                "net": amount - fee,
                "order_id": str(order_id) if order_id else None,
                "payout_id": None,
                "payout_status": None,
            }
            state.balance_transactions.append(entry)
            return {"id": entry["id"], "net": money(entry["net"])}

    @journaled
    def set_payout_status(self, payout_id, status):
        """The payout moves on (in_transit, paid) or fails (failed, canceled)."""
        state = self.state
        with state.lock:
            payout = next(p for p in state.payouts if p["id"] == str(payout_id))
            payout["status"] = status
            for entry in state.balance_transactions:
                if entry["payout_id"] == payout["id"]:
                    entry["payout_status"] = status
            return {"id": payout["id"], "status": status}

    def _new_balance_transactions(self):
        state = self.state
        known = {e["source_order_transaction_id"] for e in state.balance_transactions}
        created = []
        for order in state.shopify_orders.values():
            for transaction in _payment_transactions(order):
                if int(transaction["id"]) in known:
                    continue
                created.append(self._balance_entry(order, transaction))
        state.balance_transactions += created
        return created

    def _balance_entry(self, order, transaction):
        rate = order["rate"]
        amount = (
            cents(transaction["amount"] / rate) if rate != 1 else transaction["amount"]
        )
        is_refund = transaction["kind"] == "refund"
        fee = (
            Decimal(0)
            if is_refund
            else cents(amount * Decimal("0.029") + Decimal("0.30"))
        )
        signed = -amount if is_refund else amount
        return {
            "id": str(self.state.new_id("balance_transaction", 798000000)),
            "type": "refund" if is_refund else "charge",
            "source_type": "refund" if is_refund else "charge",
            "source_id": int(transaction["id"]) % 10**12,
            "source_order_transaction_id": int(transaction["id"]),
            "date": transaction["created_at"],
            "amount": signed,
            "fee": fee,
            "net": signed - fee,
            "order_id": order["id"],
            "payout_id": None,
            "payout_status": None,
        }

    # === STRIPE ===

    @journaled
    def create_stripe_payout(
        self, status="paid", fee_tax_rate=None, settlement_currency=None
    ):
        """Stripe balance transactions for the Stripe charges and refunds of
        WooCommerce orders not yet paid out, and the payout that pays them.
        `fee_tax_rate` ("0.20"): the charges' fees include that VAT, stated
        as a `tax` fee detail (Stripe's fees in the EU).
        `settlement_currency` ("USD"): the account settles in that currency;
        charges in another one are converted (the charge keeps the buyer's
        amount and currency)."""
        state = self.state
        with state.lock:
            self._new_stripe_transactions(
                Decimal(str(fee_tax_rate)) if fee_tax_rate else Decimal(0),
                settlement_currency,
            )
            entries = [e for e in state.stripe_balance if not e["payout_id"]]
            if not entries:
                return None
            number = state.new_id("stripe_payout", 0)
            payout_id = f"po_sim{number:012d}"
            for entry in entries:
                entry["payout_id"] = payout_id
            payout = {
                "id": payout_id,
                "number": number,
                "created": int(state.wall_clock().timestamp()),
                "status": status,
                "currency": entries[0]["currency"],
                "amount": sum((e["amount"] - e["fee"] for e in entries), Decimal(0)),
            }
            state.stripe_payouts.append(payout)
            return {
                "id": payout_id,
                "net": money(payout["amount"]),
                "transactions": [e["id"] for e in entries],
            }

    @journaled
    def add_stripe_balance_transaction(
        self,
        type,  # noqa: A002
        amount,
        fee="0",
        charge=None,
        reporting_category=None,
    ):
        """A Stripe balance transaction besides the orders' own: "adjustment"
        with a dispute of `charge` (a chargeback), "stripe_fee",
        "reserve_transaction", or a "charge" Odoo never saw."""
        state = self.state
        source_kind = {"adjustment": "dispute", "charge": "charge"}.get(type)
        number = state.new_id("stripe_balance", 0)
        source_id = {
            "dispute": f"du_sim{number:012d}",
            "charge": charge or f"ch_sim{number:012d}",
        }.get(source_kind)
        with state.lock:
            entry = self._stripe_entry(
                number,
                type,
                amount=Decimal(str(amount)),
                fee=Decimal(str(fee)),
                source_kind=source_kind,
                source_id=source_id,
                category=reporting_category
                or ("dispute" if type == "adjustment" else type),
                charge=charge,
            )
            state.stripe_balance.append(entry)
            return {"id": entry["id"]}

    @journaled
    def set_stripe_payout_status(self, payout_id, status):
        """The Stripe payout moves on (in_transit, paid) or fails."""
        with self.state.lock:
            payout = next(p for p in self.state.stripe_payouts if p["id"] == payout_id)
            payout["status"] = status
            return {"id": payout_id, "status": status}

    def _new_stripe_transactions(self, fee_tax_rate=Decimal(0), settlement=None):
        state = self.state
        known = {e["source_id"] for e in state.stripe_balance}
        for order in state.woo_orders.values():
            charges = [
                t
                for t in order["transactions"]
                if t["gateway"] == "stripe" and t["authorization"]
            ]
            for charge in charges:
                if charge["authorization"] not in known:
                    number = state.new_id("stripe_balance", 0)
                    paid_in = order["presentment_currency"]
                    currency = settlement or paid_in
                    amount = _converted(charge["amount"], paid_in, currency)
                    fee = cents(amount * Decimal("0.029") + Decimal("0.30"))
                    entry = self._stripe_entry(
                        number,
                        "charge",
                        amount=amount,
                        fee=fee,
                        source_kind="charge",
                        source_id=charge["authorization"],
                        category="charge",
                        currency=currency,
                        fee_tax=cents(fee * fee_tax_rate / (1 + fee_tax_rate)),
                    )
                    if currency != paid_in:
                        entry["source_amount"] = charge["amount"]
                        entry["source_currency"] = paid_in.lower()
                    state.stripe_balance.append(entry)
            for refund in order["refunds"]:
                for transaction in refund["transactions"]:
                    ref = transaction["authorization"]
                    if transaction["gateway"] != "stripe" or not ref or ref in known:
                        continue
                    number = state.new_id("stripe_balance", 0)
                    state.stripe_balance.append(
                        self._stripe_entry(
                            number,
                            "refund",
                            amount=-transaction["amount"],
                            fee=Decimal(0),
                            source_kind="refund",
                            source_id=ref.replace("ch_", "re_", 1),
                            category="refund",
                            charge=charges[0]["authorization"] if charges else None,
                            currency=order["currency"],
                        )
                    )

    def _stripe_entry(
        self,
        number,
        kind,
        *,
        amount,
        fee,
        source_kind,
        source_id,
        category,
        charge=None,
        currency=None,
        fee_tax=Decimal(0),
    ):
        return {
            "id": f"txn_sim{number:012d}",
            "number": number,
            "type": kind,
            "reporting_category": category,
            "amount": amount,
            "fee": fee,
            "fee_tax": fee_tax,
            "currency": (currency or self.state.currency).lower(),
            "created": int(self.state.wall_clock().timestamp()),
            "source_kind": source_kind,
            "source_id": source_id,
            "charge": charge,
            "payout_id": None,
        }

    @journaled
    def slow_product_operations(self, polls=1):
        """Asynchronous productSet operations stay ACTIVE for `polls` polls
        before they complete (Shopify busy with a large product)."""
        self.state.product_operation_polls = int(polls)
        return {"polls": self.state.product_operation_polls}

    # === APP ===

    @journaled
    def uninstall_app(self):
        """The merchant uninstalls the app: the token is revoked,
        app/uninstalled is sent, then silence."""
        self.state.app_installed = False
        self.sender.shopify_event(
            [("app/uninstalled", app_uninstalled_payload(self.state))]
        )
        return {"ok": True}

    # === WAREHOUSE PARTNER ===

    def threepl_ship(self, request_id, lines=None, tracking_number=None, carrier=None):
        """The warehouse partner ships a request ({sku: units}, default all
        that is left) and confirms it to the connector."""
        return self.sim.threepl.ship(request_id, lines, tracking_number, carrier)

    @journaled
    def threepl_connect(self, webhook_url, ship_delay=None):
        """Where the warehouse partner sends its confirmations and snapshots
        (the connector's webhook URL of its backend), and the seconds after
        which it ships a request by itself (None: only when told)."""
        self.sim.threepl.webhook_url = webhook_url
        self.sim.threepl.ship_delay = ship_delay
        return {"webhook_url": webhook_url, "ship_delay": ship_delay}

    def threepl_snapshot(self, quantities=None):
        """The warehouse partner sends a stock snapshot ({sku: units})."""
        return self.sim.threepl.snapshot(quantities)

    # === FAULTS ===

    def inject(self, api, kind, count=1, seconds=None, **options):
        """Arm a fault (faults.py); e.g. inject("woocommerce", "429", 2)."""
        return self.state.inject(api, kind, count, seconds, **options)

    def clear_faults(self):
        self.state.faults.clear()
        return {"ok": True}

    def faults(self):
        """The faults still armed."""
        return self.state.faults.pending()

    # === READ BACK ===

    def report(self):
        """What the clients did, for assertions from another process."""
        state = self.state
        with state.lock:
            return {
                "levels": [
                    {"inventory_item": item, "location": location, "available": qty}
                    for (item, location), qty in sorted(state.levels.items())
                ],
                "woo_stock": {
                    str(p["id"]): p["stock_quantity"]
                    for p in state.woo_products.values()
                    if p["manage_stock"]
                },
                "mutations": list(state.mutations),
                "inventory_history": [
                    {**h, "at": iso_z(h["at"])} for h in state.level_history
                ],
                "fulfillments": [
                    {**f, "created_at": iso_z(f["created_at"])}
                    for f in state.fulfillments
                ],
                "calls": dict(state.calls),
                "cost": dict(state.cost),
                "idempotency_keys": list(state.idempotency_keys),
                "faults_fired": list(state.faults.fired),
                "webhooks": {
                    "shopify": [
                        {"id": w["id"], "topic": w["topic"], "uri": w["uri"]}
                        for w in state.shopify_webhooks.values()
                    ],
                    "woocommerce": [
                        {k: h[k] for k in ("id", "topic", "delivery_url", "status")}
                        | {"failure_count": h["failure_count"]}
                        for h in state.woo_webhooks.values()
                    ],
                },
            }

    def deliveries(self):
        return [
            {
                "channel": d.channel,
                "topic": d.topic,
                "url": d.url,
                "status": d.status,
                "attempt": d.attempt,
                "headers": d.headers,
                "body": d.body.decode("utf-8", "replace"),
            }
            for d in list(self.sender.deliveries)
        ]

    # === PERSISTENCE ===

    def snapshot(self):
        """Seed + journal + the levels clients set: enough to rebuild."""
        report = self.report()
        return {
            "seed": self.state.seed,
            "steps": list(self.journal),
            "levels": report["levels"],
            "woo_stock": report["woo_stock"],
        }

    def restore(self, snapshot):
        """Replay `snapshot()` (or a hand-written {"steps": [...]})."""
        for step in snapshot.get("steps", ()):
            arguments = dict(step)
            action = arguments.pop("action")
            if action not in REPLAYABLE:
                raise ValueError(f"Unknown scenario action {action}")
            getattr(self, action)(**{**arguments, **_quiet(action)})
        with self.state.lock:
            for level in snapshot.get("levels", ()):
                key = (level["inventory_item"], level["location"])
                if key in self.state.levels:
                    self.state.levels[key] = level["available"]
            for ref, quantity in snapshot.get("woo_stock", {}).items():
                if ref in self.state.woo_products:
                    self.state.woo_products[ref]["stock_quantity"] = quantity


REPLAYABLE = (
    "seed_catalogue",
    "set_inventory",
    "set_woo_stock",
    "create_order",
    "create_amazon_order",
    "update_order",
    "edit_order",
    "cancel_order",
    "refund_order",
    "create_return",
    "end_return",
    "open_dispute",
    "update_dispute",
    "create_payout",
    "add_balance_transaction",
    "set_payout_status",
    "create_stripe_payout",
    "add_stripe_balance_transaction",
    "set_stripe_payout_status",
    "uninstall_app",
)


def _quiet(action):
    """Replaying a journal does not re-send its webhooks."""
    silent = {
        "create_payout",
        "add_balance_transaction",
        "set_payout_status",
        "create_stripe_payout",
        "add_stripe_balance_transaction",
        "set_stripe_payout_status",
        "uninstall_app",
        "seed_catalogue",
        "create_return",
        "create_amazon_order",
    }
    return {} if action in silent else {"notify": False}


def _order_options(spec):
    """JSON-friendly options -> OrderBook options (lines as tuples)."""
    spec = dict(spec)
    if spec.get("lines"):
        spec["lines"] = [tuple(line) for line in spec["lines"]]
    if "currency" in spec:
        spec["presentment_currency"] = spec.pop("currency")
    return spec


def _payment_transactions(order):
    payments = [t for t in order["transactions"] if t["gateway"] == "shopify_payments"]
    refunds = [
        t
        for refund in order["refunds"]
        for t in refund["transactions"]
        if t["gateway"] == "shopify_payments"
    ]
    return payments + refunds


def _converted(amount, currency, settlement):
    """`amount` in `currency` as Stripe settles it in `settlement`."""
    if currency == settlement:
        return amount
    return cents(amount * RATES[settlement] / RATES[currency])


def _source_type(kind):
    if kind in ("charge", "refund"):
        return kind
    if "dispute" in kind or "chargeback" in kind:
        return "dispute"
    return "adjustment"


def _payout_summary(entries):
    charges = [e for e in entries if e["type"] == "charge"]
    refunds = [e for e in entries if e["type"] == "refund"]
    zero = Decimal(0)
    summary = {
        "chargesGross": sum((e["amount"] for e in charges), zero),
        "chargesFee": sum((e["fee"] for e in charges), zero),
        "refundsFeeGross": sum((e["amount"] for e in refunds), zero),
        "refundsFee": sum((e["fee"] for e in refunds), zero),
    }
    for key in (
        "adjustmentsFee",
        "adjustmentsGross",
        "advanceFees",
        "advanceGross",
        "reservedFundsFee",
        "reservedFundsGross",
        "retriedPayoutsFee",
        "retriedPayoutsGross",
        "usdcRebateCreditAmount",
    ):
        summary[key] = zero
    # Dispute withdrawals and reversals count as adjustments in Shopify's summary.
    summary["adjustmentsGross"] = sum(
        (e["amount"] for e in entries if e["source_type"] == "dispute"), zero
    )
    return summary
