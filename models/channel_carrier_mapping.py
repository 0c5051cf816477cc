from odoo import api, fields, models

NUMBER_PLACEHOLDER = "{number}"


class ChannelCarrierMapping(models.Model):
    """How one Odoo carrier is named on a channel, and the tracking page of
    its parcels there (per backend)."""

    _name = "channel.carrier.mapping"
    _description = "Channel Carrier Mapping"
    _order = "backend_id, carrier_name, id"
    _rec_name = "carrier_name"

    # === FIELDS ===

    backend_id = fields.Many2one(
        "channel.backend", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    carrier_name = fields.Char(
        string="Odoo carrier",
        required=True,
        help="The carrier's name in Odoo (Inventory › Shipping Methods, with "
        "the Delivery module), case ignored.",
    )
    channel_carrier = fields.Char(
        string="Channel carrier",
        required=True,
        help="The carrier as the channel names it (one of its known tracking "
        "companies, e.g. UPS, DHL Express), so the channel links the "
        "tracking number itself.",
    )
    tracking_url = fields.Char(
        string="Tracking URL",
        help="Template of the parcel's tracking page, {number} standing for "
        "the tracking number. Empty: the carrier's own link, if any.",
    )

    _backend_carrier_unique = models.UniqueIndex(
        "(backend_id, lower(carrier_name))", "This carrier is already mapped."
    )

    # === BUSINESS METHODS ===

    @api.model
    def _apply(self, backend, tracking):
        """`tracking` ({"number", "company", "url"}) with the company and URL
        of the backend's mapping of its carrier; unmapped carriers keep their
        own name and link."""
        if not backend or not tracking["company"]:
            return tracking
        mapping = self.search(
            [
                ("backend_id", "=", backend.id),
                ("carrier_name", "=ilike", tracking["company"]),
            ],
            limit=1,
        )
        if not mapping:
            return tracking
        url = tracking["url"]
        if mapping.tracking_url and tracking["number"]:
            url = mapping.tracking_url.replace(NUMBER_PLACEHOLDER, tracking["number"])
        return {**tracking, "company": mapping.channel_carrier, "url": url}
