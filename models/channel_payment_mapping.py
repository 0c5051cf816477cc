from odoo import api, fields, models


class ChannelPaymentMapping(models.Model):
    """Which journal receives the payments of a channel gateway.

    `gateway` is the channel's name for it (Shopify `gateway`, WooCommerce
    `payment_method`), e.g. "shopify_payments", "paypal", "stripe".
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
    def _find_journal(self, backend, gateway):
        mapping = self.search(
            [("backend_id", "=", backend.id), ("gateway", "=ilike", gateway or "")],
            limit=1,
        )
        return mapping.journal_id
