from odoo import api, fields, models

from ..const import JOB_CHANNEL_STOCK, JOB_MAX_RETRIES


class ChannelBackend(models.Model):
    """Inventory differences: read the channel's quantities back and compare
    them with what Odoo publishes, so a drift is seen before it oversells."""

    _inherit = "channel.backend"

    # === FIELDS ===

    stock_difference_tolerance = fields.Integer(
        string="Difference tolerance (units)",
        default=0,
        help="A channel quantity this far from Odoo's published one is not reported.",
    )
    last_stock_check = fields.Datetime(compute="_compute_run_state")
    stock_check_message = fields.Char(compute="_compute_run_state")

    # === CONSTRAINT METHODS ===

    _stock_difference_tolerance_positive = models.Constraint(
        "CHECK(stock_difference_tolerance >= 0)",
        "The difference tolerance cannot be negative.",
    )

    # === ACTION METHODS ===

    def action_check_stock_differences(self):
        self._check_manager_rights()
        for backend in self:
            backend._enqueue_stock_check()

    # === BUSINESS METHODS ===

    def _enqueue_stock_check(self):
        self.ensure_one()
        return self.with_delay(
            max_retries=JOB_MAX_RETRIES,
            channel=JOB_CHANNEL_STOCK,
            priority=30,
            identity_key=self._identity_key("stock_check"),
            description=f"Compare channel quantities of {self.name}",
        )._job_check_stock_differences()

    def _check_stock_differences(self):
        """Compare every settled level with the channel's quantity.

        Only levels sent and not dirty are compared: a dirty one is on its
        way out and would differ on purpose. Each channel figure read also
        refreshes the level's compare-and-set quantity.

        :return: (levels compared, differences beyond the tolerance)
        """
        self.ensure_one()
        levels = self.env["channel.stock.level"].search(
            [
                ("backend_id", "=", self.id),
                ("last_sent_at", "!=", False),
                ("dirty", "=", False),
            ]
        )
        free = levels._free_quantities()
        adapter = self._get_adapter(priority="stock")
        size = adapter.stock_batch_size
        compared, differences = 0, 0
        for start in range(0, len(levels), size):
            batch = [
                level
                for level in levels[start : start + size]
                if not self._stock_skip_reason(level, free)
            ]
            quantities = [self._stock_quantity(level, 0) for level in batch]
            channel = adapter.read_stock(quantities)
            for level, quantity in zip(batch, quantities, strict=True):
                compared += 1
                published = self._publishable_quantity(level, free[level.id])
                differences += self._compare_level(
                    level, published, channel.get(quantity)
                )
        self._get_sync_status("stock_check").write(
            {
                "last_run_at": fields.Datetime.now(),
                "message": self.env._(
                    "%(compared)s quantities compared, %(differences)s differ",
                    compared=compared,
                    differences=differences,
                ),
            }
        )
        return compared, differences

    def _compare_level(self, level, published, channel_quantity):
        """Record or resolve the difference of one level; 1 if it differs."""
        key = f"stock-difference:{level.product_id.id}:{level.stock_location_id.id}"
        Exception_ = self.env["channel.exception"]
        if channel_quantity is not None:
            level.write({"channel_qty": channel_quantity, "has_channel_qty": True})
            if abs(channel_quantity - published) <= self.stock_difference_tolerance:
                Exception_._resolve(
                    self,
                    retry_target=level,
                    exception_type="inventory_difference",
                    key=key,
                )
                return 0
        Exception_._record(
            "inventory_difference",
            self.env._(
                "%(product)s at %(location)s: Odoo publishes %(published)s, the "
                "channel has %(channel)s.",
                product=level.product_id.display_name,
                location=level.stock_location_id.name,
                published=published,
                channel=self.env._("no quantity")
                if channel_quantity is None
                else channel_quantity,
            ),
            backend=self,
            key=key,
            documents=[level.product_id],
            retry_target=level,
        )
        return 1

    # === JOBS ===

    def _job_check_stock_differences(self):
        """Job (stock channel, low priority): see `_check_stock_differences`."""
        self.ensure_one()
        if not (self.active and self.export_stock and self.state == "connected"):
            return "skipped: stock export is off or the backend is not connected"
        with self._map_channel_errors():
            self._check_stock_differences()
        return self.stock_check_message

    @api.model
    def _cron_check_stock_differences(self):
        """Cron (daily): compare the quantities of every exporting backend."""
        backends = self.search(
            [("export_stock", "=", True), ("state", "=", "connected")]
        )
        for backend in backends.filtered("supports_stock_export"):
            backend._enqueue_stock_check()
