from odoo import api, models


class ProductPricelistItem(models.Model):
    """A price rule changed: the listings whose prices it may move are
    flagged; the publishing job sends only the prices that did move."""

    _inherit = "product.pricelist.item"

    @api.model_create_multi
    def create(self, vals_list):
        """Override of `product` to flag the listings the new rules price."""
        items = super().create(vals_list)
        items._mark_channel_listings_dirty()
        return items

    def write(self, vals):
        """Override of `product` to flag the listings priced before and after."""
        self._mark_channel_listings_dirty()
        result = super().write(vals)
        self._mark_channel_listings_dirty()
        return result

    def unlink(self):
        """Override of `product` to flag the listings the rules priced."""
        self._mark_channel_listings_dirty()
        return super().unlink()

    def _mark_channel_listings_dirty(self):
        """Flag the listings of the backends publishing with these rules'
        price lists, narrowed to the rules' products where they name some.
        Backends are read in sudo: a price list manager need not be a
        channel user, and only listings are flagged."""
        pricelists = self.pricelist_id
        if not pricelists:
            return
        backends_sudo = (
            self.env["channel.backend"]
            .sudo()
            .search(
                [
                    "|",
                    ("catalogue_pricelist_id", "in", pricelists.ids),
                    ("catalogue_compare_pricelist_id", "in", pricelists.ids),
                ]
            )
        )
        if not backends_sudo:
            return
        Listing = self.env["channel.product.listing"]
        if any(item.applied_on in ("3_global", "2_product_category") for item in self):
            Listing._mark_backends_dirty(backends_sudo)
            return
        templates = self.product_tmpl_id | self.product_id.product_tmpl_id
        Listing._mark_backends_dirty(backends_sudo, templates.ids)
