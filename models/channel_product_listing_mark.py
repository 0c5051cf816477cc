from odoo import api, fields, models

from ..sql import queries


class ChannelProductListingMark(models.Model):
    """A change waiting for the next publish of one listing; deleted by the
    publishing job that read it. Never updated, so a product saved while a
    job publishes never waits on the job's rows nor loses its change."""

    _name = "channel.product.listing.mark"
    _description = "Channel Product Listing Change Mark"
    _order = "id"
    _log_access = False

    listing_id = fields.Many2one(
        "channel.product.listing", required=True, index=True, ondelete="cascade"
    )

    @api.model
    def _insert(self, listing_ids):
        """One mark per listing id, in one INSERT."""
        if listing_ids:
            queries.insert_listing_marks(self.env.cr, listing_ids)
            self.env["channel.product.listing"]._invalidate_marks()
