from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models

from ..adapters.webhooks import FLOW_CATALOG, FLOW_ORDERS, FLOW_STOCK

ORDER_CORRECTION_TYPES = ("missing_mapping", "validation", "total_mismatch")
PAYMENT_TYPES = ("payment_missing_reference",)
CATALOGUE_TYPES = (
    "catalogue_skipped",
    "catalogue_refused",
    "catalogue_sku",
    "catalogue_difference",
)
OPEN_STATES = ("open", "in_progress")
# KPI field -> how it is shown on the dashboard and stored in snapshots.
KPI_FIELDS = (
    "kpi_open_exceptions",
    "kpi_overdue_exceptions",
    "kpi_avg_resolution_hours",
    "kpi_duplicates_prevented",
    "kpi_orders_awaiting_correction",
    "kpi_payments_unreferenced",
    "kpi_inventory_differences",
    "kpi_refunds_incomplete",
    "kpi_fulfilment_failures",
    "kpi_catalogue_exceptions",
    "kpi_queue_backlog",
)
# Backend field shown from a `channel.sync.status` -> (flow, status field).
RUN_STATE_FIELDS = {
    "last_sync_orders": ("orders", "last_run_at"),
    "last_sync_stock": ("stock", "last_run_at"),
    "last_sync_catalog": ("catalog", "last_run_at"),
    "stock_full_requested": ("stock", "full_requested"),
    "last_reconciliation": ("order_pull", "last_run_at"),
    "last_catalogue_match": ("catalogue_match", "last_run_at"),
    "catalogue_match_message": ("catalogue_match", "message"),
    "last_stock_check": ("stock_check", "last_run_at"),
    "stock_check_message": ("stock_check", "message"),
    "webhook_check_message": ("webhooks", "message"),
    "last_connection_check": ("connection", "last_run_at"),
}


