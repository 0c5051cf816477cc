from odoo import fields, models


class ChannelBindingMixin(models.AbstractModel):
    """What links an Odoo record to its counterpart on one channel.

    `external_ref` is the channel's id (in Odoo "external id" means an xmlid);
    `(backend_id, external_ref)` is unique, which is what finally stops two
    workers from importing the same channel record twice.
    """

    _name = "channel.binding.mixin"
    _description = "Channel Binding Mixin"

    backend_id = fields.Many2one(
        "channel.backend", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True
    )
    external_ref = fields.Char(string="Channel id", required=True, readonly=True)
    sync_date = fields.Datetime(string="Last synced", readonly=True)

    _backend_external_ref_unique = models.UniqueIndex(
        "(backend_id, external_ref)",
        "This channel record is already bound to an Odoo record.",
    )
