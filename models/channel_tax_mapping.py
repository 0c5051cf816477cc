from decimal import Decimal

from odoo import api, fields, models

RATE_TOLERANCE = Decimal("0.00001")


class ChannelTaxMapping(models.Model):
    """Which Odoo tax stands for a channel tax line (rate, title, included).

    The title is optional: an empty title matches any tax line of that rate,
    a filled one only tax lines with that title (e.g. "CA State Tax").

    A mapping belongs to the company of its tax: mappings naming taxes of a
    company the backend routes orders to apply to those orders. Without one,
    a routed order takes the twin of the backend company's tax (same rate,
    kind and inclusion, preferably same name, then same tax group).
    """

    _name = "channel.tax.mapping"
    _description = "Channel Tax Mapping"
    _order = "backend_id, sequence, id"

    # === FIELDS ===

    sequence = fields.Integer(default=10)
    backend_id = fields.Many2one(
        "channel.backend", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(
        related="tax_id.company_id",
        store=True,
        string="Orders of company",
        help="The backend's company, or a company its orders are routed to.",
    )
    title = fields.Char(help="Channel tax title; empty matches any title.")
    rate = fields.Float(
        string="Rate (%)", digits=(16, 4), required=True, help="e.g. 20 for 20 %."
    )
    price_included = fields.Boolean(string="Included in price")
    tax_id = fields.Many2one(
        "account.tax",
        required=True,
        domain="[('type_tax_use', '=', 'sale')]",
    )

    # === BUSINESS METHODS ===

    @api.model
    def _find_tax(self, backend, tax_line, company=None):
        """The Odoo tax of `company` for a canonical `TaxLineData`, or an
        empty recordset.

        A mapping naming the line's title wins over one for any title,
        whatever their sequences; among equals, a mapping of `company` wins
        over the twin of a backend company's mapping, then the first by
        sequence.

        :param company: where the order is routed to (default: the backend's)
        """
        company = company or backend.company_id
        for mapping in self._matching(backend, tax_line, company):
            if mapping.company_id == company:
                return mapping.tax_id
            twin = self._company_twin(mapping.tax_id, company)
            if twin:
                return twin
        return self.env["account.tax"]

    @api.model
    def _matching(self, backend, tax_line, company):
        """The mappings of `company` and of the backend's company that fit
        the tax line, best first."""
        percent = tax_line.rate * 100
        title = (tax_line.title or "").strip().lower()
        mappings = self.search(
            [
                ("backend_id", "=", backend.id),
                ("company_id", "in", (company | backend.company_id).ids),
                ("price_included", "=", tax_line.price_included),
            ]
        ).filtered(
            lambda m: (
                abs(Decimal(str(m.rate)) - percent) <= RATE_TOLERANCE
                and (not m.title or m.title.strip().lower() == title)
            )
        )
        # sorted() is stable: equal mappings keep their sequence order.
        return mappings.sorted(lambda m: (not m.title, m.company_id != company))

    @api.model
    def _company_twin(self, tax, company):
        """The tax of `company` computed like `tax`: same amount, kind and
        inclusion; the same name first, then the same tax group name."""
        if tax.company_id == company:
            return tax
        twins = self.env["account.tax"].search(
            [
                ("company_id", "=", company.id),
                ("type_tax_use", "=", "sale"),
                ("amount_type", "=", tax.amount_type),
                ("amount", "=", tax.amount),
                ("price_include", "=", tax.price_include),
            ]
        )
        same_name = twins.filtered(lambda t: t.name == tax.name)
        same_group = twins.filtered(
            lambda t: t.tax_group_id.name == tax.tax_group_id.name
        )
        return (same_name or same_group or twins)[:1]
