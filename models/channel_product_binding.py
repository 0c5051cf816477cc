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
        string="Channel product id", help="The channel's product of this variant."
    )
    catalogue_price_hash = fields.Char(
        readonly=True,
        copy=False,
        help="Hash of the price and compare-at price the channel last "
        "acknowledged for this variant.",
    )

    # === CONSTRAINT METHODS ===

    # Override of the mixin's key: a variant is bound once per company, since
    # an order routed to another company needs that company's product.
    _backend_external_ref_unique = models.UniqueIndex(
        "(backend_id, external_ref, company_id)",
        "This channel variant is already bound to a product of this company.",
    )

    # === CRUD METHODS ===

    @api.model_create_multi
    def create(self, vals_list):
        """Override of `base`: a binding to a company's product belongs to
        that company, the one whose orders it maps, whoever creates it."""
        Product = self.env["product.product"]
        for vals in vals_list:
            company = Product.browse(vals.get("product_id")).company_id
            if company:
                vals["company_id"] = company.id
        return super().create(vals_list)

    # === BUSINESS METHODS ===

    @api.model
    def _resolve_products(self, backend, lines, company):
        """Map order lines to variants of `company`, the company the order is
        routed to: its binding first, then SKU = internal reference.

        A binding maps a line in `company` when its product belongs to that
        company or is shared; a company's own product wins over a shared one.

        :return: (list of products aligned with `lines`, missing lines); a SKU
            match creates the binding so the next import needs no SKU lookup.
        """
        refs = [line.variant_ref for line in lines if line.variant_ref]
        bindings = self.search(
            [("backend_id", "=", backend.id), ("external_ref", "in", refs)]
        )
        usable = bindings.filtered(
            lambda b: b.product_id.company_id in (company, self.env["res.company"])
        )
        # Shared products first, so that a company's own product overrides.
        by_ref = {
            binding.external_ref: binding.product_id
            for binding in usable.sorted(lambda b: bool(b.product_id.company_id))
        }
        # A ref bound in `company` (whatever its product) gets no twin binding.
        bound = set(
            bindings.filtered(lambda b: b.company_id == company).mapped("external_ref")
        )
        products, missing = [], []
        for line in lines:
            product = self._product_for_line(backend, line, company, by_ref, bound)
            products.append(product)
            if not product:
                missing.append(line)
        return products, missing

    @api.model
    def _product_for_line(self, backend, line, company, by_ref, bound):
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
        if product and line.variant_ref and line.variant_ref not in bound:
            self.create(
                {
                    "backend_id": backend.id,
                    "company_id": company.id,
                    "external_ref": line.variant_ref,
                    "product_id": product.id,
                    "sku": line.sku,
                    # Some channels write a variation's stock under its parent.
                    "product_ref": line.product_ref
                    if line.product_ref != line.variant_ref
                    else False,
                    "sync_date": fields.Datetime.now(),
                }
            )
            bound.add(line.variant_ref)
        if product and line.variant_ref:
            by_ref[line.variant_ref] = product
        return product
