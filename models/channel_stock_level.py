from datetime import timedelta

from odoo import api, fields, models

# The channel stamps a report with its clock, we stamp a send with ours.
CLOCK_SKEW = timedelta(seconds=5)


class ChannelStockLevel(models.Model):
    """What we last told a channel about one variant at one channel location.

    One row per (backend, variant, channel location). Quant changes only set
    `dirty` and bump `dirty_mark`; the export job recomputes the dirty rows in
    one grouped query and sends those whose publishable quantity differs from
    `last_sent_qty`. It then clears `dirty` only where `dirty_mark` is still
    the one it read: a move committed while the export ran is never lost.
    `channel_qty` is the quantity we believe the channel holds, sent as the
    compare-and-set base (`stock.StockQuantity.change_from`).
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
    dirty = fields.Boolean(default=True, index=True, readonly=True)
    dirty_mark = fields.Integer(
        default=0,
        readonly=True,
        help="Bumped by every change that makes the level dirty; the export "
        "clears `dirty` only if it did not move since the export read it.",
    )

    # === CONSTRAINT METHODS ===

    _level_unique = models.UniqueIndex("(backend_id, product_id, stock_location_id)")

    # === BUSINESS METHODS ===

    @api.model
    def _mark_dirty(self, product_ids):
        """Flag the levels of these variants for the next export (one UPDATE).

        Every call bumps `dirty_mark`, dirty or not: with REPEATABLE READ
        cursors a mark must always write the row, or an export that read the
        row before this transaction committed would clear it unseen.
        """
        if not product_ids:
            return
        self.flush_model(["dirty", "dirty_mark"])
        self.env.cr.execute(
            """
            UPDATE channel_stock_level level
               SET dirty = TRUE, dirty_mark = COALESCE(level.dirty_mark, 0) + 1
              FROM (SELECT id, dirty FROM channel_stock_level
                     WHERE product_id = ANY(%s) FOR UPDATE) before
             WHERE level.id = before.id
         RETURNING level.backend_id, level.product_id, before.dirty
            """,
            [list(product_ids)],
        )
        # Only levels that were clean may need a fast export scheduled: a
        # dirty one already has its export on the way.
        newly_dirty = [
            (backend_id, product_id)
            for backend_id, product_id, was_dirty in self.env.cr.fetchall()
            if not was_dirty
        ]
        self.invalidate_model(["dirty", "dirty_mark"])
        if newly_dirty:
            self.env["channel.backend"]._schedule_fast_exports(newly_dirty)

    def _mark_levels_dirty(self):
        """Flag these levels for the next export: a setting that changes
        what they publish (buffer, mapping, product state) changed."""
        if not self:
            return
        self.flush_model(["dirty", "dirty_mark"])
        self.env.cr.execute(
            "UPDATE channel_stock_level"
            "   SET dirty = TRUE, dirty_mark = COALESCE(dirty_mark, 0) + 1"
            " WHERE id = ANY(%s)",
            [self.ids],
        )
        self.invalidate_model(["dirty", "dirty_mark"])

    def _read_marks(self):
        """{level id: dirty_mark} as the export reads them, before computing."""
        self.flush_model(["dirty_mark"])
        return {level.id: level.dirty_mark for level in self}

    @api.model
    def _clear_dirty(self, marks):
        """Clear `dirty` on the levels of `marks` ({id: dirty_mark read})
        whose mark is unchanged; a level marked since stays dirty."""
        if not marks:
            return
        self.flush_model(["dirty", "dirty_mark"])
        self.env.cr.execute(
            """
            UPDATE channel_stock_level level SET dirty = FALSE
              FROM unnest(%s::int[], %s::int[]) AS seen(id, mark)
             WHERE level.id = seen.id AND COALESCE(level.dirty_mark, 0) = seen.mark
            """,
            [list(marks), list(marks.values())],
        )
        self.invalidate_model(["dirty"])

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
        self.env.cr.execute(
            """
            WITH level_location AS (
                SELECT DISTINCT level.id AS level_id, level.product_id,
                       loc.id AS location_id
                  FROM channel_stock_level level
                  JOIN channel_stock_location_stock_location_rel rel
                    ON rel.channel_stock_location_id = level.stock_location_id
                  JOIN stock_location root ON root.id = rel.stock_location_id
                  JOIN stock_location loc
                    ON loc.parent_path LIKE root.parent_path || '%%'
                   AND loc.usage = 'internal'
                 WHERE level.id = ANY(%s)
            )
            SELECT ll.level_id,
                   COALESCE(SUM(quant.quantity - quant.reserved_quantity), 0)
              FROM level_location ll
         LEFT JOIN stock_quant quant
                ON quant.location_id = ll.location_id
               AND quant.product_id = ll.product_id
          GROUP BY ll.level_id
            """,
            [self.ids],
        )
        return dict(self.env.cr.fetchall())

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
