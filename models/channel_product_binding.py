from odoo import api, fields, models


class ChannelProductBinding(models.Model):
    """A channel variant bound to one `product.product` (never a template).

    Made by the catalogue match and by the order import when a SKU matches a
    product's internal reference, or by hand; later imports use the binding
    first, so renaming a SKU on either side does not break the mapping.
    """

    _name = "channel.product.binding"
    _description = "Channel Product Binding"
    _inherit = ["channel.binding.mixin"]
    _order = "id desc"
    _rec_name = "external_ref"

    product_id = fields.Many2one(
        "product.product", required=True, index=True, ondelete="cascade"
    )
    sku = fields.Char(string="Channel SKU", index=True)
    product_ref = fields.Char(
        string="Channel product id", help="Parent product of a WooCommerce variation."
    )
    inventory_item_ref = fields.Char(
        string="Inventory item id", help="Shopify's inventory item of the variant."
    )

    # === BUSINESS METHODS ===

    @api.model
    def _resolve_products(self, backend, lines, company):
        """Map order lines to variants: binding first, then SKU = internal reference.

        :return: (list of products aligned with `lines`, missing lines); a SKU
            match creates the binding so the next import needs no SKU lookup.
        """
        refs = [line.variant_ref for line in lines if line.variant_ref]
        bindings = self.search(
            [("backend_id", "=", backend.id), ("external_ref", "in", refs)]
        )
        by_ref = {binding.external_ref: binding.product_id for binding in bindings}
        products, missing = [], []
        for line in lines:
            product = self._product_for_line(backend, line, company, by_ref)
            products.append(product)
            if not product:
                missing.append(line)
        return products, missing

    @api.model
    def _product_for_line(self, backend, line, company, by_ref):
        if line.is_gift_card:
            return backend.gift_card_product_id
        if line.variant_ref and line.variant_ref in by_ref:
            return by_ref[line.variant_ref]
        if not line.sku:
            return self.env["product.product"]
        product = self.env["product.product"].search(
            [
                ("default_code", "=", line.sku),
                ("company_id", "in", (company.id, False)),
            ],
            limit=1,
        )
        if product and line.variant_ref:
            self.create(
                {
                    "backend_id": backend.id,
                    "company_id": company.id,
                    "external_ref": line.variant_ref,
                    "product_id": product.id,
                    "sku": line.sku,
                    # A WooCommerce variation's stock is written under its parent.
                    "product_ref": line.product_ref
                    if line.product_ref != line.variant_ref
                    else False,
                    "sync_date": fields.Datetime.now(),
                }
            )
            by_ref[line.variant_ref] = product
        return product
