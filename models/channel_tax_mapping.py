from decimal import Decimal

from odoo import api, fields, models

RATE_TOLERANCE = Decimal("0.00001")


class ChannelTaxMapping(models.Model):
    """Which Odoo tax stands for a channel tax line (rate, title, included).

    The title is optional: an empty title matches any tax line of that rate,
    a filled one only tax lines with that title (e.g. "CA State Tax").
    """

    _name = "channel.tax.mapping"
    _description = "Channel Tax Mapping"
    _order = "backend_id, sequence, id"
    _check_company_auto = True

    # === FIELDS ===

    sequence = fields.Integer(default=10)
    backend_id = fields.Many2one(
        "channel.backend", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    title = fields.Char(help="Channel tax title; empty matches any title.")
    rate = fields.Float(
        string="Rate (%)", digits=(16, 4), required=True, help="e.g. 20 for 20 %."
    )
    price_included = fields.Boolean(string="Included in price")
    tax_id = fields.Many2one(
        "account.tax",
        required=True,
        check_company=True,
        domain="[('type_tax_use', '=', 'sale')]",
    )

    # === BUSINESS METHODS ===

    @api.model
    def _find_tax(self, backend, tax_line):
        """The Odoo tax for a canonical `TaxLineData`, or an empty recordset.

        A mapping naming the line's title wins over one for any title,
        whatever their sequences; among equals, the first by sequence.
        """
        percent = tax_line.rate * 100
        title = (tax_line.title or "").strip().lower()
        generic = self.env["account.tax"]
        for mapping in self.search([("backend_id", "=", backend.id)]):
            if abs(Decimal(str(mapping.rate)) - percent) > RATE_TOLERANCE:
                continue
            if mapping.price_included != tax_line.price_included:
                continue
            if not mapping.title:
                generic = generic or mapping.tax_id
            elif mapping.title.strip().lower() == title:
                return mapping.tax_id
        return generic
