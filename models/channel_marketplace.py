from odoo import fields, models


class ChannelMarketplace(models.Model):
    """A marketplace (a country site) a channel account sells on, as the
    channel lists it; orders of the marketplaces marked here are imported."""

    _name = "channel.marketplace"
    _description = "Channel Marketplace"
    _order = "backend_id, name, id"

    # === FIELDS ===

    backend_id = fields.Many2one(
        "channel.backend", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    name = fields.Char(required=True)
    external_ref = fields.Char(
        string="Marketplace id", required=True, help="The channel's id of the site."
    )
    country_id = fields.Many2one("res.country")
    currency_id = fields.Many2one("res.currency")
    domain = fields.Char()
    participating = fields.Boolean(
        help="The account may sell on this marketplace (the channel says so)."
    )
    import_orders = fields.Boolean(
        default=True, help="Orders of this marketplace are imported."
    )

    # === CONSTRAINT METHODS ===

    _backend_marketplace_unique = models.UniqueIndex(
        "(backend_id, external_ref)", "This marketplace is already listed."
    )

    # === BUSINESS METHODS ===

    def _sync_from_channel(self, backend, marketplaces):
        """Create or update `backend`'s records of the channel's
        `marketplaces` (adapter records); the operator's `import_orders`
        choice is kept. Returns the records."""
        existing = {m.external_ref: m for m in backend.marketplace_ids}
        records = self.browse()
        for marketplace in marketplaces:
            values = {
                "name": marketplace.name,
                "country_id": self._find("res.country", marketplace.country_code),
                "currency_id": self._find("res.currency", marketplace.currency),
                "domain": marketplace.domain,
                "participating": marketplace.participating,
            }
            record = existing.get(marketplace.external_ref)
            if record:
                record.write(values)
            else:
                record = self.create(
                    {
                        **values,
                        "backend_id": backend.id,
                        "external_ref": marketplace.external_ref,
                        "import_orders": marketplace.participating,
                    }
                )
            records |= record
        return records

    def _find(self, model, code):
        """The id of the country or currency of an ISO code, else False."""
        if not code:
            return False
        field = "code" if model == "res.country" else "name"
        found = (
            self.env[model]
            .with_context(active_test=False)
            .search([(field, "=", code.upper())], limit=1)
        )
        return found.id
