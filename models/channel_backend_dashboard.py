from collections import defaultdict
from datetime import timedelta

import psycopg2

from odoo import api, fields, models
from odoo.tools import SQL

from ..adapters.redaction import get_logger
from ..adapters.webhooks import FLOW_CATALOG, FLOW_ORDERS, FLOW_STOCK

_logger = get_logger(__name__)

ORDER_CORRECTION_TYPES = ("missing_mapping", "validation", "total_mismatch")
PAYMENT_TYPES = ("payment_missing_reference",)
OPEN_STATES = ("open", "in_progress")
# KPI field -> how it is shown on the dashboard and stored in snapshots.
KPI_FIELDS = (
    "kpi_open_exceptions",
    "kpi_overdue_exceptions",
    "kpi_avg_resolution_hours",
    "kpi_duplicates_prevented",
    "kpi_orders_awaiting_correction",
    "kpi_payment_mismatches",
    "kpi_inventory_differences",
    "kpi_queue_backlog",
)


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
    kpi_payment_mismatches = fields.Integer(
        string="Payment mismatches", compute="_compute_kpis"
    )
    kpi_inventory_differences = fields.Integer(
        string="Inventory differences", compute="_compute_kpis"
    )
    kpi_queue_backlog = fields.Integer(
        string="Queue backlog",
        compute="_compute_kpis",
        help="Events received or queued and not processed yet.",
    )
    last_sync_orders = fields.Datetime(
        string="Last order sync", readonly=True, copy=False
    )
    last_sync_stock = fields.Datetime(
        string="Last stock sync", readonly=True, copy=False
    )
    last_sync_catalog = fields.Datetime(
        string="Last catalogue sync", readonly=True, copy=False
    )

    # === COMPUTE METHODS ===

    def _compute_kpis(self):
        values = self._get_kpi_values()
        for backend in self:
            backend.update(values[backend.id])

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
            "kpi_payment_mismatches": [("exception_type", "in", PAYMENT_TYPES)],
            "kpi_inventory_differences": [
                ("exception_type", "=", "inventory_difference")
            ],
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
        """Record that a flow just synced successfully (dashboard, map).

        Stamped after the commit on a cursor of its own, skipping a row that
        another transaction holds: every order job stamps its backend, and two
        jobs writing one row in their transactions fail to serialize (and are
        retried whole) under Odoo's repeatable-read isolation.
        """
        field_name = {
            FLOW_ORDERS: "last_sync_orders",
            FLOW_STOCK: "last_sync_stock",
            FLOW_CATALOG: "last_sync_catalog",
        }.get(flow)
        if not field_name or not self:
            return
        registry, backend_ids = self.env.registry, self.ids
        moment = moment or fields.Datetime.now()

        @self.env.cr.postcommit.add
        def stamp():
            try:
                with registry.cursor() as cr:
                    cr.execute(_stamp_query(field_name, backend_ids, moment))
            except psycopg2.errors.SerializationFailure:
                _logger.debug("flow success of %s not stamped: row busy", backend_ids)

    @api.model
    def _cron_snapshot_kpis(self):
        """Cron: store today's figures of every backend (one row per day)."""
        backends = self.with_context(active_test=False).search([])
        return self.env["channel.kpi.snapshot"]._store_for(backends)


def _stamp_query(field_name, backend_ids, moment):
    """Move a flow's last success forward on the rows nobody holds."""
    column = SQL.identifier(field_name)
    return SQL(
        """
        UPDATE channel_backend SET %(column)s = GREATEST(%(column)s, %(moment)s)
         WHERE id IN (SELECT id FROM channel_backend
                       WHERE id = ANY(%(ids)s) FOR UPDATE SKIP LOCKED)
        """,
        column=column,
        moment=moment,
        ids=backend_ids,
    )
