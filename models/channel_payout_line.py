from odoo import Command, api, fields, models

from ..adapters import records

LINE_KINDS = [
    (records.PAYOUT_CHARGE, "Charge"),
    (records.PAYOUT_REFUND, "Refund"),
    (records.PAYOUT_DISPUTE, "Dispute"),
    (records.PAYOUT_CHARGEBACK, "Chargeback fee"),
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
    records.PAYOUT_DISPUTE: "payout_chargeback_account_id",
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
    dispute_ref = fields.Char(string="Dispute", readonly=True, index="btree_not_null")
    dispute_offset_id = fields.Many2one(
        "channel.payout.line",
        string="Offset by",
        readonly=True,
        help="The line of the same dispute that cancels this one (a won "
        "dispute's reversal and its withdrawal).",
    )
    fee_tax = fields.Monetary(
        string="Tax on fee",
        readonly=True,
        help="The tax the processor charged on its fee, included in the fee.",
    )
    presentment_amount = fields.Monetary(
        currency_field="presentment_currency_id",
        readonly=True,
        help="What the buyer paid, in the order's currency, when the "
        "processor settled it in another currency.",
    )
    presentment_currency_id = fields.Many2one("res.currency", readonly=True)
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
            ("pending", "Dispute pending"),
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
            "dispute_ref": data.dispute_ref,
            "fee_tax": float(data.fee_tax),
            "presentment_amount": data.presentment_amount is not None
            and float(data.presentment_amount),
            "presentment_currency_id": self._currency_of(data.presentment_currency).id,
            "match_state": self._initial_match_state(payout, data),
        }

    @api.model
    def _currency_of(self, code):
        if not code:
            return self.env["res.currency"]
        return (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", code.upper())], limit=1)
        )

    @api.model
    def _initial_match_state(self, payout, data):
        """Charges and refunds wait for their payment; a dispute line, when
        the channel books lost disputes, for the dispute's outcome."""
        if data.kind in MATCHED_KINDS:
            return "unmatched"
        if (
            data.kind == records.PAYOUT_DISPUTE
            and data.dispute_ref
            and payout.backend_id._payout_disputes_on_clearing(payout)
        ):
            return "pending"
        return "none"

    def _match(self, auto=True):
        """Find the payment this charge or refund settles and check its
        amount; a missing payment, a different amount or a short capture
        records a `payment_mismatch` exception with both figures."""
        self.ensure_one()
        if self.match_state == "pending":
            self._match_dispute(auto=auto)
            return
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
        paid_in, expected = self._comparable_amount(payment)
        if paid_in and paid_in.compare_amounts(payment.amount, expected):
            return self.env._(
                "%(what)s: the Odoo payment %(payment)s is %(paid)s "
                "(difference %(difference)s).",
                what=what,
                payment=payment.name,
                paid=payout._format(payment.amount, paid_in),
                difference=payout._format(expected - payment.amount, paid_in),
            )
        if self.kind == records.PAYOUT_CHARGE:
            return self._short_capture(what, payment)
        return None

    def _comparable_amount(self, payment):
        """(currency, amount) the payment's amount must equal: the line's
        amount in the payout currency, or what the buyer paid in the
        order's currency (multi-currency charge); (None, None) when the
        processor does not say (the conversion difference is booked)."""
        currency = self.payout_id.currency_id
        if payment.currency_id == currency:
            return currency, abs(self.amount)
        if self.presentment_currency_id == payment.currency_id:
            return payment.currency_id, abs(self.presentment_amount)
        return None, None

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

    def _match_dispute(self, auto=True):
        """A dispute line waits on the clearing account for the dispute's
        outcome: the lost dispute's refund payment (withdrawals), or the
        line of the same dispute that pays it back (a won dispute)."""
        self.ensure_one()
        if self.amount < 0:
            payment = self._find_dispute_payment()
            if payment:
                self._set_dispute_match(payment=payment, auto=auto)
                return
        offset = self._find_dispute_offset()
        if offset:
            self._set_dispute_match(offset=offset, auto=auto)

    def _find_dispute_payment(self):
        """The refund payment the channel's lost dispute booked (the dispute
        id is its processor reference and memo), not taken by another line."""
        payments = self.env["account.payment"]._channel_find_by_ref(
            [self.dispute_ref], self.company_id, "outbound"
        )
        taken = self.search(
            [("payment_id", "in", payments.ids), ("id", "!=", self.id)]
        ).payment_id
        return (payments - taken)[:1]

    def _find_dispute_offset(self):
        """The open line of the same dispute with the opposite amount (a
        withdrawal and its reversal, a hold and its release)."""
        return self.search(
            [
                ("company_id", "=", self.company_id.id),
                ("dispute_ref", "=", self.dispute_ref),
                ("match_state", "=", "pending"),
                ("id", "!=", self.id),
                ("payout_id.reversal_move_id", "=", False),
            ],
            order="id",
        ).filtered(
            lambda line: not self.currency_id.compare_amounts(line.amount, -self.amount)
        )[:1]

    def _set_dispute_match(self, payment=None, offset=None, auto=True):
        payment = payment or self.env["account.payment"]
        note = False
        if payment and self.currency_id.compare_amounts(payment.amount, -self.amount):
            note = self.env._(
                "Payout %(payout)s, dispute %(ref)s of %(amount)s: the lost "
                "dispute's payment %(payment)s is %(paid)s.",
                payout=self.payout_id.name,
                ref=self.dispute_ref,
                amount=self.payout_id._format(-self.amount),
                payment=payment.name,
                paid=self.payout_id._format(payment.amount),
            )
        self.write(
            {
                "payment_id": payment.id,
                "sale_order_id": self._find_order(payment).id,
                "match_state": "mismatch" if note else "matched",
                "match_note": note,
                "is_auto_matched": auto and not note,
            }
        )
        if offset:
            offset.write(
                {
                    "match_state": "matched",
                    "dispute_offset_id": self.id,
                    "is_auto_matched": auto,
                }
            )
            self.dispute_offset_id = offset
        if note:
            self.payout_id._record_mismatch(
                note,
                key=f"payout_line:{self.payout_id.processor}:{self.external_ref}",
                documents=[payment],
            )

    @api.model
    def _match_dispute_payments(self, payments):
        """Hook of the lost-dispute booking: the refund payments of lost
        disputes settle the dispute lines of payouts booked before, which
        are reconciled with them at once."""
        refs = [ref for ref in payments.mapped("channel_processor_ref") if ref]
        if not refs:
            return self
        # System work after a booked dispute: the payout models are finance's.
        lines = self.sudo().search(
            [
                ("dispute_ref", "in", refs),
                ("match_state", "=", "pending"),
                ("company_id", "in", payments.company_id.ids),
                ("payout_id.reversal_move_id", "=", False),
            ]
        )
        for line in lines:
            line._match(auto=True)
        lines.payout_id.filtered("move_id")._reconcile_matched()
        return lines

    def _entry_account(self, backend):
        """The account of the line's amount: the payment's clearing account
        (matched), the clearing account (a dispute waiting for its outcome),
        else the kind's account."""
        if self.payment_id and self.payment_id.outstanding_account_id:
            return self.payment_id.outstanding_account_id
        if self.kind == records.PAYOUT_DISPUTE and self.match_state in (
            "pending",
            "matched",
        ):
            return backend.payout_clearing_account_id
        return backend[KIND_ACCOUNT_FIELDS[self.kind]] or (
            backend.payout_adjustment_account_id
        )

    def _entry_line_commands(self, backend, date):
        """The payout entry's journal items for this line: the amount on the
        payment's clearing account (matched) or the kind's account, the fee
        (and the tax on it) on the fee account, amounts in the payout
        currency and the company currency at `date`."""
        self.ensure_one()
        label = " ".join(
            part for part in (self.raw_type, self.order_name, self.external_ref) if part
        )
        commands = []
        if not self.currency_id.is_zero(self.amount):
            commands += self._amount_items(backend, label, date)
        if not self.currency_id.is_zero(self.fee):
            commands += self._fee_items(backend, label, date)
        return [Command.create(values) for values in commands]

    def _in_company_currency(self, amount, date):
        payout = self.payout_id
        return payout.currency_id._convert(
            amount, payout.company_id.currency_id, payout.company_id, date
        )

    def _item(self, label, account, amount, date, **values):
        """A journal item of `amount` in the payout currency."""
        return {
            "name": label,
            "account_id": account.id,
            "currency_id": self.currency_id.id,
            "amount_currency": amount,
            "balance": self._in_company_currency(amount, date),
            "channel_payout_line_id": self.id,
            **values,
        }

    def _amount_items(self, backend, label, date):
        account = self._entry_account(backend)
        partner = {"partner_id": self.payment_id.partner_id.id}
        payment_line = self._payment_counterpart(account)
        company_currency = self.company_id.currency_id
        if not payment_line or (
            self.currency_id == company_currency
            and payment_line.currency_id == company_currency
        ):
            return [self._item(label, account, -self.amount, date, **partner)]
        # Another currency: clear exactly what the payment booked, the rest
        # is the conversion difference.
        item = {
            **self._item(label, account, -self.amount, date, **partner),
            "currency_id": payment_line.currency_id.id,
            "amount_currency": -payment_line.amount_currency,
            "balance": -payment_line.balance,
        }
        difference = company_currency.round(
            self._in_company_currency(-self.amount, date) + payment_line.balance
        )
        if company_currency.is_zero(difference):
            return [item]
        company = self.company_id
        exchange = (
            company.expense_currency_exchange_account_id
            if difference > 0
            else company.income_currency_exchange_account_id
        )
        return [
            item,
            {
                "name": self.env._("Exchange difference %s", label),
                "account_id": exchange.id,
                "currency_id": company_currency.id,
                "amount_currency": difference,
                "balance": difference,
                "channel_payout_line_id": self.id,
            },
        ]

    def _payment_counterpart(self, account):
        """The matched payment's journal item on `account`."""
        if self.match_state != "matched" or not self.payment_id:
            return self.env["account.move.line"]
        return self.payment_id.move_id.line_ids.filtered(
            lambda aml: aml.account_id == account
        )[:1]

    def _fee_items(self, backend, label, date):
        """The fee on the fee account (a dispute's on the chargebacks
        account); the tax the processor charged on it, with a fee tax
        configured, as a recoverable tax line of exactly its amount."""
        fee_account = (
            backend.payout_chargeback_account_id
            if self.kind in (records.PAYOUT_DISPUTE, records.PAYOUT_CHARGEBACK)
            else backend.payout_fee_account_id
        )
        label = self.env._("Fee %s", label)
        tax = self.payout_id._fee_tax()
        if not tax or self.currency_id.is_zero(self.fee_tax):
            return [self._item(label, fee_account, self.fee, date)]
        base = self.fee - self.fee_tax
        repartition = (
            tax.invoice_repartition_line_ids
            if self.fee > 0
            else tax.refund_repartition_line_ids
        )
        base_tags = repartition.filtered(lambda r: r.repartition_type == "base")
        tax_repartition = repartition.filtered(lambda r: r.repartition_type == "tax")[
            :1
        ]
        base_item = self._item(
            label,
            fee_account,
            base,
            date,
            tax_ids=[Command.set(tax.ids)],
            tax_tag_ids=[Command.set(base_tags.tag_ids.ids)],
        )
        return [
            base_item,
            self._item(
                self.env._("%(tax)s on %(label)s", tax=tax.name, label=label),
                tax_repartition.account_id or fee_account,
                self.fee_tax,
                date,
                tax_repartition_line_id=tax_repartition.id,
                tax_tag_ids=[Command.set(tax_repartition.tag_ids.ids)],
                tax_base_amount=abs(base_item["balance"]),
            ),
        ]
