from odoo import api, fields, models
from odoo.tools import escape_psql


class ChannelPaymentMapping(models.Model):
    """Which journal receives the payments of a channel gateway.

    `gateway` is the channel's name for it (`records.PaymentTransactionData.gateway`),
    e.g. "paypal", "stripe".
    """

    _name = "channel.payment.mapping"
    _description = "Channel Payment Mapping"
    _order = "backend_id, gateway, id"
    _check_company_auto = True

    # === FIELDS ===

    backend_id = fields.Many2one(
        "channel.backend", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    gateway = fields.Char(required=True)
    journal_id = fields.Many2one(
        "account.journal",
        required=True,
        check_company=True,
        domain="[('type', 'in', ('bank', 'cash', 'credit'))]",
    )

    # === CONSTRAINT METHODS ===

    _backend_gateway_unique = models.UniqueIndex(
        "(backend_id, gateway)", "A gateway is mapped to one journal per backend."
    )

    # === BUSINESS METHODS ===

    @api.model
    def _prepare_clearing_journal(self, company, name, code):
        """The processor clearing journal `code` of `company`, created when
        missing: a bank-type journal whose incoming and outgoing payments
        wait on its own reconcilable "<name> clearing" account (its
        outstanding receipts and payments account) until the payout clears
        them, instead of landing on the bank."""
        Journal = self.env["account.journal"].with_company(company)
        journal = Journal.search(
            [("company_id", "=", company.id), ("code", "=", code)], limit=1
        )
        if journal:
            return journal
        Account = self.env["account.account"].with_company(company)
        start = company.account_journal_suspense_account_id.code or "101400"
        account = Account.create(
            {
                "name": self.env._("%s clearing", name),
                "code": Account._search_new_account_code(start),
                "account_type": "asset_current",
                "reconcile": True,
            }
        )
        journal = Journal.create(
            {"name": name, "code": code, "type": "bank", "company_id": company.id}
        )
        (
            journal.inbound_payment_method_line_ids
            | journal.outbound_payment_method_line_ids
        ).payment_account_id = account
        return journal

    @api.model
    def _find_journal(self, backend, gateway, company=None):
        """The journal of `company` (default: the backend's) for a gateway.

        A mapping names a journal of the backend's company; an order routed to
        another company is paid in that company's journal of the same type
        and short code.

        :return: (journal or empty, mapped journal or empty): the mapped
            journal says whether the gateway is mapped at all
        """
        mapping = self.search(
            [
                ("backend_id", "=", backend.id),
                # Case-insensitive but exact: a gateway name may hold a `_`.
                ("gateway", "=ilike", escape_psql((gateway or "").strip())),
            ],
            limit=1,
        )
        mapped = mapping.journal_id
        company = company or backend.company_id
        if not mapped or mapped.company_id == company:
            return mapped, mapped
        twin = self.env["account.journal"].search(
            [
                ("company_id", "=", company.id),
                ("type", "=", mapped.type),
                ("code", "=", mapped.code),
            ],
            limit=1,
        )
        return twin, mapped
