from odoo import fields, models


class ChannelPayout(models.Model):
    """Amazon settlements, read as settlement reports through the Amazon
    backend's adapter: one payout per settlement."""

    _inherit = "channel.payout"

    # === FIELDS ===

    processor = fields.Selection(
        selection_add=[("amazon", "Amazon settlement")],
        ondelete={"amazon": "cascade"},
    )
