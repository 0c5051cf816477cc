from odoo import api, fields, models


class ChannelPayout(models.Model):
    """Amazon settlements, read as settlement reports through the Amazon
    backend's adapter: one payout per settlement."""

    _inherit = "channel.payout"

    # === FIELDS ===

    processor = fields.Selection(
        selection_add=[("amazon", "Amazon settlement")],
        ondelete={"amazon": "cascade"},
    )

    # === BUSINESS METHODS ===

    @api.model
    def _create_from_channel(self, backend, data, adapter, processor=None):
        """Override of `channel_connector`: the refunds of an Amazon
        settlement are booked (credit note, refund payment) before its lines
        are read and matched, so its refund lines find their payments."""
        if data.processor == "amazon":
            backend._book_settlement_refunds(adapter, data.external_ref)
        return super()._create_from_channel(backend, data, adapter, processor)
