from odoo import fields, models
from odoo.exceptions import AccessError

# Changing these changes whether (or what) the variants publish to channels.
STOCK_PUBLISHING_FIELDS = frozenset({"active", "sale_ok"})
# Changing these changes what the product publishes to catalogue channels.
CATALOGUE_FIELDS = frozenset(
    {
        "active",
        "sale_ok",
        "name",
        "description_sale",
        "list_price",
        "weight",
        "barcode",
        "default_code",
        "is_storable",
        "taxes_id",
        "categ_id",
        "product_tag_ids",
        "attribute_line_ids",
        "channel_sell_on_ids",
        "image_1920",
        "image_variant_1920",
    }
)


class ProductTemplate(models.Model):
    """Channel stock levels follow whether a product can be sold; channel
    listings follow what the product publishes."""

    _inherit = "product.template"

    channel_sell_on_ids = fields.Many2many(
        "channel.backend",
        "channel_backend_sell_on_rel",
        "product_tmpl_id",
        "backend_id",
        string="Sell on",
        domain="[('company_id', 'in', (company_id or allowed_company_ids[0], False))]",
        help="Channels this product is published to (with those whose "
        "categories or tags select it).",
    )

    def write(self, vals):
        """Override of `product` to flag the channel stock levels of products
        archived, restored or made (un)sellable: the next delta export applies
        the archived-or-unsellable policy instead of waiting for the night;
        and the channel listings of products whose published data changed."""
        result = super().write(vals)
        if STOCK_PUBLISHING_FIELDS & set(vals):
            variants = self.with_context(active_test=False).product_variant_ids
            self.env["channel.stock.level"]._mark_dirty(variants.ids)
        if CATALOGUE_FIELDS & set(vals):
            self.env["channel.product.listing"]._mark_templates_dirty(self.ids)
        return result

    def action_channel_publish_now(self):
        """Publish what changed of these products to the channels that sell
        them now (a job per channel) rather than at the next cron run.
        Channel users only, and only to channels of their companies."""
        if not self.env.user.has_group("channel_connector.group_channel_user"):
            raise AccessError(self.env._("Only channel users publish products."))
        self.check_access("read")
        backends = self.channel_sell_on_ids.filtered("publish_catalogue")
        # Record rules decide which channels: sudo() below would skip them.
        backends.check_access("read")
        for backend_sudo in backends.sudo().filtered("supports_catalogue_publish"):
            backend_sudo._sync_listings()
            self.env["channel.product.listing"]._mark_backends_dirty(
                backend_sudo, self.ids
            )
            backend_sudo._enqueue_catalogue_publish()
        return True
