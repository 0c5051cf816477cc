from datetime import UTC, datetime, timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError

from ..adapters.records import UnreadablePayout
from ..const import JOB_CHANNEL_CATALOG, JOB_MAX_RETRIES

# A payout's status still moves (in transit → paid, or failed) days after it
# is issued: the scheduled import reads back this far past the last one.
PAYOUT_LOOKBACK_DAYS = 10
FIRST_IMPORT_DAYS = 30
KPI_DAYS = 30
ACCOUNT_DOMAIN = "[('company_ids', 'parent_of', company_id)]"


class ChannelBackend(models.Model):
    """Payouts of the processor that collects a channel's card payments:
    where they are booked, and their scheduled and on-demand import."""

    _inherit = "channel.backend"

    # === FIELDS ===

    import_payouts = fields.Boolean(
        string="Import payouts",
        help="Read the processor's payouts every 6 hours, match their lines "
        "to the payments and book one entry per payout.",
    )
    payout_journal_id = fields.Many2one(
        "account.journal",
        string="Payout journal",
        check_company=True,
        domain="[('type', '=', 'general')]",
        help="The journal of the payout entries (a miscellaneous one).",
    )
    payout_clearing_account_id = fields.Many2one(
        "account.account",
        string="Clearing account",
        domain=ACCOUNT_DOMAIN,
        help="The outstanding receipts account of the processor's clearing "
        "journal: card payments wait there until their payout. Lines that "
        "match no payment are booked there too, open.",
    )
    payout_bank_journal_id = fields.Many2one(
        "account.journal",
        string="Payout bank journal",
        check_company=True,
        domain="[('type', '=', 'bank')]",
        help="The bank account the processor pays out to: its statement line "
        "of the transfer is reconciled with the payout's entry.",
    )
    payout_transit_account_id = fields.Many2one(
        "account.account",
        string="Payouts in transit account",
        domain=ACCOUNT_DOMAIN,
        help="Reconcilable current asset where the payout's net waits for the "
        "bank statement line of the transfer (default: the payout bank "
        "journal's outstanding receipts account).",
    )
    payout_fee_account_id = fields.Many2one(
        "account.account", string="Processor fees account", domain=ACCOUNT_DOMAIN
    )
    payout_chargeback_account_id = fields.Many2one(
        "account.account", string="Chargebacks account", domain=ACCOUNT_DOMAIN
    )
    payout_adjustment_account_id = fields.Many2one(
        "account.account", string="Adjustments account", domain=ACCOUNT_DOMAIN
    )
    payout_reserve_account_id = fields.Many2one(
        "account.account",
        string="Reserve account",
        domain=ACCOUNT_DOMAIN,
        help="Funds the processor holds back (a receivable from it).",
    )
    payout_fee_tax_id = fields.Many2one(
        "account.tax",
        string="Tax on processor fees",
        check_company=True,
        domain="[('type_tax_use', '=', 'purchase')]",
        help="Purchase tax of the tax the processor charges on its fees (VAT "
        "on Stripe fees in Europe): booked as stated by the processor, "
        "recoverable through the tax report. Empty: fees are booked gross.",
    )
    payout_ids = fields.One2many("channel.payout", "backend_id", readonly=True)
    payment_processor_ids = fields.One2many(
        "channel.payment.processor", "backend_id", string="Processor accounts"
    )

    kpi_payout_lines = fields.Integer(
        string="Payout lines",
        compute="_compute_payout_kpis",
        help="Charges and refunds in the payouts of the last 30 days.",
    )
    kpi_payout_match_rate = fields.Float(
        string="Payout lines matched automatically",
        compute="_compute_payout_kpis",
        help="Share of the charges and refunds of the last 30 days' payouts "
        "that the import matched to their payment by itself.",
    )
    kpi_payout_unmatched_amount = fields.Float(
        string="Unmatched in payouts",
        compute="_compute_payout_kpis",
        help="Charges and refunds of booked payouts with no payment or a "
        "different amount.",
    )
    kpi_payout_fees_month = fields.Float(
        string="Processor fees this month", compute="_compute_payout_kpis"
    )

    # === COMPUTE METHODS ===

    def _compute_payout_kpis(self):
        """Three grouped reads for every displayed backend."""
        Line = self.env["channel.payout.line"].sudo()
        now = fields.Datetime.now()
        to_match = [
            ("backend_id", "in", self.ids),
            ("match_state", "not in", ("none", "pending")),
            ("payout_id.reversal_move_id", "=", False),
        ]
        recent = [("issued_at", ">=", now - timedelta(days=KPI_DAYS))]
        totals = dict(Line._read_group(to_match + recent, ["backend_id"], ["__count"]))
        auto = dict(
            Line._read_group(
                to_match + recent + [("is_auto_matched", "=", True)],
                ["backend_id"],
                ["__count"],
            )
        )
        unmatched = dict(
            self.env["channel.payout"]
            .sudo()
            ._read_group(
                [("backend_id", "in", self.ids), ("reversal_move_id", "=", False)],
                ["backend_id"],
                ["unmatched_amount:sum"],
            )
        )
        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        fees = dict(
            Line._read_group(
                [
                    ("backend_id", "in", self.ids),
                    ("issued_at", ">=", month_start),
                    ("payout_id.reversal_move_id", "=", False),
                ],
                ["backend_id"],
                ["fee:sum"],
            )
        )
        for backend in self:
            count = totals.get(backend, 0)
            backend.kpi_payout_lines = count
            backend.kpi_payout_match_rate = auto.get(backend, 0) / count if count else 0
            backend.kpi_payout_unmatched_amount = unmatched.get(backend, 0.0)
            backend.kpi_payout_fees_month = fees.get(backend, 0.0)

    # === ACTION METHODS ===

    def action_prepare_payout_accounts(self):
        """Fill the empty payout settings with a miscellaneous journal, the
        company's bank journal and new accounts for fees, chargebacks,
        adjustments and the reserve (managers only)."""
        if not self.env.user.has_group("channel_connector.group_channel_manager"):
            raise AccessError(
                self.env._("Only channel managers configure payout accounting.")
            )
        # The rights say who; the record rules which backends (of the
        # caller's companies): sudo() below would skip them.
        self.check_access("write")
        for backend in self.sudo():
            backend.write(backend._payout_account_defaults())
        return True

    def action_open_payouts(self):
        """The backend's payouts, unmatched first."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "channel_connector.channel_payout_action"
        )
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {"search_default_unmatched": 1}
        return action

    def action_import_payouts(self, since=None):
        """Enqueue an import of the payouts issued since `since` (a date or
        datetime; default: since a few days before the last one)."""
        if not self.env.user.has_group("channel_connector.group_channel_finance"):
            raise AccessError(
                self.env._("Only channel finance users and managers import payouts.")
            )
        self.check_access("read")
        since = fields.Datetime.to_datetime(since)
        for backend in self.sudo():
            if backend.supports_payout_import:
                backend._enqueue_payout_import(since)
            for processor in backend.payment_processor_ids:
                processor._enqueue_payout_import(since)
        return True

    # === BUSINESS METHODS ===

    @api.model
    def _cron_import_payouts(self):
        """Cron: enqueue a payout import per backend that imports them."""
        backends = self.search(
            [("import_payouts", "=", True), ("state", "=", "connected")]
        )
        for backend in backends.filtered("supports_payout_import"):
            backend._enqueue_payout_import()
        self.env["channel.payment.processor"]._cron_import_payouts()

    def _enqueue_payout_import(self, since=None):
        self.ensure_one()
        return self.with_delay(
            max_retries=JOB_MAX_RETRIES,
            channel=JOB_CHANNEL_CATALOG,
            identity_key=self._identity_key(
                "payout_import", since.isoformat() if since else "scheduled"
            ),
        )._job_import_payouts(since=since and since.isoformat())

    def _payout_account_defaults(self):
        """Values of the empty payout settings (new accounts where needed)."""
        self.ensure_one()
        company = self.company_id
        Journal = self.env["account.journal"].with_company(company)
        Account = self.env["account.account"].with_company(company)
        expense = Account.search(
            [("account_type", "=", "expense"), *Account._check_company_domain(company)],
            limit=1,
        )
        receipts = company.account_journal_suspense_account_id
        new_accounts = {
            "payout_transit_account_id": (
                self.env._("Payouts in transit"),
                "asset_current",
                receipts,
            ),
            "payout_fee_account_id": (self.env._("Processor fees"), "expense", expense),
            "payout_chargeback_account_id": (
                self.env._("Chargebacks"),
                "expense",
                expense,
            ),
            "payout_adjustment_account_id": (
                self.env._("Processor adjustments"),
                "expense",
                expense,
            ),
            "payout_reserve_account_id": (
                self.env._("Processor reserve"),
                "asset_current",
                receipts,
            ),
        }
        values = {}
        for field_name, (name, account_type, near) in new_accounts.items():
            if self[field_name]:
                continue
            if (
                field_name == "payout_transit_account_id"
                and self._payout_bank_receipts()
            ):
                continue
            account = Account.search(
                [("name", "=", name), *Account._check_company_domain(company)], limit=1
            ) or Account.create(
                {
                    "name": name,
                    "code": Account._search_new_account_code(near.code or "600000"),
                    "account_type": account_type,
                    "reconcile": account_type == "asset_current",
                }
            )
            values[field_name] = account.id
        company_domain = [("company_id", "=", company.id)]
        if not self.payout_journal_id:
            values["payout_journal_id"] = Journal.search(
                [*company_domain, ("type", "=", "general")], limit=1
            ).id
        if not self.payout_bank_journal_id:
            values["payout_bank_journal_id"] = Journal.search(
                [*company_domain, ("type", "=", "bank")], order="id", limit=1
            ).id
        return values

    def _payout_bank_receipts(self):
        lines = self.payout_bank_journal_id.inbound_payment_method_line_ids
        return lines.filtered("payment_account_id")[:1].payment_account_id

    def _payout_required_fields(self):
        """Hook: the fields a payout needs to be booked."""
        return (
            "payout_journal_id",
            "payout_clearing_account_id",
            "payout_bank_journal_id",
            "payout_fee_account_id",
            "payout_chargeback_account_id",
            "payout_adjustment_account_id",
        )

    def _payout_disputes_on_clearing(self, payout):
        """Hook: whether `payout`'s dispute lines wait on the clearing
        account for the lost dispute's refund payment the channel books
        (its own processor, lost disputes booked as credit notes), rather
        than being expensed to the chargebacks account."""
        self.ensure_one()
        return (
            self.dispute_lost_policy == "credit_note"
            and not payout.payment_processor_id
        )

    def _payout_since(self, since=None, processor=None):
        """Aware UTC datetime from which payouts (of `processor`, a
        `channel.payout` processor code) are read."""
        if since:
            moment = fields.Datetime.to_datetime(since)
        else:
            domain = [("backend_id", "=", self.id)]
            if processor:
                domain.append(("processor", "=", processor))
            last = self.env["channel.payout"].search(
                domain, order="issued_at desc", limit=1
            )
            moment = (
                last.issued_at - timedelta(days=PAYOUT_LOOKBACK_DAYS)
                if last.issued_at
                else fields.Datetime.now() - timedelta(days=FIRST_IMPORT_DAYS)
            )
        return moment.replace(tzinfo=UTC) if isinstance(moment, datetime) else None

    def _record_unreadable_payout(self, data):
        """A payout the channel listed but the adapter could not read: an
        exception to look at; the others of the page are imported."""
        self.env["channel.exception"]._record(
            "validation",
            self.env._(
                "Payout %(payout)s could not be read: %(error)s",
                payout=data.external_ref,
                error=data.error,
            ),
            backend=self,
            key=f"payout_unreadable:{data.external_ref}",
        )

    # === JOBS ===

    def _job_import_payouts(self, since=None):
        """Job: read the payouts issued since `since` (ISO text) and bring
        each to its status; an unchanged payout is left as it is."""
        self.ensure_one()
        if not self.active or not self.supports_payout_import:
            return 0
        # System work (accounting entries) behind a rights-checked action or
        # the cron: the enqueuing user needs no accounting rights.
        backend_sudo = self.sudo()
        adapter = backend_sudo._get_adapter("catalog")
        Payout = self.env["channel.payout"].sudo()
        start, cursor, count = self._payout_since(since), None, 0
        with self._map_channel_errors():
            while True:
                payouts, cursor = adapter.fetch_payouts(start, cursor)
                for data in payouts:
                    if isinstance(data, UnreadablePayout):
                        self._record_unreadable_payout(data)
                        continue
                    Payout._sync_from_channel(backend_sudo, data, adapter)
                    count += 1
                if not cursor:
                    return count
