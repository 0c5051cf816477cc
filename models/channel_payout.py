from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain
from odoo.tools import float_compare

from ..adapters.redaction import get_logger

_logger = get_logger(__name__)

PAYOUT_STATUSES = [
    ("scheduled", "Scheduled"),
    ("in_transit", "In transit"),
    ("paid", "Paid"),
    ("failed", "Failed"),
    ("canceled", "Canceled"),
]
REVERSED_STATUSES = ("failed", "canceled")
# The bank credits a transfer a few days after the processor issues it.
BANK_LINE_DAYS_BEFORE = 3
BANK_LINE_DAYS_AFTER = 10
FINANCE_GROUPS = (
    "channel_connector.group_channel_finance",
    "channel_connector.group_channel_manager",
)


class ChannelPayout(models.Model):
    """One processor payout: the bank transfer of the net of its lines
    (charges, refunds, fees, chargebacks, adjustments, reserves), booked as
    one journal entry whose net line the bank statement line reconciles."""

    _name = "channel.payout"
    _description = "Channel Payout"
    _order = "issued_at desc, id desc"
    _check_company_auto = True

    # === FIELDS ===

    name = fields.Char(compute="_compute_name", store=True)
    backend_id = fields.Many2one(
        "channel.backend", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    processor = fields.Selection(
        [("stripe", "Stripe")], required=True, index=True, readonly=True
    )
    payment_processor_id = fields.Many2one(
        "channel.payment.processor",
        string="Processor Account",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
    external_ref = fields.Char(string="Payout ID", required=True, readonly=True)
    bank_reference = fields.Char(
        readonly=True,
        help="What the processor writes on the bank transfer (Stripe's "
        "statement descriptor), looked for in the bank statement line.",
    )
    status = fields.Selection(PAYOUT_STATUSES, required=True, readonly=True)
    issued_at = fields.Datetime(readonly=True)
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    amount = fields.Monetary(
        readonly=True, help="The net the processor transfers to the bank."
    )
    line_ids = fields.One2many("channel.payout.line", "payout_id", readonly=True)
    move_id = fields.Many2one(
        "account.move", string="Entry", readonly=True, copy=False, index=True
    )
    reversal_move_id = fields.Many2one(
        "account.move", string="Reversal", readonly=True, copy=False
    )
    statement_line_id = fields.Many2one(
        "account.bank.statement.line", string="Bank Line", readonly=True, copy=False
    )
    line_count = fields.Integer(compute="_compute_match", store=True)
    matched_count = fields.Integer(compute="_compute_match", store=True)
    unmatched_amount = fields.Monetary(compute="_compute_match", store=True)
    fee_amount = fields.Monetary(compute="_compute_match", store=True)
    match_state = fields.Selection(
        [("matched", "Matched"), ("unmatched", "To check")],
        compute="_compute_match",
        store=True,
        index=True,
    )

    # === COMPUTE METHODS ===

    @api.depends("processor", "external_ref")
    def _compute_name(self):
        labels = dict(self._fields["processor"]._description_selection(self.env))
        for payout in self:
            payout.name = f"{labels.get(payout.processor, '')} {payout.external_ref}"

    @api.depends("line_ids.match_state", "line_ids.amount", "line_ids.fee")
    def _compute_match(self):
        for payout in self:
            lines = payout.line_ids
            to_match = lines.filtered(
                lambda line: line.match_state not in ("none", "pending")
            )
            open_lines = to_match.filtered(lambda line: line.match_state != "matched")
            payout.line_count = len(to_match)
            payout.matched_count = len(to_match) - len(open_lines)
            payout.unmatched_amount = sum(
                abs(amount) for amount in open_lines.mapped("amount")
            )
            payout.fee_amount = sum(lines.mapped("fee"))
            payout.match_state = "unmatched" if open_lines else "matched"

    # === CONSTRAINT METHODS ===

    _backend_payout_unique = models.UniqueIndex(
        "(backend_id, processor, external_ref)",
        "A payout is imported once per backend and processor.",
    )

    # === CRUD METHODS ===

    @api.ondelete(at_uninstall=False)
    def _unlink_except_booked(self):
        """A booked payout stays: deleted, the next import would book its
        transfer a second time beside the entry left behind."""
        booked = self.filtered(lambda payout: payout.move_id)
        if booked:
            raise UserError(
                self.env._(
                    "Payouts %s are booked: they cannot be deleted.",
                    ", ".join(booked.mapped("name")),
                )
            )

    # === ACTION METHODS ===

    def action_reconcile_bank_line(self):
        """Reconcile each payout with the unreconciled bank statement line of
        its amount in the backend's payout bank journal."""
        self._check_finance_rights()
        for payout in self:
            st_line = payout.sudo()._find_statement_line()
            if not st_line:
                raise UserError(
                    self.env._(
                        "No single unreconciled bank statement line of "
                        "%(amount)s dated near payout %(payout)s in %(journal)s "
                        "(none, or several and none naming the payout): enter "
                        "or import it, or put the payout id in its label.",
                        amount=payout._format(payout.amount),
                        journal=payout.backend_id.payout_bank_journal_id.display_name,
                        payout=payout.name,
                    )
                )
            payout.sudo()._reconcile_statement_line(st_line)
        return True

    def action_retry_matching(self):
        """Match the lines again (a payment registered since) and complete
        the entry's reconciliation."""
        self._check_finance_rights()
        for payout in self.sudo():
            payout._match_lines(auto=False)
            payout._reconcile_matched()
        return True

    def _check_finance_rights(self):
        if not any(self.env.user.has_group(group) for group in FINANCE_GROUPS):
            raise AccessError(
                self.env._("Only channel finance users and managers handle payouts.")
            )
        # Payouts of the caller's companies only: the actions go on in sudo().
        # Read, not write: payouts are the import's, nobody writes them.
        self.check_access("read")

    # === BUSINESS METHODS ===

    @api.model
    def _sync_from_channel(self, backend, data, adapter, processor=None):
        """Create or update the payout of `data` (records.PayoutData) and bring
        its accounting to its status. Unchanged status: nothing happens.
        `processor`: the processor account it was read from, if not the
        channel's own."""
        payout = self.search(
            [
                ("backend_id", "=", backend.id),
                ("processor", "=", data.processor),
                ("external_ref", "=", data.external_ref),
            ]
        )
        if payout and payout.status == data.status:
            # Only a bank line imported since is new: reconcile it.
            st_line = payout._find_statement_line()
            if st_line:
                payout._reconcile_statement_line(st_line)
            return payout
        if not payout:
            payout = self._create_from_channel(backend, data, adapter, processor)
        else:
            payout.status = data.status
        payout._process()
        return payout

    @api.model
    def _create_from_channel(self, backend, data, adapter, processor=None):
        currency = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", (data.currency or "").upper())], limit=1)
        )
        payout = self.create(
            {
                "backend_id": backend.id,
                "processor": data.processor,
                "external_ref": data.external_ref,
                "status": data.status,
                "issued_at": data.issued_at and data.issued_at.replace(tzinfo=None),
                "currency_id": (currency or backend.company_id.currency_id).id,
                "amount": float(data.amount),
                "payment_processor_id": processor and processor.id,
                "bank_reference": data.bank_reference,
            }
        )
        lines = adapter.fetch_payout_lines(data.external_ref)
        self.env["channel.payout.line"].create(
            [payout.line_ids._values_from_channel(payout, line) for line in lines]
        )
        return payout

    def _process(self):
        """Match, book and reconcile, or reverse a failed payout."""
        self.ensure_one()
        if self.status in REVERSED_STATUSES:
            self._reverse()
            return
        if self.move_id:
            return
        self._match_lines()
        if self._check_lines_add_up() and self._check_configuration():
            self._book()
            self._reconcile_matched()
            st_line = self._find_statement_line()
            if st_line:
                self._reconcile_statement_line(st_line)

    def _match_lines(self, auto=True):
        for line in self.line_ids:
            line._match(auto=auto)

    def _check_lines_add_up(self):
        """Whether the lines' nets sum to the payout; else an exception."""
        total = sum(self.line_ids.mapped("net"))
        if not self.currency_id.compare_amounts(total, self.amount):
            return True
        self._record_mismatch(
            self.env._(
                "Payout %(payout)s transfers %(amount)s but its lines add up to "
                "%(total)s (difference %(difference)s): not booked.",
                payout=self.name,
                amount=self._format(self.amount),
                total=self._format(total),
                difference=self._format(self.amount - total),
            ),
            key=f"payout:{self.processor}:{self.external_ref}",
        )
        return False

    def _check_configuration(self):
        backend = self.backend_id
        missing = [
            backend._fields[name].get_description(self.env)["string"]
            for name in backend._payout_required_fields()
            if not backend[name]
        ]
        if not self._net_account().reconcile:
            missing.append(
                backend._fields["payout_transit_account_id"].get_description(self.env)[
                    "string"
                ]
            )
        if self.currency_id != self.company_id.currency_id:
            company = self.company_id
            for field_name in (
                "income_currency_exchange_account_id",
                "expense_currency_exchange_account_id",
            ):
                if not company[field_name]:
                    label = company._fields[field_name].get_description(self.env)
                    missing.append(
                        self.env._("%s (Accounting settings)", label["string"])
                    )
        if not missing:
            return True
        self.env["channel.exception"]._record(
            "missing_mapping",
            self.env._(
                "Payout %(payout)s cannot be booked: set %(fields)s on the backend.",
                payout=self.name,
                fields=", ".join(missing),
            ),
            backend=backend,
            key=f"payout_configuration:{self.processor}",
        )
        return False

    def _format(self, amount, currency=None):
        """An amount with the payout currency's (or `currency`'s) decimals
        and code."""
        currency = currency or self.currency_id
        return f"{currency.round(amount):.{currency.decimal_places}f} {currency.name}"

    def _record_mismatch(self, message, key, documents=None):
        self.env["channel.exception"]._record(
            "payment_mismatch",
            message,
            backend=self.backend_id,
            key=key,
            documents=documents,
        )

    def _fee_tax(self):
        """The tax the processor charges on its fees: the processor
        account's, else the backend's."""
        return self.payment_processor_id.fee_tax_id or self.backend_id.payout_fee_tax_id

    def _net_account(self):
        """Where the net waits for the bank line: the backend's payouts in
        transit account, else the payout bank journal's outstanding receipts
        account."""
        backend = self.backend_id
        journal = backend.payout_bank_journal_id
        lines = journal.inbound_payment_method_line_ids
        return (
            backend.payout_transit_account_id
            or lines.filtered("payment_account_id")[:1].payment_account_id
        )

    def _book(self):
        """Post the payout's one journal entry."""
        backend = self.backend_id
        date = fields.Date.to_date(self.issued_at) or fields.Date.today()
        line_commands = []
        for line in self.line_ids:
            line_commands += line._entry_line_commands(backend, date)
        # The net in the payout currency; in the company currency, what the
        # lines add up to (their conversions are rounded one by one).
        balance = -sum(command[2]["balance"] for command in line_commands)
        line_commands.append(
            Command.create(
                {
                    "name": self.env._("Payout %s", self.name),
                    "account_id": self._net_account().id,
                    "currency_id": self.currency_id.id,
                    "amount_currency": self.amount,
                    "balance": self.company_id.currency_id.round(balance),
                }
            )
        )
        # The processor's tax on fees is booked as stated, never recomputed.
        move = (
            self.env["account.move"]
            .with_context(skip_invoice_sync=True)
            .create(
                {
                    "move_type": "entry",
                    "journal_id": backend.payout_journal_id.id,
                    "date": date,
                    "ref": self.name,
                    "line_ids": line_commands,
                }
            )
        )
        move.action_post()
        self.move_id = move
        for line in self.line_ids:
            line.move_line_id = move.line_ids.filtered(
                lambda aml, line=line: (
                    aml.channel_payout_line_id == line and aml.account_id.reconcile
                )
            )[:1]

    def _reconcile_matched(self):
        """Reconcile each matched charge or refund's clearing line with its
        payment's, line by line, and a won dispute's lines together."""
        for line in self.line_ids.filtered(
            lambda line: line.match_state == "matched" and line.move_line_id
        ):
            offset_item = line.dispute_offset_id.move_line_id
            if offset_item and not (offset_item | line.move_line_id).filtered(
                "reconciled"
            ):
                (offset_item | line.move_line_id).reconcile()
                continue
            counterpart = line.payment_id.move_id.line_ids.filtered(
                lambda aml, line=line: (
                    aml.account_id == line.move_line_id.account_id
                    and not aml.reconciled
                )
            )
            if counterpart and not line.move_line_id.reconciled:
                (line.move_line_id | counterpart).reconcile()

    def _reverse(self):
        """A failed or canceled payout: its entry is reversed, the payments
        go back to waiting for a payout."""
        if not self.move_id or self.reversal_move_id:
            return
        self.move_id.line_ids.remove_move_reconcile()
        reversal = self.move_id._reverse_moves(
            default_values_list=[
                {
                    "date": fields.Date.today(),
                    "ref": self.env._("Reversal of %s (payout failed)", self.name),
                }
            ],
            cancel=True,
        )
        self.reversal_move_id = reversal
        self.statement_line_id = False

    def _find_statement_line(self):
        """The unreconciled statement line of the payout's transfer in the
        payout bank journal: its exact amount, dated within the payout's
        window, not taken by another payout; the one naming the payout (its
        id or bank reference in the label or reference) wins. Several
        candidates and none naming it: an exception, never a guess."""
        journal = self.backend_id.payout_bank_journal_id
        if not journal or not self.move_id or self.statement_line_id:
            return self.env["account.bank.statement.line"]
        candidates = self._statement_line_candidates(journal)
        named = candidates.filtered(self._names_payout)
        if len(named) == 1 or len(candidates) == 1:
            return named or candidates
        if candidates:
            self._record_mismatch(
                self.env._(
                    "Payout %(payout)s of %(amount)s: %(count)s bank lines of "
                    "that amount (%(lines)s) and none names the payout: put "
                    "the payout id in the right line's label, then Reconcile "
                    "bank line on the payout.",
                    payout=self.name,
                    amount=self._format(self.amount),
                    count=len(named or candidates),
                    lines=", ".join((named or candidates).mapped("display_name")),
                ),
                key=self._bank_line_key(),
                documents=list(named or candidates),
            )
        return self.env["account.bank.statement.line"]

    def _statement_line_candidates(self, journal):
        taken = self.search([("statement_line_id", "!=", False)]).statement_line_id
        domain = [
            ("journal_id", "=", journal.id),
            ("is_reconciled", "=", False),
            ("id", "not in", taken.ids),
        ]
        issued = fields.Date.to_date(self.issued_at)
        if issued:
            domain += [
                ("date", ">=", issued - timedelta(days=BANK_LINE_DAYS_BEFORE)),
                ("date", "<=", issued + timedelta(days=BANK_LINE_DAYS_AFTER)),
            ]
        candidates = self.env["account.bank.statement.line"].search(
            Domain(domain), order="date, id"
        )
        return candidates.filtered(
            lambda st: (
                float_compare(
                    st.amount, self.amount, precision_rounding=self.currency_id.rounding
                )
                == 0
            )
        )

    def _names_payout(self, st_line):
        """Whether the statement line's label or reference carries the
        payout's id or the bank reference of its transfer."""
        text = " ".join(
            part or "" for part in (st_line.payment_ref, st_line.ref, st_line.narration)
        ).upper()
        refs = (self.external_ref, self.bank_reference)
        return any(ref and ref.upper() in text for ref in refs)

    def _reconcile_statement_line(self, st_line):
        """Put the statement line's suspense line on the account that holds
        the payout's net, then reconcile the two (Odoo Community has no
        reconciliation widget; this is what it would write)."""
        net_account = self._net_account()
        net_line = self.move_id.line_ids.filtered(
            lambda aml: aml.account_id == net_account and not aml.reconciled
        )
        _liquidity, suspense, _other = st_line._seek_for_lines()
        if not net_line or len(suspense) != 1:
            return False
        move = st_line.move_id
        move.button_draft()
        move.line_ids = [
            Command.update(
                suspense.id, {"account_id": net_account.id, "name": self.name}
            )
        ]
        move.action_post()
        counterpart = move.line_ids.filtered(lambda aml: aml.account_id == net_account)
        (counterpart | net_line).reconcile()
        self.statement_line_id = st_line
        # An earlier "several bank lines" exception is answered.
        self.env["channel.exception"]._resolve(
            self.backend_id,
            exception_type="payment_mismatch",
            key=self._bank_line_key(),
        )
        return True

    def _bank_line_key(self):
        return f"payout_bank_line:{self.processor}:{self.external_ref}"
