from odoo import api, fields, models
from odoo.exceptions import UserError

from ..adapters.amazon import LWA_URL, REGION_ENDPOINTS
from ..adapters.exceptions import ChannelError
from ..adapters.orders_amazon import FULFILLED_BY_AMAZON
from .channel_backend import MANAGER_GROUP

AMAZON_API_VERSION = "v0"
# Minutes between two polls: getOrders refills one request a minute.
AMAZON_POLL_INTERVAL = 10


class ChannelBackend(models.Model):
    """Amazon (Selling Partner API): Login with Amazon credentials, orders
    polled per marketplace, FBA orders delivered from Amazon's warehouse."""

    _inherit = "channel.backend"

    # === FIELDS ===

    provider = fields.Selection(
        selection_add=[("amazon", "Amazon")], ondelete={"amazon": "set default"}
    )
    amazon_region = fields.Selection(
        [("na", "North America"), ("eu", "Europe"), ("fe", "Far East")],
        string="SP-API region",
        default="na",
        help="The Selling Partner API endpoint of the seller account's "
        "marketplaces; the API URL, when set, replaces it.",
    )
    amazon_lwa_client_id = fields.Char(
        string="LWA client ID", groups=MANAGER_GROUP, copy=False
    )
    amazon_lwa_client_secret = fields.Char(
        string="LWA client secret", groups=MANAGER_GROUP, copy=False
    )
    amazon_refresh_token = fields.Char(
        string="Refresh token",
        groups=MANAGER_GROUP,
        copy=False,
        help="Issued when the seller authorized the application (Atzr|...).",
    )
    amazon_lwa_url = fields.Char(
        string="Login with Amazon URL",
        groups=MANAGER_GROUP,
        help="Empty: Amazon's (https://api.amazon.com). Set only for a test "
        "stand-in: the credentials are sent there.",
    )
    amazon_fba_warehouse_id = fields.Many2one(
        "stock.warehouse",
        string="FBA warehouse",
        check_company=True,
        help="Orders fulfilled by Amazon are delivered from this warehouse "
        "(Amazon's stock, not yours) as soon as they are confirmed. Empty: "
        "they are imported like your own orders.",
    )

    # === CRUD METHODS ===

    @api.model_create_multi
    def create(self, vals_list):
        """An Amazon backend polls every few minutes unless told otherwise."""
        for vals in vals_list:
            if vals.get("provider") == "amazon":
                vals.setdefault("reconcile_interval", AMAZON_POLL_INTERVAL)
        return super().create(vals_list)

    # === COMPUTE METHODS ===

    def _compute_capabilities(self):
        """Override of `channel_connector`: Amazon's orders are polled."""
        super()._compute_capabilities()
        self.filtered(lambda backend: backend.provider == "amazon").update(
            {
                "supports_connection_test": True,
                "supports_order_import": True,
                "supports_order_pull": True,
                "supports_fulfilment_export": True,
                "supports_stock_export": True,
            }
        )

    # === ACTION METHODS ===

    def action_amazon_sync_marketplaces(self):
        """Read the marketplaces of the seller account (managers only)."""
        self._check_manager_rights()
        for backend in self.sudo():
            try:
                backend._amazon_sync_marketplaces()
            except ChannelError as exc:
                raise UserError(
                    self.env._(
                        "Amazon did not list the marketplaces of %(name)s: %(error)s",
                        name=backend.name,
                        error=exc,
                    )
                ) from exc
        return True

    # === BUSINESS METHODS ===

    def _amazon_sync_marketplaces(self):
        """The account's marketplaces, read from Amazon into records."""
        self.ensure_one()
        marketplaces = self._get_adapter(priority="catalog").fetch_marketplaces()
        return self.env["channel.marketplace"]._sync_from_channel(self, marketplaces)

    # === PROVIDER HOOKS ===

    def _get_sandbox_values(self):
        """Override of `channel_connector`: the simulator's seller account
        (its LWA credentials are the simulator's, not secrets)."""
        if self.provider != "amazon":
            return super()._get_sandbox_values()
        return {
            "backend": {
                "name": "SANDBOX Amazon (simulator)",
                "sequence": 3,
                "amazon_lwa_client_id": "amzn1.application-oa2-client.sim",
                "amazon_lwa_client_secret": "sim_lwa_secret",
                "amazon_refresh_token": "Atzr|sim",
                "amazon_seller_id": "A2SIMSELLER0001",
            },
            # A channel location of Amazon is a marketplace (MFN stock).
            "location": ("Amazon.com (MFN)", "ATVPDKIKX0DER"),
            "gateways": (),
        }

    @api.model
    def _sandbox_backend(self, provider, simulator_url):
        """Override of `channel_connector`: the simulator also plays Login
        with Amazon; the account's marketplaces are read at once."""
        backend = super()._sandbox_backend(provider, simulator_url)
        if provider == "amazon":
            backend.amazon_lwa_url = simulator_url
            backend._amazon_sync_marketplaces()
        return backend

    def _get_default_api_version(self):
        """Override of `channel_connector`: the Orders API version we target."""
        if self.provider != "amazon":
            return super()._get_default_api_version()
        return AMAZON_API_VERSION

    def _get_adapter_config(self):
        """Override of `channel_connector`: endpoint, LWA credentials, the
        shared access token and the marketplaces to import."""
        if self.provider != "amazon":
            return super()._get_adapter_config()
        imported = self.marketplace_ids.filtered(
            lambda m: m.import_orders and m.participating
        )
        return {
            **super()._get_adapter_config(),
            "base_url": self.api_url or REGION_ENDPOINTS[self.amazon_region or "na"],
            "lwa_url": self.amazon_lwa_url or LWA_URL,
            "client_id": self.amazon_lwa_client_id or "",
            "client_secret": self.amazon_lwa_client_secret or "",
            "refresh_token": self.amazon_refresh_token or "",
            "token_provider": self.env["channel.access.token"]._for_backend(self),
            "marketplace_ids": tuple(imported.mapped("external_ref")),
        }

    def _route_order(self, order):
        """Override of `channel_connector`: an FBA order ships from the FBA
        warehouse."""
        company, warehouse = super()._route_order(order)
        if (
            self.provider == "amazon"
            and order.fulfillment_status == FULFILLED_BY_AMAZON
            and self.amazon_fba_warehouse_id
        ):
            return self.amazon_fba_warehouse_id.company_id, self.amazon_fba_warehouse_id
        return company, warehouse

    def _on_channel_order_confirmed(self, sale_order, order):
        """Override of `channel_connector`: Amazon delivered an FBA order
        from its own stock; its delivery is done at once."""
        super()._on_channel_order_confirmed(sale_order, order)
        if (
            self.provider != "amazon"
            or order.fulfillment_status != FULFILLED_BY_AMAZON
            or not self.amazon_fba_warehouse_id
        ):
            return
        pickings = sale_order.picking_ids.filtered(
            lambda p: (
                p.state not in ("done", "cancel")
                and p.picking_type_id.warehouse_id == self.amazon_fba_warehouse_id
            )
        )
        for move in pickings.move_ids:
            move.quantity = move.product_uom_qty
            move.picked = True
        pickings._action_done()
