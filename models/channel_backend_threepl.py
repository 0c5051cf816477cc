from odoo import api, fields, models

# The simulator's partner (simulator/threepl.py) and its shared secret.
SANDBOX_PATH = "/3pl"
SANDBOX_SECRET = "sim_threepl_secret"
SANDBOX_WAREHOUSE_CODE = "3PL"


class ChannelBackend(models.Model):
    """Warehouse partner (3PL): takes signed fulfilment requests, sends signed
    shipment confirmations and stock snapshots (see `channel_backend_handoff`)."""

    _inherit = "channel.backend"

    # === FIELDS ===

    provider = fields.Selection(
        selection_add=[("threepl", "Warehouse partner (3PL)")],
        ondelete={"threepl": "set default"},
    )

    # === COMPUTE METHODS ===

    def _compute_capabilities(self):
        """Override of `channel_connector`: a partner takes deliveries and
        sends signed confirmations and snapshots."""
        super()._compute_capabilities()
        self.filtered(lambda backend: backend.provider == "threepl").update(
            {
                "supports_connection_test": True,
                "supports_webhooks": True,
                "supports_fulfilment_handoff": True,
            }
        )

    # === BUSINESS METHODS ===

    @api.model
    def _sandbox_prepare(self, simulator_url, unmapped_skus=()):
        """Override of `channel_connector`: the sandbox also gets a warehouse
        partner wired to the simulator's 3PL, shipping the deliveries of a
        warehouse of its own."""
        backends = super()._sandbox_prepare(simulator_url, unmapped_skus)
        return backends | self._sandbox_threepl(simulator_url)

    @api.model
    def _sandbox_threepl(self, simulator_url):
        company = self.env.company
        Warehouse = self.env["stock.warehouse"]
        warehouse = Warehouse.search(
            [("code", "=", SANDBOX_WAREHOUSE_CODE), ("company_id", "=", company.id)],
            limit=1,
        ) or Warehouse.create(
            {
                "name": self.env._("Warehouse partner (sandbox)"),
                "code": SANDBOX_WAREHOUSE_CODE,
                "company_id": company.id,
            }
        )
        values = {
            "name": "SANDBOX Warehouse partner (simulator)",
            "provider": "threepl",
            "api_url": simulator_url.rstrip("/") + SANDBOX_PATH,
            "webhook_secret": SANDBOX_SECRET,
            "company_id": company.id,
            "warehouse_id": warehouse.id,
            "handoff_supports_pull": True,
            "handoff_carrier_service": "Standard",
            "import_orders": False,
            "export_stock": False,
            "is_sandbox": True,
            "active": True,
        }
        backend = self.with_context(active_test=False).search(
            [
                ("is_sandbox", "=", True),
                ("provider", "=", "threepl"),
                ("company_id", "=", company.id),
            ],
            limit=1,
        )
        if backend:
            backend.write(values)
        else:
            backend = self.create(values)
        backend._check_connection()
        return backend
