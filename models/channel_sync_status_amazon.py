from odoo import fields, models


class ChannelSyncStatus(models.Model):
    """Amazon's flows: the FBA inventory read."""

    _inherit = "channel.sync.status"

    flow = fields.Selection(
        selection_add=[("fba_inventory", "FBA inventory")],
        ondelete={"fba_inventory": "cascade"},
    )
