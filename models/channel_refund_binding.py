import hashlib
from collections import defaultdict
from decimal import Decimal

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters.exceptions import ChannelPayloadError
from ..adapters.records import (
    RESTOCK_RETURN,
    ChannelRefund,
    PaymentTransactionData,
    RefundLineData,
)
from ..const import DONE, DUPLICATE
from ..sql import queries

# Seconds before a refund whose order is not imported yet is tried again.
ORDER_WAIT_SECONDS = 60


class ChannelRefundBinding(models.Model):
    """One channel refund and the two records it becomes in Odoo: a credit
    note (paid back by an outbound payment) and a stock return.

    `(backend_id, external_ref)` is unique: a duplicate delivery, a replay, a
    backfill or a reconciliation pull applies a refund once. Each half is
    applied on its own, so a Retry completes only the half that is missing.
    """

    _name = "channel.refund.binding"
    _description = "Channel Refund"
    _inherit = ["channel.binding.mixin"]
    _order = "id desc"
    _rec_name = "name"

    # === FIELDS ===

    name = fields.Char(readonly=True)
    order_binding_id = fields.Many2one(
        "channel.order.binding",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    sale_order_id = fields.Many2one(related="order_binding_id.sale_order_id")
    refund_date = fields.Datetime(readonly=True)
    channel_total = fields.Monetary(
        currency_field="currency_id",
        readonly=True,
        help="What the credit note must equal: the money the channel gave "
        "back, or what the refund is worth when no money moved.",
    )
    currency_id = fields.Many2one("res.currency", readonly=True)
    credit_note_id = fields.Many2one("account.move", readonly=True, copy=False)
    payment_ids = fields.Many2many("account.payment", readonly=True, copy=False)
    return_picking_ids = fields.Many2many(
        "stock.picking", string="Returns", readonly=True, copy=False
    )
    is_awaiting_receipt = fields.Boolean(
        compute="_compute_is_awaiting_receipt",
        store=True,
        help="A return of the refunded goods waits for the warehouse.",
    )
    state = fields.Selection(
        [("pending", "Pending"), ("incomplete", "Incomplete"), ("done", "Done")],
        default="pending",
        required=True,
        readonly=True,
        index=True,
    )
    is_cancellation = fields.Boolean(
        readonly=True,
        help="A cancellation after invoicing: the whole invoice is credited.",
    )
    is_payment_done = fields.Boolean(readonly=True, copy=False)
    is_stock_done = fields.Boolean(readonly=True, copy=False)
    missing = fields.Char(
        readonly=True, help="The half of the refund not applied yet, and why."
    )

    # === COMPUTE METHODS ===

    @api.depends("return_picking_ids.state")
    def _compute_is_awaiting_receipt(self):
        for binding in self:
            binding.is_awaiting_receipt = any(
                picking.state not in ("done", "cancel")
                for picking in binding.return_picking_ids
            )

    # === BUSINESS METHODS ===

    @api.model
    def _apply_channel_refund(self, backend, refund, values=None):
        """Bind one canonical `ChannelRefund` and apply what is not applied.

        :param values: further values of a new binding (a chargeback's)

        :return: (binding, DONE or DUPLICATE); the binding is `incomplete`
            when a half failed (a `refund_incomplete` exception says which)
        :raise RetryableJobError: its order is not imported and confirmed yet
        """
        self._lock(backend, refund.external_ref)
        self._lock_order(backend, refund.order_ref)
        binding = self.search(
            [
                ("backend_id", "=", backend.id),
                ("external_ref", "=", refund.external_ref),
            ]
        )
        if binding.state == "done":
            return binding, DUPLICATE
        order_binding = binding.order_binding_id or self._find_order(backend, refund)
        if not binding:
            binding = self.create(
                {**self._binding_values(order_binding, refund), **(values or {})}
            )
            if binding._credited_by_cancellation(refund):
                return binding, DONE
        binding._apply(refund)
        return binding, DONE

    def _credited_by_cancellation(self, refund):
        """A refund delivered after a cancellation credited what the invoice
        still held gives back the same money: it is bound, not booked again;
        its refund transaction names the cancellation's payment of the same
        amount, so that the payout matches it."""
        cancellation = self.search(
            [
                ("backend_id", "=", self.backend_id.id),
                ("external_ref", "=", f"cancel:{self.order_binding_id.external_ref}"),
                ("credit_note_id.state", "=", "posted"),
            ]
        )
        if not cancellation:
            return False
        self.write({"state": "done", "is_payment_done": True, "is_stock_done": True})
        cancellation._adopt_transactions(refund)
        self.sale_order_id.message_post(
            body=self.env._(
                "%(refund)s arrived after %(cancellation)s credited what the "
                "invoice still held: it is not booked again.",
                refund=self.name,
                cancellation=cancellation.name,
            )
        )
        return True

    def _adopt_transactions(self, refund):
        """Name the cancellation's payments after the channel's refund
        transactions of the same amount (they were paid before the channel
        said which transaction gave the money back)."""
        unnamed = self.payment_ids.filtered(lambda p: not p.channel_processor_ref)
        for transaction in refund.refund_transactions:
            payment = unnamed.filtered(
                lambda p, t=transaction: (
                    not p.currency_id.compare_amounts(p.amount, float(t.amount))
                )
            )[:1]
            if not payment:
                continue
            unnamed -= payment
            payment.sudo().write(
                {
                    "memo": transaction.transaction_ref or payment.memo,
                    "channel_transaction_ref": transaction.external_ref or False,
                    "channel_processor_ref": transaction.transaction_ref or False,
                }
            )

    @api.model
    def _sync_order_refunds(self, order_binding, refund_refs, adapter):
        """Apply the refunds an imported order lists and Odoo lacks (an order
        imported already refunded, a refund delivery lost); one bad refund is
        an exception, not a failed order import."""
        backend = order_binding.backend_id
        if order_binding.sale_order_id.state != "sale":
            return
        done = self.search(
            [
                ("backend_id", "=", backend.id),
                ("external_ref", "in", list(refund_refs)),
                ("state", "=", "done"),
            ]
        ).mapped("external_ref")
        for ref in refund_refs:
            if ref in done:
                continue
            try:
                with self.env.cr.savepoint():
                    with backend._map_channel_errors():
                        refund = adapter.fetch_refund(ref, order_binding.external_ref)
                    self._apply_channel_refund(backend, refund)
            except (ChannelPayloadError, UserError) as exc:
                self._record_incomplete(
                    backend,
                    ref,
                    self.env._(
                        "Refund %(ref)s of order %(order)s could not be read: "
                        "%(error)s",
                        ref=ref,
                        order=order_binding.channel_name,
                        error=exc,
                    ),
                    documents=[order_binding.sale_order_id],
                )

    @api.model
    def _apply_cancellation(self, order_binding):
        """Credit and pay back what the invoice of an order cancelled on the
        channel still holds after its refunds, return what shipped and cancel
        what did not; keyed `cancel:<order ref>`, so a replayed cancellation
        applies once.

        :return: the binding, or an empty one when the channel's own refunds
            already gave everything back
        """
        backend = order_binding.backend_id
        ref = f"cancel:{order_binding.external_ref}"
        self._lock(backend, ref)
        self._lock_order(backend, order_binding.external_ref)
        binding = self.search(
            [("backend_id", "=", backend.id), ("external_ref", "=", ref)]
        )
        if binding.state == "done":
            return binding
        try:
            refund = self._cancellation_refund(order_binding, binding.credit_note_id)
        except UserError as exc:
            self._record_incomplete(
                backend, ref, str(exc), documents=[order_binding.sale_order_id]
            )
            return binding
        if refund is None:
            return binding
        if not binding:
            binding = self.create(
                {
                    **self._binding_values(order_binding, refund),
                    "is_cancellation": True,
                    "channel_total": float(refund.total),
                    "name": self.env._(
                        "Cancellation of %s", order_binding.channel_name
                    ),
                }
            )
        binding._apply(refund)
        return binding

    @api.model
    def _cancellation_refund(self, order_binding, own_credit_note=None):
        """What is left of the posted invoice as one canonical refund: every
        line not credited yet restocks, the money still held goes back
        through the journal it came in; None when credit notes already cover
        the invoice."""
        invoice = self._posted_invoice(order_binding)
        credited = self._credited_notes(invoice, own_credit_note)
        currency = invoice.currency_id
        left = currency.round(
            invoice.amount_total - sum(credited.mapped("amount_total"))
        )
        if currency.compare_amounts(left, 0) <= 0:
            return None
        credited_qty = self._credited_quantities(credited)
        lines = tuple(
            RefundLineData(
                external_ref=None,
                line_ref=line.channel_line_ref,
                quantity=Decimal(str(line.product_uom_qty - credited_qty[line])),
                subtotal=Decimal(0),
                restock_type=RESTOCK_RETURN,
            )
            for line in order_binding.sale_order_id.order_line
            if line.channel_line_ref
            and line.product_id.type == "consu"
            and line.product_uom_qty - credited_qty[line] > 0
        )
        return ChannelRefund(
            external_ref=f"cancel:{order_binding.external_ref}",
            order_ref=order_binding.external_ref,
            provider=order_binding.backend_id.provider,
            currency=currency.name,
            total=Decimal(str(left)),
            lines=lines,
            transactions=self._cancellation_transactions(
                order_binding.backend_id, invoice, credited, left
            ),
        )

    @api.model
    def _credited_notes(self, invoice, own_credit_note=None):
        """The posted credit notes of `invoice`, but the cancellation's own."""
        return invoice.reversal_move_ids.filtered(lambda m: m.state == "posted") - (
            own_credit_note or self.env["account.move"]
        )

    @api.model
    def _credited_quantities(self, credit_notes):
        """{sale line: quantity credited} by the credit notes' lines."""
        quantities = defaultdict(float)
        for line in credit_notes.invoice_line_ids:
            for sale_line in line.sale_line_ids:
                if line.product_id == sale_line.product_id:
                    quantities[sale_line] += line.quantity
        return quantities

    @api.model
    def _cancellation_transactions(self, backend, invoice, credited, left):
        """One refund per gateway the invoice was paid through (its journal's
        mapping), for what that gateway took and has not given back yet; no
        more than `left` in all."""
        mappings = self.env["channel.payment.mapping"].search(
            [("backend_id", "=", backend.id)]
        )
        currency = invoice.currency_id
        payments = invoice._get_reconciled_payments()
        refunded = credited._get_reconciled_payments()
        transactions = []
        for journal in payments.journal_id:
            # A routed company pays in the twin of the mapped journal.
            mapping = mappings.filtered(
                lambda m, journal=journal: (
                    m.journal_id.code == journal.code
                    and m.journal_id.type == journal.type
                )
            )[:1]
            amount = min(
                left,
                currency.round(
                    sum(
                        payments.filtered(
                            lambda p, j=journal: p.journal_id == j
                        ).mapped("amount")
                    )
                    - sum(
                        refunded.filtered(
                            lambda p, j=journal: p.journal_id == j
                        ).mapped("amount")
                    )
                ),
            )
            if currency.compare_amounts(amount, 0) <= 0:
                continue
            left = currency.round(left - amount)
            transactions.append(
                PaymentTransactionData(
                    external_ref=f"cancel-{journal.id}",
                    gateway=mapping.gateway or None,
                    kind="refund",
                    status="success",
                    amount=Decimal(str(amount)),
                    currency=currency.name,
                )
            )
        return tuple(transactions)

    @api.model
    def _is_fully_credited(self, order_binding):
        """Whether posted credit notes give the whole posted invoice back."""
        invoice = order_binding.sale_order_id.invoice_ids.filtered(
            lambda m: m.move_type == "out_invoice" and m.state == "posted"
        )[:1]
        credited = sum(self._credited_notes(invoice).mapped("amount_total"))
        return bool(invoice) and (
            invoice.currency_id.compare_amounts(credited, invoice.amount_total) >= 0
        )

    @api.model
    def _posted_invoice(self, order_binding):
        invoice = order_binding.sale_order_id.invoice_ids.filtered(
            lambda m: m.move_type == "out_invoice" and m.state == "posted"
        )[:1]
        if not invoice:
            # Crediting revenue never invoiced would misstate it.
            raise UserError(
                self.env._(
                    "Order %s has no posted invoice to credit.",
                    order_binding.channel_name,
                )
            )
        return invoice

    @api.model
    def _find_order(self, backend, refund):
        """The confirmed order binding of the refund (or of an order credited
        whole by its cancellation), else wait for it."""
        order_binding = self.env["channel.order.binding"].search(
            [("backend_id", "=", backend.id), ("external_ref", "=", refund.order_ref)]
        )
        cancelled = order_binding.sale_order_id.state == "cancel" and self.search_count(
            [
                ("backend_id", "=", backend.id),
                ("external_ref", "=", f"cancel:{refund.order_ref}"),
                ("state", "=", "done"),
            ]
        )
        if order_binding.sale_order_id.state != "sale" and not cancelled:
            raise RetryableJobError(
                f"Refund {refund.external_ref} waits for its order "
                f"{refund.order_ref} to be imported and confirmed.",
                seconds=ORDER_WAIT_SECONDS,
            )
        return order_binding

    @api.model
    def _binding_values(self, order_binding, refund):
        currency = self.env["res.currency"].search([("name", "=", refund.currency)])
        return {
            "backend_id": order_binding.backend_id.id,
            "company_id": order_binding.company_id.id,
            "external_ref": refund.external_ref,
            "order_binding_id": order_binding.id,
            "name": self.env._(
                "Refund %(ref)s of %(order)s",
                ref=refund.external_ref,
                order=order_binding.channel_name,
            ),
            "refund_date": refund.created_at and refund.created_at.replace(tzinfo=None),
            "channel_total": float(refund.expected_total()),
            "currency_id": (currency or order_binding.currency_id).id,
            "sync_date": fields.Datetime.now(),
        }

    def _lock(self, backend, external_ref):
        """Serialize the application of one refund across workers."""
        if not queries.try_lock(self.env.cr, self._lock_key(backend, external_ref)):
            raise RetryableJobError(
                f"Refund {external_ref} is being applied by another worker.",
                seconds=1,
                ignore_retry=True,
            )

    def _lock_order(self, backend, order_ref):
        """Serialize what credits one order (its refunds, its cancellation):
        each reads the credit notes the others post."""
        key = self._lock_key(backend, f"order:{order_ref}")
        if not queries.try_lock(self.env.cr, key):
            raise RetryableJobError(
                f"Order {order_ref} is being credited by another worker.",
                seconds=1,
                ignore_retry=True,
            )

    @api.model
    def _lock_key(self, backend, name):
        digest = hashlib.sha256(f"refund:{backend.id}:{name}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def _apply(self, refund):
        """Apply each half not applied yet: credit note, payment, stock."""
        self.ensure_one()
        missing = []
        if self._apply_credit_note(refund):
            if not self._apply_payment(refund):
                missing.append(self.env._("refund payment"))
        else:
            missing.append(self.env._("credit note"))
        if not self._apply_stock_half(refund):
            missing.append(self.env._("stock return"))
        if self.is_cancellation and self.is_payment_done:
            self._settle_with_invoice()
        self.write(
            {
                "state": "incomplete" if missing else "done",
                "missing": ", ".join(missing) or False,
                "sync_date": fields.Datetime.now(),
            }
        )
        if not missing:
            self.env["channel.exception"]._resolve(
                self.backend_id,
                exception_type="refund_incomplete",
                key=f"refund:{self.external_ref}",
            )

    def _settle_with_invoice(self):
        """A cancellation's credit note and its invoice offset what no payment
        settled (an invoice cancelled unpaid or partly paid)."""
        credit_note = self.credit_note_id
        lines = (credit_note | credit_note.reversed_entry_id).line_ids.filtered(
            lambda line: (
                line.account_id.account_type == "asset_receivable"
                and not line.reconciled
            )
        )
        if lines.filtered("debit") and lines.filtered("credit"):
            lines.reconcile()

    def _channel_retry(self):
        """Retry hook of `channel.exception`: read the refund again and apply
        only the halves still missing."""
        self.ensure_one()
        if self.state == "done":
            return True
        self._apply(self._read_refund())
        return self.state == "done"

    def _read_refund(self):
        """The refund again: rebuilt for a cancellation, from its latest
        delivery when the channel pushes whole refunds, else read."""
        if self.is_cancellation:
            return self._cancellation_refund(self.order_binding_id, self.credit_note_id)
        adapter = self.backend_id._get_adapter(priority="orders")
        if adapter.refund_payload_topics:
            event = self.env["channel.event"].search(
                [
                    ("backend_id", "=", self.backend_id.id),
                    ("topic", "in", list(adapter.refund_payload_topics)),
                    ("resource_ref", "=", self.external_ref),
                ],
                limit=1,
            )
            return adapter.parse_refund(event._get_payload())
        with self.backend_id._map_channel_errors():
            return adapter.fetch_refund(
                self.external_ref, self.order_binding_id.external_ref
            )

    @api.model
    def _record_incomplete(self, backend, ref, message, documents=(), target=None):
        return self.env["channel.exception"]._record(
            "refund_incomplete",
            message,
            backend=backend,
            key=f"refund:{ref}",
            documents=list(documents),
            retry_target=target,
        )

    # --- credit note

    def _apply_credit_note(self, refund):
        """Create (or rebuild a draft) credit note and post it when its total
        equals the channel's figure; whether it is posted."""
        credit_note = self.credit_note_id
        if credit_note.state == "posted":
            return True
        if credit_note.state == "draft":
            # Rebuilt from the channel's figures: a mapping may have been fixed.
            credit_note.unlink()
        try:
            with self.env.cr.savepoint():
                self.credit_note_id = self._create_credit_note(refund)
        except UserError as exc:
            self._record_incomplete(
                self.backend_id,
                self.external_ref,
                self.env._(
                    "%(refund)s: no credit note could be made: %(error)s",
                    refund=self.name,
                    error=exc,
                ),
                documents=[self.sale_order_id],
                target=self,
            )
            return False
        return self._check_credit_note_total(refund) and self._post_credit_note()

    def _post_credit_note(self):
        self.credit_note_id.action_post()
        return True

    def _check_credit_note_total(self, refund):
        credit_note = self.credit_note_id
        currency = credit_note.currency_id
        expected = float(
            refund.total if self.is_cancellation else refund.expected_total()
        )
        if not float_compare(
            credit_note.amount_total, expected, precision_rounding=currency.rounding
        ):
            return True
        self._record_incomplete(
            self.backend_id,
            self.external_ref,
            self.env._(
                "%(refund)s: the credit note totals %(odoo)s but the channel "
                "refunded %(channel)s (%(gap)s apart); it is left in draft.",
                refund=self.name,
                odoo=currency.format(credit_note.amount_total),
                channel=currency.format(expected),
                gap=currency.format(
                    currency.round(credit_note.amount_total - expected)
                ),
            ),
            documents=[self.sale_order_id],
            target=self,
        )
        return False

    def _create_credit_note(self, refund):
        sale_order = self.sale_order_id
        company = sale_order.company_id
        invoice = self._posted_invoice(self.order_binding_id)
        values = {
            "move_type": "out_refund",
            "partner_id": invoice.partner_id.id,
            "currency_id": sale_order.currency_id.id,
            "invoice_origin": sale_order.name,
            "ref": self.name,
            "reversed_entry_id": invoice.id,
            "journal_id": invoice.journal_id.id,
            "invoice_line_ids": self._cancellation_lines(invoice)
            if self.is_cancellation
            else self._credit_note_lines(refund),
        }
        Move = self.env["account.move"].with_company(company)
        credit_note = Move.create(values)
        if self.is_cancellation and not self._splits_taxes_as_left(
            credit_note, invoice
        ):
            # Taxes rounded per line: only the invoice's lines less the
            # credited ones, line by line, leave exactly the tax not credited.
            credit_note.unlink()
            values["invoice_line_ids"] = self._cancellation_netted_lines(invoice)
            credit_note = Move.create(values)
        return credit_note

    def _splits_taxes_as_left(self, credit_note, invoice):
        """Whether the credit note gives back exactly the tax the invoice's
        credit notes left."""
        credited = self._credited_notes(invoice, credit_note)
        left = invoice.amount_tax - sum(credited.mapped("amount_tax"))
        return not invoice.currency_id.compare_amounts(credit_note.amount_tax, left)

    def _credit_note_lines(self, refund):
        """Refunded lines at their invoiced price and taxes, the discount they
        carried, refunded shipping and adjustments."""
        backend = self.backend_id
        commands = []
        for line in refund.lines:
            sale_line = self._sale_line(line.line_ref, line.sku)
            gross = Decimal(str(sale_line.price_unit)) * line.quantity
            commands.append(
                self._line_command(
                    sale_line.product_id,
                    sale_line.name,
                    sale_line.price_unit,
                    sale_line.tax_ids,
                    quantity=float(line.quantity),
                    sale_line=sale_line,
                )
            )
            discount = gross - line.subtotal
            if discount:
                commands.append(
                    self._line_command(
                        backend.discount_product_id,
                        self.env._("Discount on %s", sale_line.name),
                        -float(discount),
                        sale_line.tax_ids,
                    )
                )
        shipping_taxes = self.sale_order_id.order_line.filtered(
            lambda sol: sol.product_id == backend.shipping_product_id
        )[:1].tax_ids
        for shipping in refund.shipping_lines:
            commands.append(
                self._line_command(
                    backend.shipping_product_id,
                    self.env._("Refunded shipping"),
                    float(shipping.amount),
                    shipping_taxes,
                )
            )
        for adjustment in refund.adjustments:
            product = backend.refund_adjustment_product_id
            commands.append(
                self._line_command(
                    product,
                    adjustment.reason or product.name,
                    float(adjustment.amount),
                    self.env["account.tax"],
                )
            )
        if not commands:
            raise UserError(self.env._("The refund refunds nothing."))
        return commands

    def _cancellation_lines(self, invoice):
        """What is left of the invoice: its goods lines for the quantities
        not credited yet, as invoiced (price, discount, taxes, sale line),
        shipping and other lines for the amount not credited yet, and per tax
        one balance of the discounts and adjustments earlier refunds carried,
        so that the credit note equals the invoice minus its credit notes."""
        credited = self._credited_notes(invoice, self.credit_note_id)
        credited_qty = self._credited_quantities(credited)
        backend = self.backend_id
        balance_products = (
            backend.discount_product_id | backend.refund_adjustment_product_id
        )
        amount_products = balance_products | backend.shipping_product_id
        commands = []
        # Per tax set: invoiced, minus credited, minus what this credit
        # note's lines give back; what remains is the balance line.
        balances = defaultdict(float)
        amounts = defaultdict(float)
        for line in invoice.invoice_line_ids.filtered(
            lambda line: line.display_type == "product"
        ):
            taxes = line.tax_ids
            balances[taxes] += _line_amount(line, line.quantity)
            sale_line = line.sale_line_ids[:1]
            if (
                sale_line.channel_line_ref
                and line.product_id == sale_line.product_id
                and line.product_id not in amount_products
            ):
                quantity = line.quantity - credited_qty.pop(sale_line, 0.0)
                if quantity > 0:
                    commands.append(self._invoice_line_command(line, quantity))
                    balances[taxes] -= _line_amount(line, quantity)
            elif line.product_id not in balance_products:
                amounts[(line.product_id, taxes)] += _line_amount(line, line.quantity)
        for line in credited.invoice_line_ids.filtered(
            lambda line: line.display_type == "product"
        ):
            balances[line.tax_ids] -= _line_amount(line, line.quantity)
            key = (line.product_id, line.tax_ids)
            if key in amounts:
                amounts[key] -= _line_amount(line, line.quantity)
        return commands + self._amount_commands(amounts, balances, invoice.currency_id)

    def _amount_commands(self, amounts, balances, currency):
        """One line per (product, taxes) of `amounts` not credited yet, then
        per tax set the balance the lines leave."""
        commands = []
        for (product, taxes), total in amounts.items():
            amount = currency.round(total)
            if not currency.is_zero(amount):
                commands.append(
                    self._line_command(product, product.display_name, amount, taxes)
                )
                balances[taxes] -= amount
        for taxes, amount in balances.items():
            if not currency.is_zero(amount):
                commands.append(
                    self._line_command(
                        self.backend_id.discount_product_id,
                        self.env._("Balance of earlier refunds and discounts"),
                        currency.round(amount),
                        taxes,
                    )
                )
        return commands

    def _cancellation_netted_lines(self, invoice):
        """The invoice's lines, less each line its credit notes hold (a
        negative quantity): longer than `_cancellation_lines` but exact to
        the cent in every tax when taxes are rounded per line."""
        credited = self._credited_notes(invoice, self.credit_note_id)
        commands = [
            self._invoice_line_command(line, line.quantity)
            for line in invoice.invoice_line_ids
            if line.display_type == "product"
        ]
        for line in credited.invoice_line_ids:
            if line.display_type != "product":
                continue
            command = self._invoice_line_command(line, -line.quantity)
            command[2]["name"] = self.env._(
                "Credited by %(move)s: %(line)s",
                move=line.move_id.name,
                line=line.name,
            )
            commands.append(command)
        return commands

    def _invoice_line_command(self, line, quantity):
        return Command.create(
            {
                "product_id": line.product_id.id,
                "name": line.name,
                "quantity": quantity,
                "price_unit": line.price_unit,
                "discount": line.discount,
                "tax_ids": [Command.set(line.tax_ids.ids)],
                "sale_line_ids": [Command.set(line.sale_line_ids.ids)],
            }
        )

    def _line_command(
        self, product, label, price, taxes, *, quantity=1.0, sale_line=None
    ):
        if not product:
            raise UserError(
                self.env._(
                    "Set the refund products on backend %s.", self.backend_id.name
                )
            )
        values = {
            "product_id": product.id,
            "name": label or product.display_name,
            "quantity": quantity,
            "price_unit": price,
            "tax_ids": [Command.set(taxes.ids)],
        }
        if sale_line:
            values["sale_line_ids"] = [Command.set(sale_line.ids)]
        return Command.create(values)

    def _sale_line(self, line_ref, sku=None):
        """The sale line of a refunded channel line, by the channel line's id,
        else by SKU when that names exactly one line of the order."""
        lines = self.sale_order_id.order_line
        if line_ref:
            sale_line = lines.filtered(lambda sol: sol.channel_line_ref == line_ref)[:1]
        else:
            products = (
                self.env["channel.product.binding"]
                .search([("backend_id", "=", self.backend_id.id), ("sku", "=", sku)])
                .product_id
            )
            sale_line = lines.filtered(
                lambda sol: (
                    sol.channel_line_ref
                    and (
                        sol.product_id in products or sol.product_id.default_code == sku
                    )
                )
            )
            if len(sale_line) > 1:
                raise UserError(
                    self.env._(
                        "Order %(order)s has several lines of SKU %(sku)s: the "
                        "refund must name the line.",
                        order=self.order_binding_id.channel_name,
                        sku=sku,
                    )
                )
            line_ref = sku
        if not sale_line:
            raise UserError(
                self.env._(
                    "Order %(order)s has no line %(line)s.",
                    order=self.order_binding_id.channel_name,
                    line=line_ref,
                )
            )
        return sale_line

    # --- payment

    def _apply_payment(self, refund):
        """Pay the posted credit note back through the refund's gateways, the
        refund transaction id as memo; a refund without money says so."""
        if self.is_payment_done:
            return True
        credit_note = self.credit_note_id
        backend = self.backend_id
        if not backend.order_register_payment:
            self.is_payment_done = True
            return True
        if not refund.money_moved:
            credit_note.message_post(
                body=self.env._(
                    "The channel gave no money back for %s (store credit, gift "
                    "card or manual refund): no refund payment is registered.",
                    self.name,
                )
            )
            self.is_payment_done = True
            return True
        Payment = self.env["account.payment"].with_company(credit_note.company_id)
        for index, transaction in enumerate(refund.refund_transactions):
            if not self._pay_transaction(Payment, refund, transaction, index):
                return False
        self.is_payment_done = True
        return True

    def _pay_transaction(self, Payment, refund, transaction, index):
        backend = self.backend_id
        credit_note = self.credit_note_id
        ref = transaction.external_ref or transaction.transaction_ref or str(index)
        key = f"{backend.id}:refund:{refund.external_ref}:{ref}"
        if Payment.search_count(
            [("channel_transaction_key", "=", key), ("state", "!=", "canceled")]
        ):
            return True
        journal, _mapped = self.env["channel.payment.mapping"]._find_journal(
            backend, transaction.gateway, credit_note.company_id
        )
        if not journal:
            self._record_incomplete(
                backend,
                self.external_ref,
                self.env._(
                    "%(refund)s: payment gateway %(gateway)s has no journal in "
                    "%(company)s; the credit note is posted but not paid back.",
                    refund=self.name,
                    gateway=transaction.gateway or "?",
                    company=credit_note.company_id.name,
                ),
                documents=[self.sale_order_id],
                target=self,
            )
            return False
        memo = transaction.transaction_ref or self.name
        payment = Payment._channel_pay(credit_note, journal, transaction, memo, key)
        self.payment_ids = [Command.link(payment.id)]
        return True

    # --- stock

    def _apply_stock_half(self, refund):
        """Return or cancel the refunded goods; whether that half is done."""
        if self.is_stock_done:
            return True
        if self._returned_with(refund):
            self.is_stock_done = True
            return True
        try:
            with self.env.cr.savepoint():
                self._apply_stock(refund)
        except UserError as exc:
            self._record_incomplete(
                self.backend_id,
                self.external_ref,
                self.env._(
                    "%(refund)s: the stock return could not be made: %(error)s",
                    refund=self.name,
                    error=exc,
                ),
                documents=[self.sale_order_id],
                target=self,
            )
            return False
        self.is_stock_done = True
        return True

    def _apply_stock(self, refund):
        """Goods refunded before they shipped leave the open delivery; shipped
        ones come back through a return of their delivery when the line
        restocks (the standard `stock.return.picking`, so `to_refund`,
        valuation and delivered quantities stay right); others move nothing."""
        to_return = {}
        destinations = {}
        restocked = self.env["product.product"]
        for line in refund.lines:
            sale_line = self._sale_line(line.line_ref, line.sku)
            if sale_line.product_id.type != "consu":
                continue
            left = self._cancel_undelivered(sale_line, float(line.quantity))
            if line.restocks:
                restocked |= sale_line.product_id
            if left > 0 and line.restocks:
                for move, quantity in self._returnable_moves(sale_line, left):
                    to_return.setdefault(move.picking_id, {})[move] = quantity
                    destinations.setdefault(move.picking_id, line.location_ref)
        returns = self.env["stock.picking"]
        for picking, quantities in to_return.items():
            return_picking = self._create_return(picking, quantities)
            self._restock_to(return_picking, destinations.get(picking))
            returns |= return_picking
        self.return_picking_ids = [Command.link(p.id) for p in returns]
        if returns and self.backend_id.refund_receive_returns:
            self._receive(returns)
        self._mark_restocked_levels(restocked)

    def _returned_with(self, refund):
        """A refund that settles a channel return whose picking was made when
        it opened: its goods are on their way back, that picking is its."""
        if not refund.return_ref:
            return False
        channel_return = self.search(
            [
                ("backend_id", "=", self.backend_id.id),
                ("external_ref", "=", f"return:{refund.return_ref}"),
                ("return_picking_ids", "!=", False),
            ]
        )
        if not channel_return:
            return False
        self.return_picking_ids = [
            Command.link(p.id) for p in channel_return.return_picking_ids
        ]
        return True

    def _restock_to(self, return_picking, location_ref):
        """Receive the return where the channel restocked it: the Odoo
        location of the refund line's mapped channel location, when it is
        one of the return's warehouse."""
        if not location_ref:
            return
        mapped = self.env["channel.stock.location"].search(
            [
                ("backend_id", "=", self.backend_id.id),
                ("location_ref", "=", location_ref),
            ],
            limit=1,
        )
        warehouse = return_picking.picking_type_id.warehouse_id
        location = mapped.location_ids.filtered(
            lambda loc: loc.warehouse_id == warehouse
        )[:1]
        if location and location != return_picking.location_dest_id:
            return_picking.location_dest_id = location
            return_picking.move_ids.location_dest_id = location

    def _mark_restocked_levels(self, products):
        """The channel put restocked units back on sale before they are back
        in Odoo: their levels are marked so that the next export publishes
        Odoo's quantity again."""
        if not products:
            return
        self.env["channel.stock.level"].search(
            [
                ("backend_id", "=", self.backend_id.id),
                ("product_id", "in", products.ids),
            ]
        )._mark_levels_dirty()

    def _cancel_undelivered(self, sale_line, quantity):
        """Take `quantity` off the sale line's open deliveries; what is left
        (already shipped)."""
        open_moves = sale_line.move_ids.filtered(
            lambda m: (
                m.state not in ("done", "cancel")
                and m.location_dest_id.usage == "customer"
            )
        )
        rounding = sale_line.product_uom_id.rounding
        for move in open_moves:
            if float_compare(quantity, 0, precision_rounding=rounding) <= 0:
                break
            take = min(quantity, move.product_uom_qty)
            move._do_unreserve()
            if float_compare(take, move.product_uom_qty, precision_rounding=rounding):
                move.product_uom_qty -= take
                move._action_assign()
            else:
                move._action_cancel()
            quantity -= take
        return quantity

    def _returnable_moves(self, sale_line, quantity):
        """(done delivery move, quantity to return) for `quantity` shipped
        units not returned yet."""
        done_moves = sale_line.move_ids.filtered(
            lambda m: m.state == "done" and m.location_dest_id.usage == "customer"
        )
        for move in done_moves:
            returned = sum(
                move.returned_move_ids.filtered(lambda r: r.state != "cancel").mapped(
                    "product_uom_qty"
                )
            )
            take = min(quantity, move.quantity - returned)
            if take > 0:
                yield move, take
                quantity -= take

    def _create_return(self, picking, quantities):
        wizard = (
            self.env["stock.return.picking"]
            .with_context(active_id=picking.id, active_model="stock.picking")
            .create({"picking_id": picking.id})
        )
        for line in wizard.product_return_moves:
            line.quantity = quantities.get(line.move_id, 0.0)
        return_picking = wizard._create_return()
        return_picking.message_post(
            body=self.env._("Goods refunded on the channel: %s", self.name)
        )
        return return_picking

    def _receive(self, pickings):
        """Validate the returns at once (backend policy), full quantities."""
        for picking in pickings:
            for move in picking.move_ids:
                move.quantity = move.product_uom_qty
                move.picked = True
            picking.button_validate()


def _line_amount(line, quantity):
    """A move line's amount for `quantity`, before taxes excluded from its
    price (the basis a line of the same taxes is written in)."""
    return line.price_unit * quantity * (1 - line.discount / 100.0)
