from odoo import api, fields, models

from ..sql import queries


class ChannelProductListing(models.Model):
    """One product (template) as published to one channel.

    The variants are `channel.product.binding`s; the listing holds what the
    product as a whole needs: the channel's product id, whether it changed
    since it was last acknowledged (`dirty`, `payload_hash`), and how the
    last publish went. Written by product changes (dirty) and the publishing
    job; a row per product, never the backend's.
    """

    _name = "channel.product.listing"
    _description = "Channel Product Listing"
    _order = "backend_id, product_tmpl_id, id"
    _rec_name = "product_tmpl_id"

    # === FIELDS ===

    backend_id = fields.Many2one(
        "channel.backend", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    product_tmpl_id = fields.Many2one(
        "product.template",
        string="Product",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    external_ref = fields.Char(string="Channel product id", readonly=True, copy=False)
    state = fields.Selection(
        [
            ("pending", "Waiting"),
            ("published", "Published"),
            ("skipped", "Skipped"),
            ("refused", "Refused"),
        ],
        string="Publish state",
        default="pending",
        required=True,
        readonly=True,
    )
    mark_ids = fields.One2many(
        "channel.product.listing.mark", "listing_id", readonly=True
    )
    dirty = fields.Boolean(
        compute="_compute_dirty",
        inverse="_inverse_dirty",
        search="_search_dirty",
        help="Changed since the channel last acknowledged it.",
    )
    payload_hash = fields.Char(
        readonly=True,
        copy=False,
        help="Hash of the product as last acknowledged by the channel, prices "
        "left out (they are hashed per variant).",
    )
    image_checksum = fields.Char(
        readonly=True,
        copy=False,
        help="Checksum of the images as last acknowledged by the channel.",
    )
    last_sent_at = fields.Datetime(string="Last sent", readonly=True)
    message = fields.Char(string="Last result", readonly=True)
    difference = fields.Text(
        string="Differences",
        readonly=True,
        help="What the channel holds that differs from Odoo, as last reported.",
    )

    # === CONSTRAINT METHODS ===

    _listing_unique = models.UniqueIndex("(backend_id, product_tmpl_id)")

    # === COMPUTE METHODS ===

    @api.depends("mark_ids")
    def _compute_dirty(self):
        for listing in self:
            listing.dirty = bool(listing.mark_ids)

    def _inverse_dirty(self):
        """True marks the listing; False forgets its marks (a reset by hand,
        never the job's acknowledgement: see `_acknowledge`)."""
        # Both sets before any SQL: `dirty` is protected while inverted, a
        # value invalidated meanwhile would read as False.
        marked = self.filtered("dirty")
        cleared = self - marked
        if cleared:
            cleared._acknowledge(cleared._read_marks())
        marked._mark()

    def _search_dirty(self, operator, value):
        if operator not in ("=", "!="):
            return NotImplemented
        positive = bool(value) == (operator == "=")
        return [("mark_ids", "!=" if positive else "=", False)]

    # === CRUD METHODS ===

    @api.model_create_multi
    def create(self, vals_list):
        """Override of `base`: a new listing is to publish (marked)."""
        listings = super().create(vals_list)
        listings._mark()
        return listings

    # === BUSINESS METHODS ===

    def _mark(self):
        """Mark these listings for the next publishing job: one INSERT."""
        self.env["channel.product.listing.mark"]._insert(self.ids)

    def _read_marks(self):
        """{listing id: newest mark id} as the job reads them, before it
        reads the products (0 for a listing without mark)."""
        if not self:
            return {}
        self.env["channel.product.listing.mark"].flush_model()
        return {
            **dict.fromkeys(self.ids, 0),
            **queries.newest_listing_marks(self.env.cr, self.ids),
        }

    @api.model
    def _acknowledge(self, marks):
        """Delete the marks read ({listing id: newest mark id read}); a mark
        added since (a higher id, or one this transaction's snapshot does not
        see) stays, and so does the listing's dirtiness."""
        if marks:
            queries.delete_listing_marks_read(self.env.cr, marks)
            self._invalidate_marks()

    @api.model
    def _invalidate_marks(self):
        """Forget cached marks after SQL wrote them."""
        self.env["channel.product.listing.mark"].invalidate_model()
        self.invalidate_model(["mark_ids", "dirty"])

    @api.model
    def _mark_templates_dirty(self, template_ids):
        """Mark the listings of these templates for the next publishing job.

        Called from product, attribute and price list writes by users who
        may not read listings: marking is the connector's bookkeeping of a
        change they were allowed to make, hence sudo(), and nothing else.
        """
        if not template_ids:
            return
        self.sudo().search([("product_tmpl_id", "in", list(template_ids))])._mark()

    @api.model
    def _mark_backends_dirty(self, backends, template_ids=None):
        """Mark the listings of `backends` (of `template_ids` only if given)."""
        domain = [("backend_id", "in", backends.ids)]
        if template_ids is not None:
            domain.append(("product_tmpl_id", "in", list(template_ids)))
        self.sudo().search(domain)._mark()
