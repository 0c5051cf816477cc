from odoo import api, fields, models

from .channel_backend_dashboard import KPI_FIELDS


class ChannelKpiSnapshot(models.Model):
    """One backend's dashboard figures on one day, kept for trends.

    Events are purged after their retention period; these rows are not, so
    the graph of failed syncs or backlog over months stays truthful.
    """

    _name = "channel.kpi.snapshot"
    _description = "Channel KPI Snapshot"
    _order = "date desc, backend_id, id"
    _rec_name = "date"

    # === FIELDS ===

    date = fields.Date(required=True, index=True, readonly=True)
    backend_id = fields.Many2one(
        "channel.backend", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    kpi_open_exceptions = fields.Integer("Failed syncs", readonly=True)
    kpi_overdue_exceptions = fields.Integer("Overdue", readonly=True)
    kpi_avg_resolution_hours = fields.Float(
        "Avg. resolution (h)", aggregator="avg", readonly=True
    )
    kpi_duplicates_prevented = fields.Integer(
        "Duplicates prevented", aggregator="max", readonly=True
    )
    kpi_orders_awaiting_correction = fields.Integer(
        "Orders awaiting correction", readonly=True
    )
    kpi_payments_unreferenced = fields.Integer(
        "Payments without reference", readonly=True
    )
    kpi_inventory_differences = fields.Integer("Inventory differences", readonly=True)
    kpi_refunds_incomplete = fields.Integer("Refunds incomplete", readonly=True)
    kpi_fulfilment_failures = fields.Integer("Fulfilment failures", readonly=True)
    kpi_catalogue_exceptions = fields.Integer("Catalogue exceptions", readonly=True)
    kpi_queue_backlog = fields.Integer("Queue backlog", readonly=True)

    # === CONSTRAINT METHODS ===

    _backend_date_unique = models.UniqueIndex("(backend_id, date)")

    # === BUSINESS METHODS ===

    @api.model
    def _store_for(self, backends, day=None):
        """Create or refresh the snapshot of `day` (today) for each backend."""
        day = day or fields.Date.context_today(self)
        values = backends._get_kpi_values()
        existing = {
            snapshot.backend_id.id: snapshot
            for snapshot in self.search(
                [("backend_id", "in", backends.ids), ("date", "=", day)]
            )
        }
        snapshots = self.browse()
        for backend in backends:
            figures = {name: values[backend.id][name] for name in KPI_FIELDS}
            snapshot = existing.get(backend.id)
            if snapshot:
                snapshot.write(figures)
            else:
                snapshot = self.create(
                    {"date": day, "backend_id": backend.id, **figures}
                )
            snapshots |= snapshot
        return snapshots
