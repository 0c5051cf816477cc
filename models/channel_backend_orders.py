from odoo import api, fields, models


class ChannelBackend(models.Model):
    """Order import settings of a backend: products used, mappings, routing."""

    _inherit = "channel.backend"

    # === FIELDS ===

    shipping_product_id = fields.Many2one(
        "product.product",
        default=lambda self: self._default_line_product("shipping"),
        domain="[('type', '=', 'service')]",
        help="Service product of the shipping lines.",
    )
    discount_product_id = fields.Many2one(
        "product.product",
        default=lambda self: self._default_line_product("discount"),
        domain="[('type', '=', 'service')]",
        help="Service product of the discount lines.",
    )
    gift_card_product_id = fields.Many2one(
        "product.product",
        default=lambda self: self._default_line_product("gift_card"),
        domain="[('type', '=', 'service')]",
        help="Service product of sold gift cards.",
    )
    rounding_product_id = fields.Many2one(
        "product.product",
        default=lambda self: self._default_line_product("rounding"),
        domain="[('type', '=', 'service')]",
        help="Service product of the line that books the cents a currency "
        "conversion on the channel rounded away (orders paid in another "
        "currency).",
    )
    refund_adjustment_product_id = fields.Many2one(
        "product.product",
        string="Refund adjustment product",
        default=lambda self: self._default_line_product("refund_adjustment"),
        domain="[('type', '=', 'service')]",
        help="Service product of the credit note lines of amounts refunded on "
        "no order line (adjustments, amount-only refunds).",
    )
    refund_receive_returns = fields.Boolean(
        string="Receive refund returns automatically",
        help="Validate the return of refunded goods at once. Off: the return "
        "waits for the warehouse to receive the goods.",
    )
    dispute_lost_policy = fields.Selection(
        [
            ("credit_note", "Book a credit note"),
            ("manual", "Leave to finance"),
        ],
        string="Lost disputes",
        default="credit_note",
        required=True,
        help="A chargeback lost on the channel: booked as a credit note "
        "without return, paid out through the order's gateway, or left open "
        "as a Payment dispute exception for finance to book.",
    )
    tax_mapping_ids = fields.One2many("channel.tax.mapping", "backend_id")
    payment_mapping_ids = fields.One2many("channel.payment.mapping", "backend_id")
    order_route_ids = fields.One2many("channel.order.route", "backend_id")
    order_status_rule_ids = fields.One2many(
        "channel.order.status.rule",
        "backend_id",
        string="Status rules",
        help="Exceptions to the default status table, tried in sequence.",
    )
    default_status_table = fields.Text(compute="_compute_default_status_table")
    marketplace_ids = fields.One2many(
        "channel.marketplace",
        "backend_id",
        string="Marketplaces",
        help="The sites the account sells on, for channels that have several.",
    )

    tax_rounding_warning = fields.Char(compute="_compute_tax_rounding_warning")

    # === COMPUTE METHODS ===

    @api.depends("company_id.tax_calculation_rounding_method", "provider")
    def _compute_tax_rounding_warning(self):
        """The channels round taxes per line: a company rounding globally
        computes totals a cent or two apart, and such orders wait on
        `total_mismatch` exceptions."""
        for backend in self:
            rounds_globally = (
                backend.company_id.tax_calculation_rounding_method == "round_globally"
            )
            backend.tax_rounding_warning = (
                self.env._(
                    "%(company)s rounds taxes globally; the channel rounds them per "
                    "line, so some order totals will differ by a cent. Set "
                    "Accounting > Settings > Rounding Method to 'Round per Line'.",
                    company=backend.company_id.name,
                )
                if rounds_globally and backend.supports_order_import
                else False
            )

    @api.depends("provider")
    def _compute_default_status_table(self):
        """The provider's default table, shown above the backend's rules."""
        for backend in self:
            backend.default_status_table = "\n".join(
                f"{status} → {action}"
                for status, action in backend._get_default_status_actions().items()
            )

    # === BUSINESS METHODS ===

    def _default_line_product(self, kind):
        """The service product this addon ships for `kind` lines."""
        return self.env.ref(
            f"channel_connector.product_channel_{kind}", raise_if_not_found=False
        )

    def _get_order_action(self, order):
        """What to do with an order in its channel status (see README table)."""
        self.ensure_one()
        if order.cancelled_at:
            return "cancel"
        rule = next((r for r in self.order_status_rule_ids if r._matches(order)), None)
        if rule:
            return rule.action
        return self._get_adapter(priority="orders").order_status_action(
            order.financial_status,
            order.fulfillment_status,
            bool(order.cancelled_at),
        )

    def _should_read_current_order(self, order, replay):
        """Hook: whether to import the order as the channel holds it now
        rather than as the delivered body says.

        A replay or retry reads it: the stored body may be stale by then.
        """
        self.ensure_one()
        return bool(
            self.supports_order_pull and self.order_read_from_channel and replay
        )

    def _get_default_status_actions(self):
        """The default table of this backend's provider, for display."""
        if not self.supports_order_import:
            return {}
        return dict(self._get_adapter(priority="orders").status_actions)

    def _on_channel_order_confirmed(self, sale_order, order):
        """Hook: the sale order of a canonical order was just confirmed by
        the import (e.g. a channel that ships from its own warehouse marks
        the delivery done). No-op by default."""
        self.ensure_one()

    def _route_order(self, order):
        """(company, warehouse) an order is created in: the routing rules,
        else the backend's company."""
        return self.env["channel.order.route"]._route(self, order)
