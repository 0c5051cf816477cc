from odoo import fields, models


class ChannelPayout(models.Model):
    """Shopify Payments payouts, read through the Shopify backend's adapter."""

    _inherit = "channel.payout"

    # === FIELDS ===

    processor = fields.Selection(
        selection_add=[("shopify_payments", "Shopify Payments")],
        ondelete={"shopify_payments": "cascade"},
    )
