from datetime import datetime

from odoo.tests import freeze_time, tagged

from ..const import JOB_CHANNEL_ORDERS
from .common import ChannelCommon, load_migration


@tagged("post_install", "-at_install")
class TestDashboard(ChannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._prepare_backend("shopify")
        cls.other = cls._prepare_backend("woocommerce")
        cls.Exception = cls.env["channel.exception"]
        cls.Event = cls.env["channel.event"]

    def _exception(self, exception_type, key, backend=None):
        return self.Exception._record(
            exception_type,
            f"{exception_type} {key}",
            backend=backend or self.backend,
            key=key,
        )

    def _event(self, key, state, duplicates=0):
        return self.Event.create(
            {
                "backend_id": self.backend.id,
                "topic": "orders/create",
                "dedupe_key": key,
                "state": state,
                "duplicates_prevented": duplicates,
            }
        )

    def test_kpis_from_known_data(self):
        with freeze_time("2026-11-01 08:00:00"):
            self._exception("missing_mapping", "sku-1")
            self._exception("total_mismatch", "order-1")
            self._exception("payment_missing_reference", "pay-1")
            self._exception("inventory_difference", "inv-1")
            self._exception("refund_incomplete", "refund-1")
            fixed = self._exception("missing_mapping", "sku-2")
            slow_fix = self._exception("api_error", "api-1")
            self._exception("api_error", "other-backend", backend=self.other)
        with freeze_time("2026-11-01 10:00:00"):
            fixed._mark_resolved()
        with freeze_time("2026-11-01 14:00:00"):
            slow_fix._mark_resolved()
        self._event("a", "done", duplicates=3)
        self._event("b", "received", duplicates=1)
        self._event("c", "queued")
        with freeze_time("2026-11-02 09:00:00"):
            self.backend.invalidate_recordset()
            kpis = {
                name: self.backend[name]
                for name in (
                    "kpi_open_exceptions",
                    "kpi_orders_awaiting_correction",
                    "kpi_payments_unreferenced",
                    "kpi_inventory_differences",
                    "kpi_refunds_incomplete",
                    "kpi_avg_resolution_hours",
                    "kpi_duplicates_prevented",
                    "kpi_queue_backlog",
                )
            }
        self.assertEqual(
            kpis,
            {
                "kpi_open_exceptions": 5,
                "kpi_orders_awaiting_correction": 2,
                "kpi_payments_unreferenced": 1,
                "kpi_inventory_differences": 1,
                "kpi_refunds_incomplete": 1,
                "kpi_avg_resolution_hours": 4.0,  # (2 h + 6 h) / 2
                "kpi_duplicates_prevented": 4,
                "kpi_queue_backlog": 2,
            },
        )
        self.assertEqual(self.other.kpi_open_exceptions, 1)

    def test_snapshot_is_one_row_per_backend_and_day(self):
        Snapshot = self.env["channel.kpi.snapshot"]
        with freeze_time("2026-11-01 23:00:00"):
            self._exception("missing_mapping", "sku-1")
            Snapshot._store_for(self.backend)
            self._exception("missing_mapping", "sku-2")
            snapshot = Snapshot._store_for(self.backend)
        self.assertEqual(
            Snapshot.search_count([("backend_id", "=", self.backend.id)]), 1
        )
        self.assertEqual(snapshot.kpi_open_exceptions, 2)
        self.Event.search([]).unlink()  # purged events do not erase history
        self.assertEqual(snapshot.kpi_open_exceptions, 2)
        with freeze_time("2026-11-02 23:00:00"):
            self.env["channel.backend"]._cron_snapshot_kpis()
        self.assertEqual(
            Snapshot.search_count([("backend_id", "=", self.backend.id)]), 2
        )

    def test_flow_success_timestamp_after_commit_and_never_backwards(self):
        self.enterContext(self.enter_registry_test_mode())
        with freeze_time("2026-11-01 08:00:00"):
            self.backend._mark_flow_success("orders")
        self.assertFalse(self.backend.last_sync_orders, "stamped after the commit")
        self.env.cr.postcommit.run()
        self.env.invalidate_all()
        self.assertEqual(str(self.backend.last_sync_orders), "2026-11-01 08:00:00")
        self.assertFalse(self.backend.last_sync_stock)
        self.backend._mark_flow_success("orders", moment=datetime(2026, 10, 1))
        self.env.cr.postcommit.run()
        self.env.invalidate_all()
        self.assertEqual(str(self.backend.last_sync_orders), "2026-11-01 08:00:00")

    def test_open_exceptions_action_filters_the_tile(self):
        action = self.backend.with_context(kpi="payments").action_open_exceptions()
        self.assertIn(("backend_id", "=", self.backend.id), action["domain"])
        self.assertIn(
            ("exception_type", "in", ("payment_missing_reference",)),
            action["domain"],
        )

    def test_migration_keeps_the_snapshot_figure_under_its_new_name(self):
        snapshot = self.env["channel.kpi.snapshot"].create(
            {"date": "2026-11-01", "backend_id": self.backend.id}
        )
        self.env.flush_all()
        cr = self.env.cr
        cr.execute(
            "ALTER TABLE channel_kpi_snapshot"
            " RENAME COLUMN kpi_payments_unreferenced TO kpi_payment_mismatches"
        )
        cr.execute(
            "UPDATE channel_kpi_snapshot SET kpi_payment_mismatches = 7 WHERE id = %s",
            [snapshot.id],
        )
        load_migration("19.0.1.3.0", "pre").migrate(cr, "19.0.1.2.0")
        self.env.invalidate_all()
        self.assertEqual(snapshot.kpi_payments_unreferenced, 7)


@tagged("post_install", "-at_install")
class TestIntegrationMapAndDigest(ChannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._prepare_backend("shopify", stock_export_interval=10)

    def test_map_follows_configuration(self):
        self.env["channel.exception.owner"].create(
            {"exception_type": "stock_skipped", "user_id": self.ops_user.id}
        )
        rows = {row["flow"]: row for row in self.backend._get_integration_map()}
        self.assertEqual(
            set(rows),
            {"Webhook intake", "Order import", "Stock export", "Connection health"},
        )
        self.assertEqual(rows["Stock export"]["frequency"], "Every 10 min")
        self.assertEqual(rows["Stock export"]["owner"], self.ops_user.name)
        self.assertEqual(rows["Order import"]["owner"], "Unassigned")
        self.assertEqual(rows["Stock export"]["system"], "Odoo → Shopify")
        self.backend.export_stock = False
        flows = {row["flow"] for row in self.backend._get_integration_map()}
        self.assertNotIn("Stock export", flows)

    def test_report_renders(self):
        html, report_type = self.env["ir.actions.report"]._render_qweb_html(
            "channel_connector.action_report_integration_map", self.backend.ids
        )
        self.assertEqual(report_type, "html")
        self.assertIn(b"Integration map", html)
        self.assertIn(JOB_CHANNEL_ORDERS.encode(), html)
        self.assertIn("Order import", self.backend.integration_map_html)

    def test_digest_mails_each_assignee(self):
        self.ops_user.email = "ops@example.com"
        self.env["channel.exception.owner"].create(
            {"user_id": self.ops_user.id, "sla_hours": 1}
        )
        with freeze_time("2026-11-01 08:00:00"):
            self.env["channel.exception"]._record(
                "missing_mapping",
                "SKU TS-RED-M is unknown",
                backend=self.backend,
                key="sku",
            )
        with freeze_time("2026-11-01 12:00:00"):
            sent = self.env["channel.exception"]._cron_send_digest()
        self.assertEqual(sent, 1)
        mail = self.env["mail.mail"].search(
            [("model", "=", "res.users"), ("res_id", "=", self.ops_user.id)]
        )
        self.assertIn("SKU TS-RED-M is unknown", mail.body_html)
        self.assertIn("past their service level", mail.body_html)
        self.assertIn("1 open", mail.subject)
