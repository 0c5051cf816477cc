from odoo import api, fields, models
from odoo.exceptions import ValidationError


class ChannelOrderRoute(models.Model):
    """Send a backend's orders to another company of the database.

    Rules are tried by sequence; the first that matches decides the company
    (and warehouse) everything of the order is created in. No rule matching:
    the backend's company.
    """

    _name = "channel.order.route"
    _description = "Channel Order Route"
    _order = "backend_id, sequence, id"

    # === FIELDS ===

    sequence = fields.Integer(default=10)
    backend_id = fields.Many2one(
        "channel.backend", required=True, index=True, ondelete="cascade"
    )
    # The backend's: the route is its configuration (the multi-company rule).
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    criterion = fields.Selection(
        [
            ("ship_country", "Ship-to country"),
            ("location", "Channel location or market"),
            ("sku_owner", "Company owning the SKUs"),
        ],
        required=True,
        default="ship_country",
    )
    country_ids = fields.Many2many("res.country", string="Countries")
    location_ref = fields.Char(
        string="Location or market", help="Channel location id or market handle."
    )
    target_company_id = fields.Many2one(
        "res.company",
        string="Route to company",
        help="Empty with 'SKU owner': the company of the products.",
    )
    warehouse_id = fields.Many2one(
        "stock.warehouse",
        help="Warehouse of the routed orders; empty: the backend's warehouse if it "
        "belongs to that company, else the company's default.",
    )

    # === CONSTRAINT METHODS ===

    @api.constrains("warehouse_id", "target_company_id")
    def _check_warehouse_company(self):
        for route in self.filtered("warehouse_id"):
            if route.warehouse_id.company_id != route.target_company_id:
                raise ValidationError(
                    self.env._(
                        "Warehouse %(warehouse)s belongs to %(company)s: a route "
                        "can only ship from a warehouse of the company it routes to.",
                        warehouse=route.warehouse_id.display_name,
                        company=route.warehouse_id.company_id.name,
                    )
                )

    # === BUSINESS METHODS ===

    @api.model
    def _route(self, backend, order):
        """The company an order is created in, and its warehouse (empty:
        the backend's if it is of that company, else the company default).

        :return: (res.company, stock.warehouse)
        """
        for route in self.search([("backend_id", "=", backend.id)]):
            company = route._match(order)
            if company:
                return company, route.warehouse_id
        return backend.company_id, self.env["stock.warehouse"]

    def _match(self, order):
        self.ensure_one()
        if self.criterion == "ship_country":
            address = order.shipping_address or order.billing_address
            codes = set(self.country_ids.mapped("code"))
            if address and (address.country_code or "").upper() in codes:
                return self.target_company_id
        elif self.criterion == "location":
            if self.location_ref in {order.location_ref, order.market}:
                return self.target_company_id
        elif self.criterion == "sku_owner":
            return self._sku_owner(order)
        return self.env["res.company"]

    def _sku_owner(self, order):
        skus = [line.sku for line in order.lines if line.sku]
        products = (
            self.env["product.product"]
            .sudo()
            .search([("default_code", "in", skus), ("company_id", "!=", False)])
        )
        owners = products.company_id
        if len(owners) == 1 and (
            not self.target_company_id or owners == self.target_company_id
        ):
            return owners
        return self.env["res.company"]
