from odoo import fields, models


class AccountMoveLine(models.Model):
    """Journal items of a payout entry name the payout line they book."""

    _inherit = "account.move.line"

    # === FIELDS ===

    channel_payout_line_id = fields.Many2one(
        "channel.payout.line",
        string="Payout Line",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="set null",
    )
