from datetime import timedelta

from odoo import api, fields, models

from ..sql import queries

# The channel stamps a report with its clock, we stamp a send with ours.
CLOCK_SKEW = timedelta(seconds=5)


class ChannelStockLevel(models.Model):
    """What we last told a channel about one variant at one channel location.

    One row per (backend, variant, channel location). A quant change inserts
    a `channel.stock.mark` per level of the variant (insert-only: concurrent
    order jobs never write the same row); the export recomputes the marked
    levels in one grouped query, sends what differs from `last_sent_qty`,
    then deletes only the marks it read, so a move committed meanwhile stays
    marked. `channel_qty` is the channel's quantity as far as we know, sent
    as the compare-and-set base (`stock.StockQuantity.change_from`).
    """

    _name = "channel.stock.level"
    _description = "Channel Stock Level"
    _order = "backend_id, product_id, id"

    # === FIELDS ===

    backend_id = fields.Many2one(
        "channel.backend", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    product_id = fields.Many2one(
        "product.product", required=True, index=True, ondelete="cascade", readonly=True
    )
    stock_location_id = fields.Many2one(
        "channel.stock.location", required=True, ondelete="cascade", readonly=True
    )
    product_binding_id = fields.Many2one(
        "channel.product.binding", ondelete="cascade", readonly=True
    )
    last_sent_qty = fields.Integer(readonly=True)
    last_sent_at = fields.Datetime(readonly=True)
    channel_qty = fields.Integer(
        readonly=True, help="Quantity the channel holds as far as we know."
    )
    has_channel_qty = fields.Boolean(readonly=True)
    mark_ids = fields.One2many("channel.stock.mark", "level_id", readonly=True)
    dirty = fields.Boolean(
        compute="_compute_dirty",
        search="_search_dirty",
        help="Marked by a change since the last export.",
    )

    # === CONSTRAINT METHODS ===

    _level_unique = models.UniqueIndex("(backend_id, product_id, stock_location_id)")

    # === COMPUTE METHODS ===

    @api.depends("mark_ids")
    def _compute_dirty(self):
        for level in self:
            level.dirty = bool(level.mark_ids)

    def _search_dirty(self, operator, value):
        if operator not in ("=", "!="):
            return NotImplemented
        positive = bool(value) == (operator == "=")
        return [("mark_ids", "!=" if positive else "=", False)]

    # === BUSINESS METHODS ===

    @api.model
    def _mark_dirty(self, product_ids):
        """Mark the levels of these variants for the next export: one INSERT.

        Insert-only so that two jobs moving one variant never update the same
        row (a serialization failure under REPEATABLE READ). A fast export is
        scheduled for levels that had no mark yet.
        """
        if not product_ids:
            return
        self.flush_model(["backend_id", "product_id"])
        newly_dirty = queries.mark_product_levels(self.env.cr, product_ids)
        self._invalidate_marks()
        if newly_dirty:
            self.env["channel.backend"]._schedule_fast_exports(newly_dirty)

    def _mark_levels_dirty(self):
        """Mark these levels for the next export: a setting that changes
        what they publish (buffer, mapping, product state) changed."""
        if not self:
            return
        self.env["channel.stock.mark"]._insert(self.ids)
        self._invalidate_marks()

    def _read_marks(self):
        """{level id: newest mark id} as the export reads them, before
        computing (0 for a level without mark)."""
        if not self:
            return {}
        return {
            **dict.fromkeys(self.ids, 0),
            **queries.newest_marks(self.env.cr, self.ids),
        }

    @api.model
    def _clear_dirty(self, marks):
        """Delete the marks read with the quantities ({level id: newest mark
        id read}); a mark added since (a higher id, or one this transaction's
        snapshot does not see) stays."""
        if not marks:
            return
        queries.delete_marks_read(self.env.cr, marks)
        self._invalidate_marks()

    @api.model
    def _invalidate_marks(self):
        """Forget cached marks after SQL wrote them."""
        self.env["channel.stock.mark"].invalidate_model()
        self.invalidate_model(["mark_ids", "dirty"])

    def _free_quantities(self):
        """{level id: free quantity} summed over each level's mapped locations.

        One grouped query for all levels; a level whose channel location maps
        no Odoo location is absent (its quantity is unknown, not zero). A
        location reached through two mappings (a location and its child both
        mapped) counts once.
        """
        if not self:
            return {}
        self.flush_model()
        self.env["stock.quant"].flush_model(
            ["product_id", "location_id", "quantity", "reserved_quantity"]
        )
        return queries.free_quantities(self.env.cr, self.ids)

    def _apply_channel_report(self, report):
        """Take a quantity the channel reported (`ChannelStockReport`).

        Our own write comes back as an echo: the quantity we last sent, while
        the channel still held it as far as we know. A report older than our
        last send is out of date. Anything else was changed on the channel (a
        sale, an edit in its admin): it becomes the figure the next
        compare-and-set starts from. Odoo's own quantity is still what the
        next export publishes; nothing is sent from here.

        :return: whether the report was news
        """
        self.ensure_one()
        reported_at = report.reported_at and report.reported_at.replace(tzinfo=None)
        if (
            self.last_sent_at
            and reported_at
            and reported_at < (self.last_sent_at - CLOCK_SKEW)
        ):
            return False
        if (
            self.last_sent_at
            and report.available == self.last_sent_qty
            and self.channel_qty == self.last_sent_qty
        ):
            return False
        self.write({"channel_qty": report.available, "has_channel_qty": True})
        return True

    def _channel_retry(self):
        """Retry hook of `channel.exception` (inventory differences): publish
        Odoo's quantity for this level again, through the backend's export
        job (one export of a backend at a time, throttling waited out there).
        """
        self.ensure_one()
        self.write({"last_sent_at": False})
        self._mark_levels_dirty()
        self.backend_id._enqueue_stock_export()
        return True


class ChannelStockMark(models.Model):
    """A change waiting for the next export of one stock level; deleted by
    the export that publishes it. Never updated, so never contended."""

    _name = "channel.stock.mark"
    _description = "Channel Stock Change Mark"
    _log_access = False

    level_id = fields.Many2one(
        "channel.stock.level", required=True, index=True, ondelete="cascade"
    )

    @api.model
    def _insert(self, level_ids):
        """One mark per level id, in one INSERT."""
        if level_ids:
            queries.insert_marks(self.env.cr, level_ids)

    @api.model
    def _compact(self, exporting):
        """Keep one mark per level of the backends not in `exporting`: no
        export deletes theirs, and one mark says as much as many."""
        queries.compact_marks(self.env.cr, exporting.ids)
        self.env["channel.stock.level"]._invalidate_marks()
