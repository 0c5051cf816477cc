from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError

SANDBOX_SETTINGS = {
    "order_confirm": True,
    "order_create_invoice": True,
    "order_register_payment": True,
    "export_stock": True,
    "stock_export_interval": 1,
    "fast_mover_debounce": 5,
    "reconcile_interval": 5,
}
# The simulator charges 20 % tax on top of prices unless told otherwise.
SANDBOX_TAX_RATE = 20
SANDBOX_STOCK = 25


class ChannelBackend(models.Model):
    """The sandbox: demo backends wired to the project's channel simulator,
    so that a newcomer sees orders, stock and exceptions flow within a minute
    and an ops team can practise without touching a real store."""

    _inherit = "channel.backend"

    # === FIELDS ===

    is_sandbox = fields.Boolean(
        string="Sandbox",
        readonly=True,
        copy=False,
        help="Demo backend connected to the channel simulator, not to a store.",
    )

    # === BUSINESS METHODS ===

    @api.model
    def _sandbox_prepare(self, simulator_url, unmapped_skus=()):
        """Create or refresh the sandbox backends against `simulator_url`.

        Every channel variant becomes a labelled demo product with stock,
        except `unmapped_skus`: orders for those raise the missing-mapping
        exceptions an ops team practises on. Then connect, subscribe the
        webhooks, match the catalogue and queue a full stock export.

        :return: the sandbox backends
        """
        if not self.env.is_admin():
            raise AccessError(self.env._("Only an administrator prepares the sandbox."))
        # The simulator rounds taxes per line, like both channels.
        self.env.company.tax_calculation_rounding_method = "round_per_line"
        backends = self.browse()
        for provider in self._get_sandbox_providers():
            backends |= self._sandbox_backend(provider, simulator_url)
        # The first backend's catalogue seeds the demo products.
        first = backends.sorted()[:1]
        if not first._check_connection():
            raise UserError(first.state_message)
        self._sandbox_products(first, set(unmapped_skus))
        for backend in backends:
            if backend != first and not backend._check_connection():
                raise UserError(backend.state_message)
            backend._sync_webhook_subscriptions()
            if backend.supports_stock_export:
                backend._match_catalogue()
                backend._enqueue_stock_export(full=True)
        return backends

    @api.model
    def _get_sandbox_providers(self):
        """The providers the channel simulator plays (those with sandbox
        values, `_get_sandbox_values`); each gets a sandbox backend."""
        codes = self._fields["provider"].get_values(self.env)
        return [c for c in codes if self.new({"provider": c})._get_sandbox_values()]

    def _sandbox_backend(self, provider, simulator_url):
        company = self.env.company
        backend = self.with_context(active_test=False).search(
            [
                ("is_sandbox", "=", True),
                ("provider", "=", provider),
                ("company_id", "=", company.id),
            ],
            limit=1,
        )
        sandbox = self.new({"provider": provider})._get_sandbox_values()
        values = {
            **sandbox["backend"],
            **SANDBOX_SETTINGS,
            "provider": provider,
            "api_url": simulator_url,
            "company_id": company.id,
            "is_sandbox": True,
            "active": True,
        }
        if backend:
            backend.write(values)
        else:
            backend = self.create(values)
        name, ref = sandbox["location"]
        if not backend.stock_location_mapping_ids:
            warehouse = self.env["stock.warehouse"].search(
                [("company_id", "=", company.id)], limit=1
            )
            backend.stock_location_mapping_ids = [
                Command.create(
                    {
                        "name": name,
                        "location_ref": ref,
                        "location_ids": [Command.set(warehouse.lot_stock_id.ids)],
                    }
                )
            ]
        self._sandbox_mappings(backend, sandbox, simulator_url)
        return backend

    def _sandbox_mappings(self, backend, sandbox, simulator_url):
        gateways = sandbox["gateways"]
        if not backend.tax_mapping_ids:
            backend.tax_mapping_ids = [
                Command.create(
                    {"rate": SANDBOX_TAX_RATE, "tax_id": self._sandbox_tax().id}
                )
            ]
        journal = self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", backend.company_id.id)],
            limit=1,
        )
        mapped = set(backend.payment_mapping_ids.mapped("gateway"))
        clearing = sandbox.get("clearing") or {}
        Mapping = self.env["channel.payment.mapping"]
        commands = []
        for gateway in gateways:
            if gateway in mapped or not journal:
                continue
            if gateway in clearing:
                # Card payments are owed by the processor until its payout.
                name, code = clearing[gateway]
                target = Mapping._prepare_clearing_journal(
                    backend.company_id, name, code
                )
            else:
                target = journal
            commands.append(
                Command.create({"gateway": gateway, "journal_id": target.id})
            )
        backend.payment_mapping_ids = commands
        self._sandbox_payouts(backend, sandbox, clearing, simulator_url)

    def _sandbox_payouts(self, backend, sandbox, clearing, simulator_url):
        """Payout accounting of the sandbox backend, and its processor
        accounts pointed at the simulator."""
        if not clearing:
            return
        values = backend._payout_account_defaults()
        first = next(iter(clearing.values()))
        clearing_journal = self.env[
            "channel.payment.mapping"
        ]._prepare_clearing_journal(backend.company_id, *first)
        if not backend.payout_clearing_account_id:
            values["payout_clearing_account_id"] = (
                clearing_journal.inbound_payment_method_line_ids[
                    :1
                ].payment_account_id.id
            )
        backend.write({**values, "import_payouts": True})
        if not backend.payment_processor_ids:
            backend.payment_processor_ids = [
                Command.create({**processor, "api_url": simulator_url})
                for processor in sandbox.get("processors", ())
            ]

    def _sandbox_tax(self):
        Tax = self.env["account.tax"]
        domain = [
            ("type_tax_use", "=", "sale"),
            ("amount_type", "=", "percent"),
            ("amount", "=", SANDBOX_TAX_RATE),
            ("price_include", "=", False),
            ("company_id", "=", self.env.company.id),
        ]
        return Tax.search(domain, limit=1) or Tax.create(
            {
                "name": f"Sandbox tax {SANDBOX_TAX_RATE}%",
                "amount": SANDBOX_TAX_RATE,
                "amount_type": "percent",
                "type_tax_use": "sale",
                "company_id": self.env.company.id,
            }
        )

    def _sandbox_products(self, backend, unmapped_skus):
        """A demo product with stock for each channel variant not yet in Odoo."""
        adapter = backend._get_adapter(priority="catalog")
        variants, cursor = [], None
        while True:
            page, cursor = adapter.fetch_variants(cursor)
            variants += page
            if not cursor:
                break
        skus = [v.sku for v in variants if v.sku and v.sku not in unmapped_skus]
        Product = self.env["product.product"].with_context(active_test=False)
        existing = set(
            Product.search([("default_code", "in", skus)]).mapped("default_code")
        )
        new = [v for v in variants if v.sku in skus and v.sku not in existing]
        products = Product.create(
            [
                {
                    "name": f"{v.title} (sandbox)",
                    "default_code": v.sku,
                    "type": "consu",
                    "is_storable": True,
                    "list_price": 10.0,
                }
                for v in new
            ]
        )
        warehouse = self.env["stock.warehouse"].search(
            [("company_id", "=", backend.company_id.id)], limit=1
        )
        for product in products:
            self.env["stock.quant"]._update_available_quantity(
                product, warehouse.lot_stock_id, SANDBOX_STOCK
            )
        return products