class ChannelBackend(models.Model):
    """The health of each backend: the figures of the Channels dashboard.

    Every figure is computed from exceptions and events in a few grouped
    queries for all displayed backends at once; `channel.kpi.snapshot` keeps a
    copy per day so that trends survive event purges.
    """

    _inherit = "channel.backend"

    # === FIELDS ===

    kpi_open_exceptions = fields.Integer(
        string="Failed syncs", compute="_compute_kpis", help="Unresolved exceptions."
    )
    kpi_overdue_exceptions = fields.Integer(string="Overdue", compute="_compute_kpis")
    kpi_avg_resolution_hours = fields.Float(
        string="Avg. resolution (h)",
        compute="_compute_kpis",
        help="Average hours to resolve the exceptions resolved in the last 30 days.",
    )
    kpi_duplicates_prevented = fields.Integer(
        string="Duplicates prevented", compute="_compute_kpis"
    )
    kpi_orders_awaiting_correction = fields.Integer(
        string="Orders awaiting correction", compute="_compute_kpis"
    )
    kpi_payments_unreferenced = fields.Integer(
        string="Payments without reference", compute="_compute_kpis"
    )
    kpi_inventory_differences = fields.Integer(
        string="Inventory differences", compute="_compute_kpis"
    )
    kpi_refunds_incomplete = fields.Integer(
        string="Refunds incomplete",
        compute="_compute_kpis",
        help="Channel refunds missing their credit note, payment or return.",
    )
    kpi_fulfilment_failures = fields.Integer(
        string="Fulfilment failures",
        compute="_compute_kpis",
        help="Deliveries the channel has not taken as shipped, tracked or cancelled.",
    )
    kpi_catalogue_exceptions = fields.Integer(
        string="Catalogue exceptions",
        compute="_compute_kpis",
        help="Products not published: skipped (no SKU or price) or refused.",
    )
    kpi_queue_backlog = fields.Integer(
        string="Queue backlog",
        compute="_compute_kpis",
        help="Events received or queued and not processed yet.",
    )
    sync_status_ids = fields.One2many("channel.sync.status", "backend_id")
    last_sync_orders = fields.Datetime(
        string="Last order sync", compute="_compute_run_state"
    )
    last_sync_stock = fields.Datetime(
        string="Last stock sync", compute="_compute_run_state"
    )
    last_sync_catalog = fields.Datetime(
        string="Last catalogue sync", compute="_compute_run_state"
    )

    # === COMPUTE METHODS ===

    def _compute_kpis(self):
        values = self._get_kpi_values()
        for backend in self:
            backend.update(values[backend.id])

    @api.depends(
        "sync_status_ids.last_run_at",
        "sync_status_ids.message",
        "sync_status_ids.full_requested",
    )
    def _compute_run_state(self):
        """Show each flow's run state (`RUN_STATE_FIELDS`) on the backend.

        Read as superuser: a job run by whoever moved stock reads the run
        state of its backend, and the state says nothing the backend hides.
        """
        statuses_sudo = (
            self.env["channel.sync.status"]
            .sudo()
            .search([("backend_id", "in", self._origin.ids)])
        )
        by_key = {(s.backend_id.id, s.flow): s for s in statuses_sudo}
        for backend in self:
            for field_name, (flow, status_field) in RUN_STATE_FIELDS.items():
                status_sudo = by_key.get((backend._origin.id, flow))
                backend[field_name] = (
                    status_sudo[status_field] if status_sudo else False
                )

    # === ACTION METHODS ===

    def action_open_exceptions(self):
        """Open the backend's exceptions, filtered like the tile clicked."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "channel_connector.channel_exception_action"
        )
        domain = [("backend_id", "=", self.id)]
        kind = self.env.context.get("kpi")
        if kind == "orders":
            domain += [("exception_type", "in", ORDER_CORRECTION_TYPES)]
        elif kind == "payments":
            domain += [("exception_type", "in", PAYMENT_TYPES)]
        elif kind == "inventory":
            domain += [("exception_type", "=", "inventory_difference")]
        elif kind == "refunds":
            domain += [("exception_type", "=", "refund_incomplete")]
        elif kind == "fulfilment":
            domain += [("exception_type", "=", "fulfilment_failed")]
        elif kind == "catalogue":
            domain += [("exception_type", "in", CATALOGUE_TYPES)]
        action["domain"] = domain
        action["context"] = {
            "search_default_filter_unresolved": 1,
            "search_default_filter_overdue": int(kind == "overdue"),
        }
        return action

    def action_open_events(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "channel_connector.channel_event_action"
        )
        action["domain"] = [("backend_id", "=", self.id)]
        return action

    # === BUSINESS METHODS ===

    def _get_kpi_values(self):
        """{backend id: {kpi field: value}} for every backend of `self`."""
        values = {
            backend.id: dict.fromkeys(KPI_FIELDS, 0) for backend in self if backend.id
        }
        if not values:
            return defaultdict(lambda: dict.fromkeys(KPI_FIELDS, 0))
        self._add_exception_kpis(values)
        self._add_event_kpis(values)
        return values

    def _add_exception_kpis(self, values):
        Exception_ = self.env["channel.exception"].sudo()
        base = [("backend_id", "in", list(values))]
        counters = {
            "kpi_open_exceptions": [],
            "kpi_orders_awaiting_correction": [
                ("exception_type", "in", ORDER_CORRECTION_TYPES)
            ],
            "kpi_payments_unreferenced": [("exception_type", "in", PAYMENT_TYPES)],
            "kpi_inventory_differences": [
                ("exception_type", "=", "inventory_difference")
            ],
            "kpi_refunds_incomplete": [("exception_type", "=", "refund_incomplete")],
            "kpi_fulfilment_failures": [("exception_type", "=", "fulfilment_failed")],
            "kpi_catalogue_exceptions": [("exception_type", "in", CATALOGUE_TYPES)],
            "kpi_overdue_exceptions": [("is_overdue", "=", True)],
        }
        for kpi, extra in counters.items():
            domain = [*base, ("state", "in", OPEN_STATES), *extra]
            for backend, count in Exception_._read_group(
                domain, ["backend_id"], ["__count"]
            ):
                values[backend.id][kpi] = count
        since = fields.Datetime.now() - timedelta(days=30)
        resolved = [*base, ("state", "=", "resolved"), ("resolved_at", ">=", since)]
        for backend, average in Exception_._read_group(
            resolved, ["backend_id"], ["resolution_hours:avg"]
        ):
            values[backend.id]["kpi_avg_resolution_hours"] = average or 0.0

    def _add_event_kpis(self, values):
        Event = self.env["channel.event"].sudo()
        base = [("backend_id", "in", list(values))]
        for backend, duplicates in Event._read_group(
            base, ["backend_id"], ["duplicates_prevented:sum"]
        ):
            values[backend.id]["kpi_duplicates_prevented"] = duplicates or 0
        backlog = [*base, ("state", "in", ("received", "queued"))]
        for backend, count in Event._read_group(backlog, ["backend_id"], ["__count"]):
            values[backend.id]["kpi_queue_backlog"] = count

    def _mark_flow_success(self, flow, moment=None):
        """Record that a flow just synced successfully (dashboard, map), on
        the flow's `channel.sync.status`, after the commit."""
        if flow not in (FLOW_ORDERS, FLOW_STOCK, FLOW_CATALOG) or not self:
            return
        self.env["channel.sync.status"]._stamp_after_commit(
            self, flow, moment or fields.Datetime.now()
        )

    def _get_sync_status(self, flow):
        """This backend's (superuser) run state of `flow`."""
        self.ensure_one()
        return self.env["channel.sync.status"]._for(self, flow)

    @api.model
    def _cron_snapshot_kpis(self):
        """Cron: store today's figures of every backend (one row per day)."""
        # Every backend, archived too: a company has a handful.
        backends = self.with_context(active_test=False).search([])  # pylint: disable=no-search-all
        return self.env["channel.kpi.snapshot"]._store_for(backends)
