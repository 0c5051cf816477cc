import hashlib

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters.records import UnreadableOrder
from ..adapters.redaction import get_logger
from ..adapters.webhooks import FLOW_ORDERS
from ..const import DONE, DUPLICATE, FAILED, IGNORED, ORDER_PULL_TOPIC
from ..sql import queries

_logger = get_logger(__name__)


class ChannelOrderBinding(models.Model):
    """A channel order bound to the sale order it was imported as.

    `_import_order` is the whole order-to-cash import of one canonical
    `OrderData`: idempotent (payload digest), safe against out-of-order
    deliveries (`channel_updated_at`) and against two workers at once
    (transaction advisory lock per backend and order, then the binding's
    unique index). An import that stopped on an exception (total mismatch,
    missing mapping, ...) leaves the binding `is_import_pending`: the next
    delivery, replay or Retry rebuilds the order even from the same version.
    """

    _name = "channel.order.binding"
    _description = "Channel Order Binding"
    _inherit = ["channel.binding.mixin"]
    _order = "id desc"
    _rec_name = "channel_name"

    # === FIELDS ===

    sale_order_id = fields.Many2one(
        "sale.order", index=True, ondelete="set null", readonly=True
    )
    channel_name = fields.Char(string="Channel order", readonly=True)
    channel_updated_at = fields.Datetime(readonly=True)
    payload_digest = fields.Char(readonly=True)
    financial_status = fields.Char(readonly=True)
    fulfillment_status = fields.Char(readonly=True)
    channel_total = fields.Monetary(currency_field="currency_id", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    is_on_hold = fields.Boolean(
        readonly=True, help="High risk or a total mismatch: not shipped until checked."
    )
    refund_ids = fields.One2many(
        "channel.refund.binding", "order_binding_id", string="Refunds"
    )
    fulfilment_ids = fields.One2many(
        "channel.fulfilment", "order_binding_id", string="Fulfilments"
    )
    fulfilment_state = fields.Selection(
        [
            ("pending", "To report"),
            ("failed", "Failed"),
            ("done", "Reported"),
        ],
        string="Channel fulfilment",
        compute="_compute_fulfilment_state",
        help="Failed when a delivery could not be reported, To report while "
        "one waits, Reported once every validated delivery is on the channel.",
    )
    is_import_pending = fields.Boolean(
        string="Import incomplete",
        readonly=True,
        copy=False,
        help="The last import stopped on an exception (total mismatch, missing "
        "mapping...): the next delivery, replay or Retry rebuilds the order, "
        "even from the same channel version.",
    )

    # === COMPUTE METHODS ===

    @api.depends("fulfilment_ids.state")
    def _compute_fulfilment_state(self):
        for binding in self:
            states = set(binding.fulfilment_ids.mapped("state"))
            binding.fulfilment_state = next(
                (state for state in ("failed", "pending", "done") if state in states),
                "done" if states else False,
            )

    # === BUSINESS METHODS ===

    @api.model
    def _import_order(self, backend, order, event=None):
        """Create or update the sale order of one canonical order.

        :param event: the event delivering the order, retry target of the
            exceptions its import records
        :return: (binding or empty, outcome), outcome being one of DONE,
            DUPLICATE (nothing changed), IGNORED (older than what we have, or
            waiting for payment) or FAILED (exceptions recorded)
        :raise RetryableJobError: another worker imported the order
            concurrently; a new transaction will see its work
        """
        return self._import_order_once(backend, order, event)

    @api.model
    def _enqueue_pulled_orders(self, backend, orders, priority, backfill=None):
        """Enqueue one import job per order a backfill or the reconciliation
        read from a page, on the order's `orders/pull` event: a bad or
        contended order never rolls back its neighbours.

        An order whose exact content was imported already gets no job; one the
        channel could not give (`UnreadableOrder`) is recorded as an exception.

        :param orders: `OrderData` or `UnreadableOrder` records
        """
        refs = [order.external_ref for order in orders if order.external_ref]
        bindings = {
            binding.external_ref: binding
            for binding in self.search(
                [("backend_id", "=", backend.id), ("external_ref", "in", refs)]
            )
        }
        Event = self.env["channel.event"]
        for order in orders:
            if isinstance(order, UnreadableOrder):
                self._record_pull_failure(backend, order, order.error, backfill)
                continue
            binding = bindings.get(order.external_ref)
            if binding and binding._has_applied(order):
                continue
            event = Event._get_pull_event(backend, order, backfill)
            if event:  # else a concurrent pull has queued its import
                event._enqueue_import(priority)

    @api.model
    def _record_pull_failure(self, backend, order, error, backfill=None):
        """A `validation` exception on the order's `orders/pull` event (the
        fingerprint its own failed Retry records under); without the order's
        id there is nothing to read again, so nothing to retry."""
        event = self.env["channel.event"]
        if order.external_ref:
            event = event._get_pull_event(backend, order, backfill)
            event.write({"state": FAILED, "error": error})
        self.env["channel.exception"]._record(
            "validation",
            self.env._(
                "Order %(name)s read from the channel could not be imported: %(error)s",
                name=order.name,
                error=error,
            ),
            backend=backend,
            key=None if event else f"pull:{order.name}",
            detail=error,
            retry_target=event or None,
        )

    @api.model
    def _import_order_once(self, backend, order, event):
        self._lock(backend, order.external_ref)
        try:
            with self.env.cr.savepoint():
                return self._import_locked(backend, order, event)
        except psycopg2.errors.UniqueViolation as exc:
            if not (exc.diag.table_name or "").startswith("channel_"):
                raise
            # The snapshot predates a concurrent import that created the same
            # bindings: a new transaction sees them (a clean duplicate).
            raise _concurrent_import(order, ignore_retry=False) from exc

    @api.model
    def _import_locked(self, backend, order, event):
        binding = self.search(
            [("backend_id", "=", backend.id), ("external_ref", "=", order.external_ref)]
        )
        if binding and binding._has_applied(order):
            return binding, DUPLICATE
        if binding and binding._is_newer_than(order):
            return binding, IGNORED
        action = backend._get_order_action(order)
        if binding:
            outcome = binding._update_from(order, action, event)
        elif action in ("wait", "cancel"):
            return binding, IGNORED
        else:
            binding, outcome = self._create_from(backend, order, action, event)
        pending = outcome == FAILED
        # Written only when it changes: an UPDATE of the binding per order else.
        if binding and binding.is_import_pending != pending:
            binding.is_import_pending = pending
        return binding, outcome

    def _lock(self, backend, external_ref):
        """Serialize imports of one channel order across workers (until commit).

        The transaction's snapshot is taken by its first query, before this
        lock can be: a worker that had to wait for the lock cannot see what
        the holder committed, so it gives up and the job runs again.
        """
        digest = hashlib.sha256(f"order:{backend.id}:{external_ref}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        if queries.try_lock(self.env.cr, key):
            return
        queries.wait_lock(self.env.cr, key)
        raise _concurrent_import(external_ref, ignore_retry=True)

    def _has_applied(self, order):
        """Whether this exact content was imported completely already.

        Only the payload digest says so: channels stamp `updated_at` in whole
        seconds, so two changes within a second share it, and the later one delivered
        must still be applied. The same version read another way (webhook
        body, then GraphQL) digests differently and is applied again, which
        the import makes harmless. An import that stopped on an exception has
        applied nothing for good: it is rebuilt whatever the digest.
        """
        return (
            not self.is_import_pending
            and self.payload_digest == order.source_payload_digest
        )

    def _is_newer_than(self, order):
        if not self.channel_updated_at or not order.updated_at:
            return False
        return self.channel_updated_at > order.updated_at.replace(tzinfo=None)

    @api.model
    def _create_from(self, backend, order, action, event):
        company, warehouse = backend._route_order(order)
        values = self.env["sale.order"]._prepare_channel_order(
            backend, order, company, event, warehouse=warehouse
        )
        if values is None:
            return self, FAILED
        sale_order = self.env["sale.order"].with_company(company).create(values)
        binding = self.create(
            {
                **self._binding_values(backend, order),
                "company_id": company.id,
                "sale_order_id": sale_order.id,
            }
        )
        return binding, binding._apply_action(order, action, event)

    def _update_from(self, order, action, event):
        """A later state of an imported order: cancel, or refresh a quotation."""
        sale_order = self.sale_order_id
        if action == "cancel":
            return self._cancel(order, event)
        if sale_order.state in ("draft", "sent"):
            values = self.env["sale.order"]._prepare_channel_order(
                self.backend_id,
                order,
                sale_order.company_id,
                event,
                warehouse=sale_order.warehouse_id,
            )
            if values is None:
                return FAILED
            sale_order.order_line.unlink()
            # Lines after the header: rewriting `company_id` recomputes the
            # taxes of lines already there, replacing the channel's taxes by
            # the products' defaults.
            lines = values.pop("order_line")
            sale_order.write(values)
            sale_order.write({"order_line": lines})
        elif sale_order.state == "sale":
            self._follow_address_change(order)
        self.write(self._binding_values(self.backend_id, order))
        return self._apply_action(order, action, event)

    @api.model
    def _binding_values(self, backend, order):
        currency = self.env["res.currency"].search([("name", "=", order.currency)])
        return {
            "backend_id": backend.id,
            "external_ref": order.external_ref,
            "channel_name": order.name,
            "channel_updated_at": order.updated_at
            and order.updated_at.replace(tzinfo=None),
            "payload_digest": order.source_payload_digest,
            "financial_status": order.financial_status,
            "fulfillment_status": order.fulfillment_status,
            "channel_total": float(order.total),
            "currency_id": currency.id,
            "sync_date": fields.Datetime.now(),
        }

    def _apply_action(self, order, action, event):
        """Hold a high-risk order, check the total, then confirm, invoice and
        pay as the backend says."""
        sale_order = self.sale_order_id
        backend = self.backend_id
        if order.is_high_risk:
            # Held whatever the action: a quotation confirmed later stays held.
            self.is_on_hold = True
            sale_order._channel_hold_for_risk(order, backend)
        if not self._check_total(order, event):
            self.is_on_hold = True
            return FAILED
        # The totals agree (again): only the risk still holds the order.
        if self.is_on_hold != sale_order.channel_risk_hold:
            self.is_on_hold = sale_order.channel_risk_hold
        if action != "confirm" or not backend.order_confirm:
            return DONE
        if sale_order.state in ("draft", "sent"):
            sale_order.action_confirm()
            backend._on_channel_order_confirmed(sale_order, order)
        if backend.order_create_invoice and sale_order._channel_invoice_and_pay(
            order, backend, self
        ):
            # Payment problems of the order are the binding's to resolve.
            self.env["channel.exception"]._resolve(backend, retry_target=self)
        self.env["channel.exception"]._resolve(
            backend, retry_target=event
        ) if event else None
        return DONE

    def _channel_retry(self):
        """Retry hook of `channel.exception` for payment problems: register
        the order's captures again (e.g. once a gateway has its journal)."""
        self.ensure_one()
        sale_order = self.sale_order_id
        if not sale_order or sale_order.state != "sale":
            return False
        order = self._get_channel_order()
        paid = sale_order._channel_invoice_and_pay(order, self.backend_id, self)
        return paid

    def _get_channel_order(self):
        """The canonical order as the channel holds it now, when the backend
        reads orders; else as its latest delivered body says."""
        backend = self.backend_id
        adapter = backend._get_adapter(priority="orders")
        if backend.supports_order_pull and backend.order_read_from_channel:
            return self.env["channel.event"]._fetch_order(adapter, self.external_ref)
        event = self.env["channel.event"].search(
            [
                ("backend_id", "=", backend.id),
                ("resource_ref", "=", self.external_ref),
                ("flow", "=", FLOW_ORDERS),
                ("topic", "!=", ORDER_PULL_TOPIC),
            ],
            limit=1,
        )
        if not event:
            raise UserError(
                self.env._("No delivery of order %s is stored.", self.channel_name)
            )
        return adapter.parse_order(event._get_payload())

    def _check_total(self, order, event):
        """Odoo's total must equal the channel's to the cent.

        Except for what currency conversion explains: when the buyer paid in
        another currency, the channel converts each amount on its own, so the
        converted parts may miss the converted total by up to half a cent
        each. That gap is booked on a tax-free rounding line, so that the
        invoice equals what the channel settles; a larger one is a mismatch.
        """
        sale_order = self.sale_order_id
        currency = sale_order.currency_id
        expected = float(order.total)
        gap = currency.round(expected - sale_order.amount_total)
        tolerance = currency.rounding * order.converted_amounts() / 2
        if order.is_converted and gap and abs(gap) <= tolerance:
            sale_order.order_line = [
                sale_order._channel_conversion_rounding_command(self.backend_id, gap)
            ]
        if not float_compare(
            sale_order.amount_total, expected, precision_rounding=currency.rounding
        ):
            self.env["channel.exception"]._resolve(
                self.backend_id, exception_type="total_mismatch", key=order.external_ref
            )
            return True
        self.env["channel.exception"]._record(
            "total_mismatch",
            self.env._(
                "Order %(name)s totals %(odoo)s in Odoo but %(channel)s on the "
                "channel.",
                name=order.name,
                odoo=currency.format(sale_order.amount_total),
                channel=currency.format(expected),
            ),
            backend=self.backend_id,
            key=order.external_ref,
            detail=f"odoo={sale_order.amount_total} channel={order.total} "
            f"tax_odoo={sale_order.amount_tax} tax_channel={order.total_tax}",
            documents=[sale_order, sale_order.partner_id],
            retry_target=event,
        )
        return False

    def _cancel(self, order, event):
        """Cancel the sale order, unless goods left or an invoice was posted."""
        sale_order = self.sale_order_id
        if sale_order.state == "cancel":
            return DONE
        shipped = any(p.state == "done" for p in sale_order.picking_ids)
        posted = any(
            i.state == "posted" and i.move_type == "out_invoice"
            for i in sale_order.invoice_ids
        )
        if posted:
            self._cancel_invoiced(order)
            self.write(self._binding_values(self.backend_id, order))
            return DONE
        if shipped:
            self.env["channel.exception"]._record(
                "validation",
                self.env._(
                    "Order %(name)s was cancelled on the channel but is already "
                    "delivered in Odoo and not invoiced: cancel it by hand.",
                    name=order.name,
                ),
                backend=self.backend_id,
                key=f"cancel:{order.external_ref}",
                documents=[sale_order],
            )
            self.write(self._binding_values(self.backend_id, order))
            return FAILED
        sale_order._action_cancel()
        self.write(self._binding_values(self.backend_id, order))
        return DONE

    def _cancel_invoiced(self, order):
        """Give an invoiced order back whole: the channel's own refunds first
        (so nothing is credited twice), then a credit note of what they left;
        an order with nothing shipped is cancelled once credited whole."""
        backend = self.backend_id
        Refund = self.env["channel.refund.binding"]
        if order.refund_refs and backend.supports_refund_import:
            adapter = backend._get_adapter(priority="orders")
            Refund._sync_order_refunds(self, order.refund_refs, adapter)
        cancellation = Refund._apply_cancellation(self)
        sale_order = self.sale_order_id
        shipped = any(p.state == "done" for p in sale_order.picking_ids)
        # Credited whole: by the cancellation, or by the channel's refunds.
        credited = cancellation.state in ("done", False)
        if credited and not shipped and Refund._is_fully_credited(self):
            sale_order._action_cancel()


def _concurrent_import(order_or_ref, ignore_retry):
    ref = getattr(order_or_ref, "external_ref", order_or_ref)
    return RetryableJobError(
        f"Channel order {ref} was imported by another worker meanwhile.",
        seconds=1,
        ignore_retry=ignore_retry,
    )
