from odoo import api, fields, models
from odoo.exceptions import AccessError

from ..adapters.stripe import STRIPE_API_URL, StripeAdapter
from ..const import JOB_CHANNEL_CATALOG, JOB_MAX_RETRIES
from .channel_backend import MANAGER_GROUP


class ChannelPaymentProcessor(models.Model):
    """A payment processor account that collects a channel's card payments
    outside the channel (Stripe): its payouts are imported, matched and
    booked with the backend's payout accounts."""

    _name = "channel.payment.processor"
    _description = "Channel Payment Processor"
    _order = "backend_id, id"
    _check_company_auto = True

    # === FIELDS ===

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    backend_id = fields.Many2one(
        "channel.backend",
        required=True,
        index=True,
        ondelete="cascade",
        help="The channel whose orders this account is paid for; its payout "
        "accounts book the payouts.",
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    processor = fields.Selection(
        [("stripe", "Stripe")], required=True, default="stripe"
    )
    api_url = fields.Char(
        string="API URL", default=STRIPE_API_URL, required=True, groups=MANAGER_GROUP
    )
    stripe_secret_key = fields.Char(
        string="Secret key",
        groups=MANAGER_GROUP,
        copy=False,
        help="A restricted key with read access to balance and payouts is enough.",
    )
    fee_tax_id = fields.Many2one(
        "account.tax",
        string="Tax on fees",
        check_company=True,
        domain="[('type_tax_use', '=', 'purchase')]",
        help="Purchase tax of the tax this account's fees include (Stripe "
        "`fee_details` of type tax); default: the backend's.",
    )
    payout_ids = fields.One2many(
        "channel.payout", "payment_processor_id", string="Payouts", readonly=True
    )

    # === ACTION METHODS ===

    def action_import_payouts(self, since=None):
        """Enqueue an import of the payouts issued since `since`."""
        if not self.env.user.has_group("channel_connector.group_channel_finance"):
            raise AccessError(
                self.env._("Only channel finance users and managers import payouts.")
            )
        self.check_access("read")
        for processor in self.sudo():
            processor._enqueue_payout_import(fields.Datetime.to_datetime(since))
        return True

    # === BUSINESS METHODS ===

    @api.model
    def _cron_import_payouts(self):
        """Cron: enqueue a payout import per active processor account."""
        for processor in self.search([("backend_id.import_payouts", "=", True)]):
            processor._enqueue_payout_import()

    def _enqueue_payout_import(self, since=None):
        self.ensure_one()
        return self.with_delay(
            max_retries=JOB_MAX_RETRIES,
            channel=JOB_CHANNEL_CATALOG,
            identity_key=self.backend_id._identity_key(
                "processor_payout_import",
                self.id,
                since.isoformat() if since else "scheduled",
            ),
        )._job_import_payouts(since=since and since.isoformat())

    def _get_payout_adapter(self):
        """The ORM-free client of the processor's API (secret read as sudo)."""
        self.ensure_one()
        processor_sudo = self.sudo()
        return StripeAdapter(
            {
                "base_url": processor_sudo.api_url,
                "secret_key": processor_sudo.stripe_secret_key or "",
                "timeout": self.backend_id.request_timeout,
            }
        )

    # === JOBS ===

    def _job_import_payouts(self, since=None):
        """Job: read the account's payouts issued since `since` (ISO text)
        and bring each to its status; an unchanged payout is left as it is."""
        self.ensure_one()
        if not self.active or not self.backend_id.active:
            return 0
        # System work behind a rights-checked action or the cron.
        processor_sudo = self.sudo()
        backend_sudo = processor_sudo.backend_id
        adapter = processor_sudo._get_payout_adapter()
        Payout = self.env["channel.payout"].sudo()
        start = backend_sudo._payout_since(since, processor=processor_sudo.processor)
        cursor, count = None, 0
        with backend_sudo._map_channel_errors():
            while True:
                payouts, cursor = adapter.fetch_payouts(start, cursor)
                for data in payouts:
                    Payout._sync_from_channel(
                        backend_sudo, data, adapter, processor=processor_sudo
                    )
                    count += 1
                if not cursor:
                    return count
