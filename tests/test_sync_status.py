"""Run state lives on `channel.sync.status`, never on the backend row."""

from datetime import datetime

import psycopg2

from odoo import SUPERUSER_ID, api, fields
from odoo.tests import tagged

from ..models.channel_sync_status import FLOWS
from .common import ChannelCommon, CommittedCase, load_migration


@tagged("post_install", "-at_install")
class TestRunStateConcurrency(CommittedCase):
    """Worker A took its snapshot, then worker B commits run state, then A
    inserts a row referencing the backend (its FK check locks the backend row
    for key share): A fails to serialize if and only if B wrote that row.

    No test transaction here: everything is committed, then deleted.
    """

    def setUp(self):
        super().setUp()
        self.backend_id = self._committed_backend(
            name="Run state race", provider="generic", state="connected"
        )
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.partner_id = env.ref("base.main_partner").id

    def _backend_row_version(self):
        with self.db.cursor() as cr:
            cr.execute(
                "SELECT xmin::text FROM channel_backend WHERE id = %s",
                [self.backend_id],
            )
            return cr.fetchone()[0]

    def _insert_binding_after(self, job, ref):
        """Run `job(backend)` and commit it while A's snapshot is open, then
        insert a partner binding of the backend on A and commit."""
        with self.db.cursor() as cr_a:
            env_a = api.Environment(cr_a, SUPERUSER_ID, {})
            backend_a = env_a["channel.backend"].browse(self.backend_id)
            self.assertTrue(backend_a.company_id)  # A's snapshot is taken here
            with self.db.cursor() as cr_b:
                job(
                    api.Environment(cr_b, SUPERUSER_ID, {})["channel.backend"].browse(
                        self.backend_id
                    )
                )
            env_a["channel.partner.binding"].create(
                {
                    "backend_id": backend_a.id,
                    "company_id": backend_a.company_id.id,
                    "external_ref": ref,
                    "partner_id": self.partner_id,
                    "match_rule": "created",
                }
            )
            env_a.flush_all()

    def test_stamping_the_backend_row_broke_concurrent_inserts(self):
        """The hazard is real: the stamp of the previous version (a row
        locked FOR UPDATE, then updated) fails the FK check of A's insert."""

        def old_stamp(backend):
            backend.env.cr.execute(
                """UPDATE channel_backend SET write_date = now()
                    WHERE id IN (SELECT id FROM channel_backend
                                  WHERE id = %s FOR UPDATE SKIP LOCKED)""",
                [backend.id],
            )

        with self.assertRaises(psycopg2.errors.SerializationFailure):
            self._insert_binding_after(old_stamp, "before")

    def test_run_state_of_a_job_leaves_concurrent_inserts_alone(self):
        now = fields.Datetime.now()
        jobs = {
            "flow success": lambda b: b._mark_flow_success("orders", moment=now),
            "pull window": lambda b: b._get_sync_status("order_pull").write(
                {"last_run_at": now}
            ),
            "check result": lambda b: b._get_sync_status("stock_check").write(
                {"last_run_at": now, "message": "5 compared"}
            ),
            "full export request": lambda b: b._get_sync_status("stock").write(
                {"full_requested": True}
            ),
        }
        row_version = self._backend_row_version()
        for name, job in jobs.items():
            with self.subTest(job=name):
                self._insert_binding_after(job, f"after-{name}")
        self.assertEqual(self._backend_row_version(), row_version, "never written")
        with self.db.cursor() as cr:
            backend = api.Environment(cr, SUPERUSER_ID, {})["channel.backend"].browse(
                self.backend_id
            )
            self.assertEqual(backend.last_sync_orders, now, "stamped after commit")
            self.assertEqual(backend.last_reconciliation, now)
            self.assertEqual(backend.stock_check_message, "5 compared")
            self.assertTrue(backend.stock_full_requested)
            cr.execute(
                "SELECT count(*) FROM channel_partner_binding WHERE backend_id = %s",
                [self.backend_id],
            )
            bindings = cr.fetchone()[0]
        self.assertEqual(bindings, len(jobs), "every insert committed")

    def test_a_connection_check_writes_the_backend_only_on_a_new_state(self):
        def check(cr):
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend = env["channel.backend"].browse(self.backend_id)
            self.assertFalse(backend._check_connection(), "no signing secret")
            return backend.last_connection_check

        with self.db.cursor() as cr:
            first = check(cr)  # connected -> error: the backend is written
        row_version = self._backend_row_version()
        with self.db.cursor() as cr:
            second = check(cr)
        self.assertEqual(self._backend_row_version(), row_version, "not written")
        self.assertTrue(first and second >= first, "each check is recorded")


