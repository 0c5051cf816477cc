from decimal import ROUND_FLOOR, Decimal

from odoo import Command, api, fields, models

from ..adapters.records import ZERO
from .stock_picking import check_risk_hold_rights


class SaleOrder(models.Model):
    """Sale orders imported from a channel: how they are built, held and paid."""

    _inherit = "sale.order"

    # === FIELDS ===

    channel_binding_ids = fields.One2many("channel.order.binding", "sale_order_id")
    channel_backend_id = fields.Many2one(
        "channel.backend", string="Sales channel", readonly=True, index="btree_not_null"
    )
    channel_risk_hold = fields.Boolean(
        string="Held (channel risk)",
        readonly=True,
        copy=False,
        help="The channel flagged the order as high risk: its deliveries are held "
        "until someone releases them, whenever the order is confirmed.",
    )

    # === CRUD METHODS ===

    def write(self, vals):
        """The risk hold is changed by a channel manager or the connector only."""
        if "channel_risk_hold" in vals:
            check_risk_hold_rights(self.env)
        return super().write(vals)

    def _action_confirm(self):
        """Override of `sale_stock` to hold the deliveries of a high-risk
        channel order, however late it is confirmed."""
        result = super()._action_confirm()
        self.filtered("channel_risk_hold")._channel_hold_pickings()
        return result

    # === BUSINESS METHODS ===

    @api.model
    def _prepare_channel_order(self, backend, order, company, event, warehouse=None):
        """Values of the sale order for a canonical order, or None when a
        mapping is missing (a `missing_mapping` exception per problem is
        recorded, with the event as retry target).

        `company` and `warehouse` are where the order was routed to.

        Discounts are separate lines right below the line they reduce, with
        its taxes (documented choice: finance sees each promotion, and with
        tax-included prices the total stays exact). A discount on no line
        (kind ``order``) is spread over the product lines, one line per tax
        group (`_channel_order_discount_commands`).
        """
        Partner = self.env["channel.partner.binding"]
        partner = Partner._resolve_partner(
            backend,
            order.customer,
            order.billing_address or order.shipping_address,
            company,
        )
        products, missing = self.env["channel.product.binding"]._resolve_products(
            backend, order.lines, company
        )
        taxes, missing_taxes = self._channel_taxes(backend, order, company)
        if missing or missing_taxes:
            self._record_missing_mappings(
                backend,
                order,
                company=company,
                event=event,
                partner=partner,
                gaps=(missing, missing_taxes),
            )
            return None
        lines = []
        for line, product in zip(order.lines, products, strict=True):
            lines += self._channel_line_commands(backend, line, product, taxes)
        for shipping in order.shipping_lines:
            lines += self._channel_shipping_commands(backend, shipping, taxes)
        for discount in order.discounts:
            if discount.kind == "order":
                lines += self._channel_order_discount_commands(
                    backend, order, discount, taxes
                )
        invoice_contact, delivery_contact = Partner._resolve_addresses(
            partner, order.billing_address, order.shipping_address
        )
        return {
            "partner_id": partner.id,
            "partner_invoice_id": invoice_contact.id,
            "partner_shipping_id": delivery_contact.id,
            "company_id": company.id,
            "pricelist_id": self._channel_pricelist(order.currency, company).id,
            "client_order_ref": order.name,
            "origin": f"{backend.name} {order.name}",
            # The generic format may leave `created_at` out: received now.
            "date_order": order.created_at.replace(tzinfo=None)
            if order.created_at
            else fields.Datetime.now(),
            "channel_backend_id": backend.id,
            "note": order.note or False,
            "order_line": lines,
            **self._channel_warehouse(backend, company, warehouse),
        }

    @api.model
    def _channel_taxes(self, backend, order, company):
        """{tax line key: Odoo tax} for every tax line of the order, and the
        tax lines without a mapping."""
        Mapping = self.env["channel.tax.mapping"]
        found, missing = {}, []
        tax_lines = [t for line in order.lines for t in line.taxes]
        tax_lines += [t for line in order.shipping_lines for t in line.taxes]
        for tax_line in tax_lines:
            key = _tax_key(tax_line)
            if key in found or key in {_tax_key(t) for t in missing}:
                continue
            tax = Mapping._find_tax(backend, tax_line, company)
            if tax:
                found[key] = tax
            else:
                missing.append(tax_line)
        return found, missing

    @api.model
    def _channel_line_commands(self, backend, line, product, taxes):
        tax_ids = [taxes[_tax_key(t)].id for t in line.taxes]
        commands = [
            Command.create(
                {
                    "product_id": product.id,
                    "channel_line_ref": line.external_ref,
                    "name": line.name or product.display_name,
                    "product_uom_qty": float(line.quantity),
                    "price_unit": float(line.unit_price),
                    "tax_ids": [Command.set(tax_ids)],
                }
            )
        ]
        if line.discount_amount:
            commands.append(
                self._channel_discount_command(
                    backend, line.discount_amount, line.name or line.sku, tax_ids
                )
            )
        return commands

    @api.model
    def _channel_shipping_commands(self, backend, shipping, taxes):
        tax_ids = [taxes[_tax_key(t)].id for t in shipping.taxes]
        commands = [
            Command.create(
                {
                    "product_id": backend.shipping_product_id.id,
                    "name": shipping.title or backend.shipping_product_id.name,
                    "product_uom_qty": 1.0,
                    "price_unit": float(shipping.price),
                    "tax_ids": [Command.set(tax_ids)],
                }
            )
        ]
        if shipping.discount_amount:
            commands.append(
                self._channel_discount_command(
                    backend, shipping.discount_amount, shipping.title, tax_ids
                )
            )
        return commands

    @api.model
    def _channel_order_discount_commands(self, backend, order, discount, taxes):
        """Discount lines of an order-level discount (one on no line).

        A discount reduces the taxable base: the channel taxes the discounted
        lines, so the discount must carry their taxes. Like Odoo's global
        discount (`sale.order.discount`), it is split over the product lines
        by tax group, in proportion to each group's base (lines net of their
        own discounts, tax-included when the order is), one discount line
        per group with the group's taxes; the parts are rounded to the cent
        and sum exactly to the discount. Shipping and gift cards take no
        share (channels apply order coupons to goods). With no product base
        to spread over, the discount stays one untaxed line.
        """
        bases = {}
        for line in order.lines:
            if line.is_gift_card:
                continue
            key = tuple(sorted({taxes[_tax_key(t)].id for t in line.taxes}))
            net = line.unit_price * line.quantity - line.discount_amount
            bases[key] = bases.get(key, ZERO) + net
        # Inactive until `_channel_pricelist` runs for the first such order.
        currency = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", order.currency)], limit=1)
        )
        quantum = Decimal(1).scaleb(-currency.decimal_places)
        label = discount.code or discount.title
        shares = split_in_proportion(discount.amount, bases, quantum)
        if not shares:
            return [self._channel_discount_command(backend, discount.amount, label, [])]
        return [
            self._channel_discount_command(backend, share, label, list(tax_ids))
            for tax_ids, share in shares.items()
            if share
        ]

    @api.model
    def _channel_discount_command(self, backend, amount, label, tax_ids):
        product = backend.discount_product_id
        return Command.create(
            {
                "product_id": product.id,
                "name": self.env._("Discount on %s", label or product.name),
                "product_uom_qty": 1.0,
                "price_unit": -float(amount),
                "tax_ids": [Command.set(tax_ids)],
            }
        )

    @api.model
    def _channel_conversion_rounding_command(self, backend, amount):
        """The tax-free line that books a currency conversion's rounding."""
        product = backend.rounding_product_id
        return Command.create(
            {
                "product_id": product.id,
                "name": self.env._("Currency conversion rounding"),
                "product_uom_qty": 1.0,
                "price_unit": amount,
                "tax_ids": [Command.clear()],
            }
        )

    @api.model
    def _channel_pricelist(self, currency_code, company):
        """A pricelist in the order's currency (created once per currency)."""
        currency = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", currency_code)], limit=1)
        )
        if not currency.active:
            currency.active = True
        Pricelist = self.env["product.pricelist"]
        pricelist = Pricelist.search(
            [
                ("currency_id", "=", currency.id),
                ("company_id", "in", (company.id, False)),
            ],
            limit=1,
        )
        return pricelist or Pricelist.create(
            {
                "name": self.env._("Channel orders (%s)", currency.name),
                "currency_id": currency.id,
                "company_id": company.id,
            }
        )

    @api.model
    def _channel_warehouse(self, backend, company, warehouse=None):
        """The route's warehouse, else the backend's when it is of `company`;
        else none, so that the company's default applies."""
        for candidate in (warehouse, backend.warehouse_id):
            if candidate and candidate.company_id == company:
                return {"warehouse_id": candidate.id}
        return {}

    @api.model
    def _record_missing_mappings(
        self, backend, order, *, company, event, partner, gaps
    ):
        """One `missing_mapping` exception per unknown SKU or unmapped tax."""
        missing, missing_taxes = gaps
        Exception_ = self.env["channel.exception"]
        for line in missing:
            Exception_._record(
                "missing_mapping",
                self.env._(
                    "SKU %(sku)s of order %(order)s is not on any product of "
                    "company %(company)s.",
                    sku=line.sku or "?",
                    order=order.name,
                    company=company.name,
                ),
                backend=backend,
                key=f"sku:{line.sku or line.variant_ref}",
                detail=f"variant {line.variant_ref}, line {line.external_ref}",
                documents=[partner],
                retry_target=event,
                sku=line.sku,
                variant_ref=line.variant_ref,
            )
        for tax_line in missing_taxes:
            Exception_._record(
                "missing_mapping",
                self.env._(
                    "No Odoo tax is mapped to the channel tax %(title)s at "
                    "%(rate)s %% (%(kind)s) of order %(order)s.",
                    title=tax_line.title or "?",
                    rate=tax_line.rate * 100,
                    kind=self.env._("included")
                    if tax_line.price_included
                    else self.env._("excluded"),
                    order=order.name,
                ),
                backend=backend,
                key=f"tax:{_tax_key(tax_line)}",
                retry_target=event,
            )

    def _channel_hold_for_risk(self, order, backend):
        """Flag a high-risk order and keep its deliveries, now or once it is
        confirmed, from being validated; someone gets an activity (once)."""
        self.ensure_one()
        if self.channel_risk_hold:
            return  # held already: a released delivery is not held again
        self.sudo().channel_risk_hold = True
        self._channel_hold_pickings()
        reasons = "; ".join(order.risk_reasons or ()) or self.env._(
            "flagged by channel"
        )
        rule = self.env["channel.exception.owner"]._find_rule(backend, "validation")
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=self.env._("High-risk channel order: check before shipping"),
            note=reasons,
            user_id=(rule.user_id or self.user_id or self.env.user).id,
        )

    def _channel_hold_pickings(self):
        """Hold the open deliveries (the connector's code: whoever confirms)."""
        pickings_sudo = self.sudo().picking_ids
        pickings_sudo.filtered(lambda p: p.state not in ("done", "cancel")).write(
            {"channel_risk_hold": True}
        )

    def _channel_invoice_and_pay(self, order, backend, binding):
        """Post the invoice, then register each captured channel payment.

        :return: whether every capture was registered (or is not wanted)
        """
        self.ensure_one()
        # The order may have been routed to another company than the job's.
        order_in_company = self.with_company(self.company_id)
        # Credit notes of channel refunds are booked and paid on their own.
        invoices = order_in_company.invoice_ids.filtered(
            lambda i: i.state != "cancel" and i.move_type == "out_invoice"
        )
        if not invoices:
            invoices = order_in_company._create_invoices()
        invoices.filtered(lambda i: i.state == "draft").action_post()
        if not backend.order_register_payment:
            return True
        return (
            self.env["account.payment"]
            .with_company(self.company_id)
            ._channel_register_payments(backend, order, invoices, binding)
        )


def split_in_proportion(amount, weights, quantum):
    """`amount` split over the positive `weights` ({key: Decimal}) in
    proportion, each part a multiple of `quantum`, the parts summing exactly
    to `amount`: every part is floored, then the largest remainders take the
    quanta left. Empty when no weight is positive."""
    weights = {key: weight for key, weight in weights.items() if weight > 0}
    total = sum(weights.values(), ZERO)
    if not total:
        return {}
    exact = {key: amount * weight / total for key, weight in weights.items()}
    parts = {key: value.quantize(quantum, ROUND_FLOOR) for key, value in exact.items()}
    left = int((amount - sum(parts.values(), ZERO)) / quantum)
    by_remainder = sorted(exact, key=lambda key: exact[key] - parts[key], reverse=True)
    for key in by_remainder[:left]:
        parts[key] += quantum
    return parts


def _tax_key(tax_line):
    """Identity of a channel tax for mapping: rate, title, included."""
    return (str(tax_line.rate), (tax_line.title or "").lower(), tax_line.price_included)
