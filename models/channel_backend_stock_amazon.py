from collections import defaultdict

from odoo import fields, models
from odoo.exceptions import UserError

from ..adapters.amazon_listings import DEFAULT_FEED_THRESHOLD, FEED_MAX_MESSAGES
from ..adapters.values import outbound
from ..const import JOB_CHANNEL_STOCK, JOB_MAX_RETRIES


class ChannelBackend(models.Model):
    """Amazon stock: MFN quantities published per marketplace (a channel
    stock location whose id is the marketplace id), FBA inventory read into
    the FBA warehouse's stock location."""

    _inherit = "channel.backend"

    # === FIELDS ===

    amazon_seller_id = fields.Char(
        string="Amazon seller ID",
        copy=False,
        help="The merchant token of the seller account (Seller Central, "
        "Settings > Account Info > Merchant Token). Listings are written under "
        "it; it is an identifier, not a secret.",
    )
    amazon_stock_feed_threshold = fields.Integer(
        string="Listings feed from (SKUs)",
        default=DEFAULT_FEED_THRESHOLD,
        help="From this many quantities of one marketplace in one export, one "
        "JSON listings feed is sent instead of a listing patch per SKU "
        "(5 per second).",
    )
    amazon_fba_marketplace_id = fields.Many2one(
        "channel.marketplace",
        string="FBA inventory of",
        domain="[('backend_id', '=', id)]",
        help="The marketplace whose FBA inventory is read into the FBA "
        "warehouse. Empty: the first marketplace orders are imported from.",
    )

    api_operation_ids = fields.One2many(
        "channel.api.operation",
        "backend_id",
        string="API operations",
        help="Each SP-API operation's documented rate and burst, and the 429s it met.",
    )

    # === CONSTRAINT METHODS ===

    _amazon_stock_feed_threshold_range = models.Constraint(
        f"CHECK(amazon_stock_feed_threshold BETWEEN 1 AND {FEED_MAX_MESSAGES})",
        "The listings feed threshold is between 1 and 10,000 SKUs.",
    )

    # === ACTION METHODS ===

    def action_amazon_read_fba_inventory(self):
        """Read Amazon's FBA inventory into the FBA warehouse (a job; managers)."""
        self._check_manager_rights()
        for backend in self.sudo():
            if not backend._amazon_fba_location():
                raise UserError(
                    self.env._(
                        "Set the FBA warehouse of %(name)s first.", name=backend.name
                    )
                )
            backend.with_delay(
                max_retries=JOB_MAX_RETRIES,
                channel=JOB_CHANNEL_STOCK,
                identity_key=backend._identity_key("fba_inventory"),
                description=f"Read the FBA inventory of {backend.name}",
            )._job_amazon_read_fba_inventory()
        return True

    # === BUSINESS METHODS ===

    def _amazon_sync_marketplaces(self):
        """Override of `channel_connector`: the operations' budget rows too."""
        result = super()._amazon_sync_marketplaces()
        plans = self._get_adapter(priority="catalog").usage_plans()
        self.env["channel.api.operation"]._sync_for_backend(self, plans)
        return result

    def _amazon_fba_location(self):
        self.ensure_one()
        return self.amazon_fba_warehouse_id.lot_stock_id

    def _amazon_fba_marketplace(self):
        self.ensure_one()
        return (
            self.amazon_fba_marketplace_id
            or self.marketplace_ids.filtered(
                lambda m: m.import_orders and m.participating
            )[:1]
        )

    def _amazon_apply_fba_inventory(self, inventory):
        """Set the FBA location's quantities to Amazon's (inventory
        adjustment, quants applied); SKUs Odoo cannot map are exceptions.

        :param inventory: [`stock.FulfilledInventory`]
        :return: [(product, Odoo's quantity before, Amazon's)] that differed
        """
        self.ensure_one()
        location = self._amazon_fba_location()
        products, unknown = self._amazon_products_by_sku([i.sku for i in inventory])
        counted = defaultdict(int)
        for item in inventory:
            if item.sku in products:
                counted[products[item.sku]] += item.quantity
        # Products Odoo holds at the location that Amazon no longer lists: 0.
        Quant = self.env["stock.quant"]
        held = Quant.search([("location_id", "child_of", location.id)])
        for product in held.product_id:
            counted.setdefault(product, 0)
        differences = []
        for product, quantity in counted.items():
            before = sum(
                held.filtered(lambda q, p=product: q.product_id == p).mapped("quantity")
            )
            if before != quantity:
                differences.append((product, before, quantity))
        self._amazon_adjust(location, differences)
        self._amazon_record_unknown_skus(unknown)
        return differences

    def _amazon_products_by_sku(self, skus):
        """({SKU: product}, [SKUs without one]): the backend's bindings
        first, then the internal reference in the backend's company."""
        bindings = self.env["channel.product.binding"].search(
            [("backend_id", "=", self.id), ("external_ref", "in", skus)]
        )
        found = {binding.external_ref: binding.product_id for binding in bindings}
        rest = [sku for sku in skus if sku not in found]
        for product in self.env["product.product"].search(
            [
                ("default_code", "in", rest),
                ("company_id", "in", (self.company_id.id, False)),
            ]
        ):
            found.setdefault(product.default_code, product)
        return found, [sku for sku in skus if sku not in found]

    def _amazon_adjust(self, location, differences):
        """One applied inventory adjustment per differing product."""
        if not differences:
            return
        Quant = self.env["stock.quant"].with_context(inventory_mode=True)
        quants = Quant.browse()
        for product, _before, quantity in differences:
            quant = Quant.search(
                [("product_id", "=", product.id), ("location_id", "=", location.id)],
                limit=1,
            ) or Quant.create({"product_id": product.id, "location_id": location.id})
            quant.inventory_quantity = quantity
            quants |= quant
        quants.with_context(
            inventory_name=self.env._("Amazon FBA inventory (%s)", self.name)
        ).action_apply_inventory()

    def _amazon_record_unknown_skus(self, skus):
        for sku in skus:
            self.env["channel.exception"]._record(
                "missing_mapping",
                self.env._(
                    "Amazon holds FBA stock of SKU %(sku)s, which no Odoo "
                    "product carries: not counted.",
                    sku=sku,
                ),
                backend=self,
                key=f"fba-sku:{sku}",
                sku=sku,
                variant_ref=sku,
            )

    # === JOBS ===

    def _job_amazon_read_fba_inventory(self):
        """Job (stock channel): Amazon's FBA inventory into the FBA
        warehouse; the differences are reported on the sync status."""
        self.ensure_one()
        location = self._amazon_fba_location()
        marketplace = self._amazon_fba_marketplace()
        if not (self.active and self.provider == "amazon" and location and marketplace):
            return "skipped: no FBA warehouse or marketplace"
        adapter = self._get_adapter(priority="stock")
        with self._map_channel_errors():
            inventory = adapter.fetch_fulfilled_inventory(marketplace.external_ref)
        differences = self._amazon_apply_fba_inventory(inventory)
        shown = ", ".join(
            f"{product.display_name} {before:g} → {after:g}"
            for product, before, after in differences[:20]
        )
        message = self.env._(
            "%(count)s SKUs read, %(differ)s adjusted%(names)s",
            count=len(inventory),
            differ=len(differences),
            names=f": {shown}" if shown else "",
        )
        self._get_sync_status("fba_inventory").write(
            {"last_run_at": fields.Datetime.now(), "message": message}
        )
        return message

    # === PROVIDER HOOKS ===

    def _get_adapter_config(self):
        """Override of `channel_connector`: the seller id and feed threshold."""
        if self.provider != "amazon":
            return super()._get_adapter_config()
        return {
            **super()._get_adapter_config(),
            "seller_id": outbound(self.amazon_seller_id),
            "feed_threshold": self.amazon_stock_feed_threshold
            or DEFAULT_FEED_THRESHOLD,
            "operation_recorder": self.env["channel.api.operation"]._recorder(self),
        }

    def _get_stock_binding_gap(self, binding):
        """Override of `channel_connector`: Amazon writes stock by seller
        SKU under the seller id."""
        if self.provider != "amazon":
            return super()._get_stock_binding_gap(binding)
        if not outbound(self.amazon_seller_id):
            return self.env._("the Amazon seller ID of the backend is not set")
        if not outbound(binding.sku):
            return self.env._("the Amazon SKU of the variant is unknown")
        return super()._get_stock_binding_gap(binding)