@tagged("post_install", "-at_install")
class TestSyncStatusMigration(ChannelCommon):
    """The 19.0.1.2.0 post-migration, run on backend columns prepared in the
    test transaction as the previous version left them."""

    OLD_COLUMNS = (
        "last_sync_orders timestamp",
        "last_sync_stock timestamp",
        "stock_full_requested boolean",
        "last_reconciliation timestamp",
        "catalogue_match_message varchar",
        "webhook_check_message varchar",
    )

    def test_migration_copies_run_state_and_drops_the_columns(self):
        backend = self._prepare_backend("shopify")
        bare = self._prepare_backend("woocommerce")
        self.env.flush_all()
        cr = self.env.cr
        cr.execute(
            "ALTER TABLE channel_backend "
            + ", ".join(f"ADD COLUMN {column}" for column in self.OLD_COLUMNS)
        )
        cr.execute(
            """UPDATE channel_backend
                  SET last_sync_orders = '2026-11-01 08:00:00',
                      last_sync_stock = '2026-11-02 09:00:00',
                      stock_full_requested = TRUE,
                      last_reconciliation = '2026-11-03 10:00:00',
                      catalogue_match_message = '3 bound'
                WHERE id = %s""",
            [backend.id],
        )
        # The previous version had no status rows at all.
        cr.execute(
            "DELETE FROM channel_sync_status WHERE backend_id IN %s",
            [(backend.id, bare.id)],
        )
        load_migration("19.0.1.2.0").migrate(cr, "19.0.1.1.0")
        self.env.invalidate_all()
        self.assertEqual(backend.last_sync_orders, datetime(2026, 11, 1, 8))
        self.assertEqual(backend.last_sync_stock, datetime(2026, 11, 2, 9))
        self.assertTrue(backend.stock_full_requested)
        self.assertEqual(backend.last_reconciliation, datetime(2026, 11, 3, 10))
        self.assertEqual(backend.catalogue_match_message, "3 bound")
        self.assertFalse(backend.webhook_check_message)
        self.assertFalse(backend.last_sync_catalog, "no old column: empty")
        self.assertEqual(len(bare.sync_status_ids), 8, "a row per flow")
        self.assertFalse(bare.stock_full_requested)
        self.assertFalse(bare.last_sync_orders)
        cr.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = 'channel_backend' AND column_name = ANY(%s)",
            [[column.split()[0] for column in self.OLD_COLUMNS]],
        )
        self.assertFalse(cr.fetchall(), "the old columns are dropped")


@tagged("post_install", "-at_install")
class TestSyncStatus(ChannelCommon):
    def test_a_new_backend_has_a_status_per_flow(self):
        """Every flow every provider runs; a provider's own flows (Amazon's
        FBA inventory) get their status when they first run."""
        backend = self._prepare_backend("generic")
        self.assertEqual(
            sorted(backend.sync_status_ids.mapped("flow")),
            sorted(flow for flow, _label in FLOWS),
        )
        self.assertLess(
            len(FLOWS),
            len(self.env["channel.sync.status"]._fields["flow"].selection),
        )
