from odoo import Command, api, fields, models

from ..adapters import records

LINE_KINDS = [
    (records.PAYOUT_CHARGE, "Charge"),
    (records.PAYOUT_REFUND, "Refund"),
    (records.PAYOUT_CHARGEBACK, "Chargeback"),
    (records.PAYOUT_FEE, "Fee"),
    (records.PAYOUT_ADJUSTMENT, "Adjustment"),
    (records.PAYOUT_RESERVE, "Reserve"),
    (records.PAYOUT_OTHER, "Other"),
]
MATCHED_KINDS = (records.PAYOUT_CHARGE, records.PAYOUT_REFUND)
# Where the amount of a line that matches no payment is booked.
KIND_ACCOUNT_FIELDS = {
    records.PAYOUT_CHARGE: "payout_clearing_account_id",
    records.PAYOUT_REFUND: "payout_clearing_account_id",
    records.PAYOUT_CHARGEBACK: "payout_chargeback_account_id",
    records.PAYOUT_FEE: "payout_fee_account_id",
    records.PAYOUT_ADJUSTMENT: "payout_adjustment_account_id",
    records.PAYOUT_RESERVE: "payout_reserve_account_id",
    records.PAYOUT_OTHER: "payout_adjustment_account_id",
}


class ChannelPayoutLine(models.Model):
    """One balance transaction of a payout, matched to the Odoo payment it
    settles (charges and refunds) or booked to a configured account."""

    _name = "channel.payout.line"
    _description = "Channel Payout Line"
    _order = "payout_id, id"
    _rec_name = "external_ref"
    _check_company_auto = True

    # === FIELDS ===

    payout_id = fields.Many2one(
        "channel.payout", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="payout_id.company_id", store=True)
    backend_id = fields.Many2one(related="payout_id.backend_id", store=True, index=True)
    issued_at = fields.Datetime(related="payout_id.issued_at", store=True)
    currency_id = fields.Many2one(related="payout_id.currency_id")
    external_ref = fields.Char(string="Transaction", required=True, readonly=True)
    kind = fields.Selection(LINE_KINDS, required=True, readonly=True)
    raw_type = fields.Char(string="Processor Type", readonly=True)
    amount = fields.Monetary(readonly=True)
    fee = fields.Monetary(readonly=True)
    net = fields.Monetary(readonly=True)
    transaction_ref = fields.Char(string="Channel Transaction", readonly=True)
    processor_ref = fields.Char(string="Processor Reference", readonly=True)
    charge_ref = fields.Char(string="Charge", readonly=True)
    order_ref = fields.Char(string="Channel Order", readonly=True)
    order_name = fields.Char(readonly=True)
    sale_order_id = fields.Many2one("sale.order", string="Order", readonly=True)
    payment_id = fields.Many2one(
        "account.payment", readonly=True, index="btree_not_null"
    )
    match_state = fields.Selection(
        [
            ("none", "Nothing to match"),
            ("matched", "Matched"),
            ("unmatched", "No payment"),
            ("mismatch", "Amount differs"),
        ],
        readonly=True,
        default="none",
        index=True,
    )
    match_note = fields.Char(readonly=True)
    is_auto_matched = fields.Boolean(
        string="Matched automatically",
        readonly=True,
        help="Matched by the import itself, not by a later Match again.",
    )
    move_line_id = fields.Many2one(
        "account.move.line", string="Journal Item", readonly=True
    )
    is_reconciled = fields.Boolean(related="move_line_id.reconciled")

    # === CONSTRAINT METHODS ===

    _payout_line_unique = models.UniqueIndex(
        "(payout_id, external_ref)", "A balance transaction is in a payout once."
    )

    # === BUSINESS METHODS ===

    @api.model
    def _values_from_channel(self, payout, data):
        """Create values of a line from `records.PayoutLineData`."""
        return {
            "payout_id": payout.id,
            "external_ref": data.external_ref,
            "kind": data.kind,
            "raw_type": data.raw_type,
            "amount": float(data.amount),
            "fee": float(data.fee),
            "net": float(data.net),
            "transaction_ref": data.transaction_ref,
            "processor_ref": data.processor_ref,
            "charge_ref": data.charge_ref,
            "order_ref": data.order_ref,
            "order_name": data.order_name,
            "match_state": "unmatched" if data.kind in MATCHED_KINDS else "none",
        }

    def _match(self, auto=True):
        """Find the payment this charge or refund settles and check its
        amount; a missing payment, a different amount or a short capture
        records a `payment_mismatch` exception with both figures."""
        self.ensure_one()
        if self.kind not in MATCHED_KINDS or self.match_state == "matched":
            return
        payment = self._find_payment()
        order = self._find_order(payment)
        values = {"payment_id": payment.id, "sale_order_id": order.id}
        problem = self._mismatch(payment, order)
        values["match_state"] = "mismatch" if problem else "matched"
        values["is_auto_matched"] = auto and not problem
        if not payment:
            values["match_state"] = "unmatched"
        values["match_note"] = problem or False
        self.write(values)
        if problem:
            self.payout_id._record_mismatch(
                problem,
                key=f"payout_line:{self.payout_id.processor}:{self.external_ref}",
                documents=[payment, order],
            )

    def _find_payment(self):
        """The payment of the line's transaction: the channel's transaction
        id, the processor's id, or the charge a refund belongs to."""
        Payment = self.env["account.payment"]
        payment_type = "inbound" if self.kind == records.PAYOUT_CHARGE else "outbound"
        payments = Payment._channel_find_by_ref(
            [self.transaction_ref, self.processor_ref],
            self.company_id,
            payment_type,
        )
        if not payments and self.kind == records.PAYOUT_REFUND and self.charge_ref:
            payments = self._refund_payment_of_charge(Payment)
        taken = self.search(
            [("payment_id", "in", payments.ids), ("id", "!=", self.id)]
        ).payment_id
        return (payments - taken)[:1]

    def _refund_payment_of_charge(self, Payment):
        """A refund the processor knows only by its charge (a channel
        refund has no processor id): the order's refund payment of the
        same amount."""
        charge = Payment._channel_find_by_ref(
            [self.charge_ref], self.company_id, "inbound"
        )
        partners = charge.partner_id.commercial_partner_id
        if not charge:
            return Payment
        return Payment.search(
            [
                ("company_id", "=", self.company_id.id),
                ("partner_id", "child_of", partners.ids),
                ("payment_type", "=", "outbound"),
                ("state", "!=", "canceled"),
                ("amount", "=", abs(self.amount)),
                ("channel_transaction_key", "!=", False),
            ],
            order="id",
        )

    def _find_order(self, payment):
        invoices = payment.reconciled_invoice_ids
        order = invoices.invoice_line_ids.sale_line_ids.order_id[:1]
        if order or not self.order_ref:
            return order
        return (
            self.env["channel.order.binding"]
            .search(
                [
                    ("backend_id", "=", self.payout_id.backend_id.id),
                    ("external_ref", "=", self.order_ref),
                ],
                limit=1,
            )
            .sale_order_id
        )

    def _mismatch(self, payment, order):
        """What is wrong with the match, for an operator, or None."""
        payout = self.payout_id
        currency = payout.currency_id
        kind = dict(LINE_KINDS)[self.kind]
        what = self.env._(
            "Payout %(payout)s, %(kind)s %(ref)s of %(amount)s (order %(order)s)",
            payout=payout.name,
            kind=kind.lower(),
            ref=self.transaction_ref or self.processor_ref or self.external_ref,
            amount=payout._format(abs(self.amount)),
            order=self.order_name or order.name or "?",
        )
        if not payment:
            return self.env._("%s: Odoo has no payment of it.", what)
        if currency.compare_amounts(payment.amount, abs(self.amount)):
            return self.env._(
                "%(what)s: the Odoo payment %(payment)s is %(paid)s "
                "(difference %(difference)s).",
                what=what,
                payment=payment.name,
                paid=payout._format(payment.amount),
                difference=payout._format(abs(self.amount) - payment.amount),
            )
        if self.kind == records.PAYOUT_CHARGE:
            return self._short_capture(what, payment)
        return None

    def _short_capture(self, what, payment):
        """A capture that left its invoice partly unpaid."""
        invoices = payment.reconciled_invoice_ids.filtered(
            lambda move: (
                move.state == "posted"
                and not move.currency_id.is_zero(move.amount_residual)
            )
        )
        if not invoices:
            return None
        invoice = invoices[0]
        return self.env._(
            "%(what)s: short capture, invoice %(invoice)s is %(total)s, "
            "%(residual)s of it unpaid.",
            what=what,
            invoice=invoice.name,
            total=self.payout_id._format(invoice.amount_total),
            residual=self.payout_id._format(invoice.amount_residual),
        )

    def _entry_line_commands(self, backend):
        """The payout entry's journal items for this line: the amount on the
        payment's clearing account (matched) or the kind's account, the fee
        on the fee account."""
        self.ensure_one()
        commands = []
        if self.payment_id and self.payment_id.outstanding_account_id:
            account = self.payment_id.outstanding_account_id
        else:
            account = backend[KIND_ACCOUNT_FIELDS[self.kind]] or (
                backend.payout_adjustment_account_id
            )
        label = " ".join(
            part for part in (self.raw_type, self.order_name, self.external_ref) if part
        )
        if not self.currency_id.is_zero(self.amount):
            commands.append(
                Command.create(
                    {
                        "name": label,
                        "account_id": account.id,
                        "balance": -self.amount,
                        "partner_id": self.payment_id.partner_id.id,
                        "channel_payout_line_id": self.id,
                    }
                )
            )
        if not self.currency_id.is_zero(self.fee):
            commands.append(
                Command.create(
                    {
                        "name": self.env._("Fee %s", label),
                        "account_id": backend.payout_fee_account_id.id,
                        "balance": self.fee,
                        "channel_payout_line_id": self.id,
                    }
                )
            )
        return commands
