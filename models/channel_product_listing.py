from odoo import api, fields, models


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
    dirty = fields.Boolean(
        default=True,
        readonly=True,
        index=True,
        help="Changed since the channel last acknowledged it.",
    )
    payload_hash = fields.Char(
        readonly=True,
        copy=False,
        help="Hash of the product as last acknowledged by the channel, prices "
        "left out (they are hashed per variant).",
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

    # === BUSINESS METHODS ===

    @api.model
    def _mark_templates_dirty(self, template_ids):
        """Flag the listings of these templates for the next publishing job.

        Called from product, attribute and price list writes by users who
        may not read listings: flagging is the connector's bookkeeping of a
        change they were allowed to make, hence sudo(), and nothing else.
        """
        if not template_ids:
            return
        listings_sudo = self.sudo().search(
            [("product_tmpl_id", "in", list(template_ids)), ("dirty", "=", False)]
        )
        listings_sudo.write({"dirty": True})

    @api.model
    def _mark_backends_dirty(self, backends, template_ids=None):
        """Flag the listings of `backends` (of `template_ids` only if given)."""
        domain = [("backend_id", "in", backends.ids), ("dirty", "=", False)]
        if template_ids is not None:
            domain.append(("product_tmpl_id", "in", list(template_ids)))
        self.sudo().search(domain).write({"dirty": True})
