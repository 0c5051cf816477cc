"""Each hand-written query of sql/queries.py gives what the ORM gives on the
same data (the ORM equivalent written out in each test)."""

import base64
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import psycopg2

from odoo import Command, fields, sql_db
from odoo.tests import BaseCase, get_db_name, tagged
from odoo.tools import SQL

from ..models.channel_exception import OPEN_STATES, SETTLED_EVENT_STATES
from ..sql import queries
from .common import ChannelCommon

NOW = datetime(2026, 11, 30, 12, 0, 0)
ADDON = Path(__file__).resolve().parent.parent
# Folders of the product's code: only sql/ may hold a hand-written query.
PRODUCT_FOLDERS = ("models", "controllers", "wizards", "adapters")


@tagged("post_install", "-at_install")
class TestRawSqlInOneModule(BaseCase):
    def test_no_query_outside_sql_queries(self):
        pattern = re.compile(r"\bcr\.execute\(|\bSQL\(")
        hits = [
            f"{path.relative_to(ADDON)}:{number}"
            for folder in PRODUCT_FOLDERS
            for path in sorted((ADDON / folder).rglob("*.py"))
            for number, line in enumerate(path.read_text().splitlines(), 1)
            if pattern.search(line)
        ]
        self.assertEqual(hits, [])
        self.assertTrue(pattern.search((ADDON / "sql" / "queries.py").read_text()))


@tagged("post_install", "-at_install")
class TestEventQueries(ChannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._prepare_backend("shopify", event_retention_days=30)
        cls.Event = cls.env["channel.event"]

    def _event(self, key, **values):
        return self.Event.create(
            {"backend_id": self.backend.id, "topic": "orders/create"}
            | {"dedupe_key": key}
            | values
        )

    def _insert_values(self, key):
        return {
            "backend": self.backend.id,
            "provider": "shopify",
            "company": self.backend.company_id.id,
            "topic": "orders/create",
            "flow": "orders",
            "key": key,
            "delivery": "d-1",
            "resource": "42",
            "timestamp": NOW,
            "now": NOW,
            "body": psycopg2.Binary(base64.b64encode(b'{"id": 42}')),
            "headers": json.dumps({"X-Topic": "orders/create"}),
            "state": "queued",
            "queued_at": NOW,
            "error": None,
            "uid": self.env.uid,
        }

    def test_insert_event_equals_orm_create(self):
        inserted = self.Event.browse(
            queries.insert_event(self.env.cr, self._insert_values("k-1"))
        )
        created = self._event(
            "k-2",
            flow="orders",
            delivery_id="d-1",
            resource_ref="42",
            channel_timestamp=NOW,
            received_at=NOW,
            raw_body=base64.b64encode(b'{"id": 42}'),
            headers={"X-Topic": "orders/create"},
            state="queued",
            queued_at=NOW,
        )
        self.env.flush_all()
        self.env.invalidate_all()
        compared = [
            *("backend_id", "provider", "company_id", "topic", "flow"),
            *("delivery_id", "resource_ref", "channel_timestamp", "received_at"),
            *("headers", "state", "queued_at", "error", "attempts"),
            *("duplicates_prevented", "create_uid", "raw_body_text"),
        ]
        (inserted_values,) = inserted.read(compared)
        (created_values,) = created.read(compared)
        inserted_values.pop("id"), created_values.pop("id")
        self.assertEqual(inserted_values, created_values)
        self.assertEqual(inserted._get_payload(), {"id": 42})

    def test_insert_event_conflict_keeps_one_row(self):
        first = queries.insert_event(self.env.cr, self._insert_values("k-1"))
        again = queries.insert_event(self.env.cr, self._insert_values("k-1"))
        self.assertIsNone(again)
        found = self.Event.search(
            [("backend_id", "=", self.backend.id), ("dedupe_key", "=", "k-1")]
        )
        self.assertEqual(found.ids, [first])

    def test_count_duplicate_is_an_orm_increment(self):
        event = self._event("k-1", duplicates_prevented=2)
        self.env.flush_all()
        counted = queries.count_duplicate(self.env.cr, self.backend.id, "k-1")
        self.assertEqual(counted, event.id)
        self.assertIsNone(queries.count_duplicate(self.env.cr, self.backend.id, "no"))
        event.invalidate_recordset()
        self.assertEqual(event.duplicates_prevented, 3)

    def test_malformed_matching_equals_python_search(self):
        bodies = [b'{"customer": 4711}', b'{"email": "Ann@Example.com"}', b"x 47112"]
        events = self.Event
        for number, body in enumerate(bodies):
            events |= self._event(
                f"malformed:{number}", raw_body=base64.b64encode(body), state="failed"
            )
        self._event("normal", raw_body=base64.b64encode(b"4711"))
        self.env.flush_all()
        pattern = r"(?<![0-9])4711(?![0-9])|ann@example\.com"
        rows = queries.malformed_matching(self.env.cr, self.backend.id, pattern, 0, 10)
        expected = [
            (event.id, bool(re.search(pattern, event._get_raw_body().decode(), re.I)))
            for event in self.Event.search(
                [
                    ("backend_id", "=", self.backend.id),
                    ("dedupe_key", "=like", "malformed:%"),
                ],
                order="id",
            )
        ]
        self.assertEqual(rows, expected)
        self.assertEqual([matches for _id, matches in rows], [True, True, False])
        after_first = queries.malformed_matching(
            self.env.cr, self.backend.id, pattern, events[0].id, 1
        )
        self.assertEqual(after_first, expected[1:2])

    def test_stuck_event_ids_equal_orm_search(self):
        old = NOW - timedelta(hours=2)
        stuck = self._event("a", state="queued", queued_at=old)
        waiting = self._event("b", state="queued", queued_at=old - timedelta(1))
        self._event("c", state="queued", queued_at=NOW)
        self._event("d", state="done", queued_at=old)
        failed_job = self._event("e", state="queued", queued_at=old - timedelta(2))
        # Joined a job still to run; then one that joined a failed job.
        self._event("f", state="queued", queued_at=old, joined_event_id=waiting.id)
        orphan = self._event(
            "g", state="queued", queued_at=old, joined_event_id=failed_job.id
        )
        for event, state in ((waiting, "pending"), (failed_job, "failed")):
            job = event.with_delay()._job_process()
            job.db_record().write({"state": state})
        self.env.flush_all()
        waiting_states = ("wait_dependencies", "pending", "enqueued", "started")
        before = NOW - timedelta(minutes=30)
        found = queries.stuck_event_ids(self.env.cr, before, waiting_states, 10)
        expected = (
            self.Event.search(
                [("state", "=", "queued"), ("queued_at", "<", before)],
                order="queued_at, id",
            )
            .filtered(
                lambda e: (
                    not self.env["queue.job"].search_count(
                        [
                            (
                                "channel_event_id",
                                "in",
                                [e.id, *e.joined_event_id.ids],
                            ),
                            ("state", "in", waiting_states),
                        ]
                    )
                )
            )
            .ids
        )
        self.assertEqual(found, expected)
        self.assertEqual(found, [failed_job.id, stuck.id, orphan.id])

    def _orm_purgeable(self, now, unhandled, kept_since):
        def purgeable(event):
            retention = timedelta(days=event.backend_id.event_retention_days)
            if event.received_at >= now - retention:
                return False
            if any(c.create_date >= kept_since for c in event.correction_ids):
                return False
            exceptions = self.env["channel.exception"].search(
                [("retry_model", "=", "channel.event"), ("retry_res_id", "=", event.id)]
            )
            return (
                event.state in SETTLED_EVENT_STATES
                or (event.state == "received" and (event.flow or "") in unhandled)
                or (
                    event.state == "failed"
                    and exceptions
                    and not exceptions.filtered(lambda x: x.state in OPEN_STATES)
                )
            )

        return self.Event.search([], order="id").filtered(purgeable).ids

    def test_purgeable_event_ids_equal_orm_filter(self):
        old = NOW - timedelta(days=40)
        self._event("done", state="done", received_at=old)
        self._event("recent", state="done", received_at=NOW)
        self._event("queued", state="queued", received_at=old)
        self._event("unhandled", state="received", flow="x", received_at=old)
        self._event("handled", state="received", flow="orders", received_at=old)
        closed = self._event("closed", state="failed", received_at=old)
        still_open = self._event("open", state="failed", received_at=old)
        self._event("no-exception", state="failed", received_at=old)
        corrected = self._event("corrected", state="done", received_at=old)
        for event, state in ((closed, "ignored"), (still_open, "open")):
            exception = self.env["channel.exception"]._record(
                "validation", event.dedupe_key, backend=self.backend, retry_target=event
            )
            exception.sudo().state = state
        self.env["channel.event.correction"].create(
            {"event_id": corrected.id, "corrected_payload": {"id": 1}}
        )
        self.env.flush_all()
        kept_since = NOW - timedelta(days=365)
        found = queries.purgeable_event_ids(
            self.env.cr,
            now=NOW,
            settled=SETTLED_EVENT_STATES,
            open_states=OPEN_STATES,
            unhandled=["x"],
            kept_since=kept_since,
            limit=100,
        )
        expected = self._orm_purgeable(NOW, ["x"], kept_since)
        self.assertEqual(found, expected)
        self.assertEqual(
            self.Event.browse(found).mapped("dedupe_key"),
            ["done", "unhandled", "closed"],
        )

    def test_stale_received_flows_equal_orm_read(self):
        old = NOW - timedelta(days=40)
        self._event("a", state="received", flow="orders", received_at=old)
        self._event("b", state="received", received_at=old)
        self._event("c", state="received", flow="stock", received_at=NOW)
        self._event("d", state="done", flow="catalog", received_at=old)
        self.env.flush_all()
        found = queries.stale_received_flows(self.env.cr, NOW)
        expected = {
            event.flow or ""
            for event in self.Event.search([("state", "=", "received")])
            if event.received_at
            < NOW - timedelta(days=event.backend_id.event_retention_days)
        }
        self.assertEqual(sorted(found), sorted(expected))
        self.assertEqual(sorted(found), ["", "orders"])


@tagged("post_install", "-at_install")
class TestSmallQueries(ChannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._prepare_backend("shopify")

    def test_phone_candidates_equal_orm_filter(self):
        Partner = self.env["res.partner"]
        Partner.create(
            [
                {"name": "Typed", "phone": "06 12 34 56 78"},
                {"name": "International", "phone": "+33 6 12 34 56 78"},
                {"name": "Other number", "phone": "06 12 34 56 79"},
                {"name": "Archived", "phone": "0612345678", "active": False},
                {
                    "name": "Foreign",
                    "phone": "0612345678",
                    "company_id": self.other_company.id,
                },
            ]
        )
        self.env.flush_all()
        found = queries.phone_candidate_ids(
            self.env.cr, self.env.company.id, "12345678"
        )
        expected = (
            Partner.with_context(allowed_company_ids=self.env.companies.ids)
            .sudo()
            .search(
                [
                    ("parent_id", "=", False),
                    ("phone", "!=", False),
                    ("company_id", "in", (self.env.company.id, False)),
                ],
                order="id",
            )
            .filtered(lambda p: re.sub(r"[^0-9]", "", p.phone).endswith("12345678"))
            .ids
        )
        self.assertEqual(found, expected)
        self.assertEqual(
            Partner.browse(found).mapped("name"), ["Typed", "International"]
        )

    def test_stamp_last_run_only_moves_forward_like_max(self):
        status = self.backend._get_sync_status("orders")
        status.last_run_at = NOW
        self.env.flush_all()
        for moment in (NOW - timedelta(hours=1), NOW + timedelta(hours=1)):
            expected = max(status.last_run_at, moment)
            queries.stamp_last_run(self.env.cr, status.ids, moment)
            status.invalidate_recordset()
            self.assertEqual(status.last_run_at, expected)

    def test_budget_upserts_equal_orm_create_then_write(self):
        Budget = self.env["channel.api.budget"].sudo()
        queries.budget_report(
            self.env.cr,
            self.backend.id,
            maximum=1000.0,
            available=400.0,
            restore_rate=50.0,
            measured_at=100.0,
        )
        queries.budget_block(self.env.cr, self.backend.id, 200.0)
        queries.budget_block(self.env.cr, self.backend.id, 150.0)  # earlier: kept
        queries.budget_report(
            self.env.cr,
            self.backend.id,
            maximum=1000.0,
            available=900.0,
            restore_rate=50.0,
            measured_at=110.0,
        )
        budget = Budget.search([("backend_id", "=", self.backend.id)])
        self.assertEqual(len(budget), 1, "one row per account")
        orm = {
            "maximum": 1000.0,
            "available": 900.0,
            "restore_rate": 50.0,
            "measured_at": 110.0,
            "blocked_until": max(200.0, 150.0),
        }
        self.assertEqual({name: budget[name] for name in orm}, orm)
        self.assertEqual(budget.company_id, self.backend.company_id)
        self.assertEqual(
            queries.budget_read(self.env.cr, self.backend.id), tuple(orm.values())
        )
        self.assertIsNone(queries.budget_read(self.env.cr, 0))

    def test_budget_take_is_an_orm_write_of_the_locked_row(self):
        queries.budget_report(
            self.env.cr,
            self.backend.id,
            maximum=1000.0,
            available=400.0,
            restore_rate=50.0,
            measured_at=100.0,
        )
        locked = queries.budget_read(self.env.cr, self.backend.id, lock=True)
        self.assertEqual(locked, (1000.0, 400.0, 50.0, 100.0, None))
        queries.budget_take(self.env.cr, self.backend.id, 390.0, 101.5)
        budget = (
            self.env["channel.api.budget"]
            .sudo()
            .search([("backend_id", "=", self.backend.id)])
        )
        self.assertEqual((budget.available, budget.measured_at), (390.0, 101.5))
        self.assertEqual((budget.maximum, budget.restore_rate), (1000.0, 50.0))

    def test_token_upsert_equals_orm_create_then_write(self):
        Token = self.env["channel.access.token"].sudo()
        queries.store_token(self.env.cr, self.backend.id, "first", "read", 100.0)
        queries.store_token(self.env.cr, self.backend.id, "second", "write", 200.0)
        token = Token.search([("backend_id", "=", self.backend.id)])
        self.assertEqual(len(token), 1, "one row per account")
        self.assertEqual(
            (token.token, token.scope, token.expires_at), ("second", "write", 200.0)
        )
        self.assertEqual(
            queries.read_token(self.env.cr, self.backend.id),
            (token.token, token.expires_at),
        )
        self.assertIsNone(queries.read_token(self.env.cr, 0))

    def test_read_committed_is_what_postgresql_reports(self):
        with sql_db.db_connect(get_db_name()).cursor() as cr:
            queries.set_read_committed(cr)
            cr.execute("SHOW transaction_isolation")
            self.assertEqual(cr.fetchone()[0], "read committed")

    def test_async_commit_is_what_postgresql_reports_for_one_transaction(self):
        with sql_db.db_connect(get_db_name()).cursor() as cr:
            queries.set_async_commit(cr)
            cr.execute("SHOW synchronous_commit")
            self.assertEqual(cr.fetchone()[0], "off")
            cr.rollback()
            cr.execute("SHOW synchronous_commit")
            self.assertEqual(cr.fetchone()[0], "on", "LOCAL: this transaction only")

    def test_advisory_lock_is_refused_to_another_transaction(self):
        db = sql_db.db_connect(get_db_name())
        with db.cursor() as first, db.cursor() as second:
            self.assertTrue(queries.try_lock(first, 7, self.backend.id))
            self.assertFalse(queries.try_lock(second, 7, self.backend.id))
            self.assertTrue(queries.try_lock(first, -12345))
            self.assertFalse(queries.try_lock(second, -12345))
            first.rollback()  # ends the transaction: the locks go with it
            self.assertTrue(queries.try_lock(second, 7, self.backend.id))
            queries.wait_lock(second, -12345)
            queries.wait_lock(second, 8, self.backend.id)
            self.assertFalse(queries.try_lock(first, 8, self.backend.id))

    def test_retarget_jobs_equals_orm_write(self):
        job = self.backend.with_delay()._job_sync_webhooks().db_record()
        untouched = self.backend.with_delay()._job_export_stock().db_record()
        self.env.flush_all()
        queries.retarget_jobs(
            self.env.cr,
            "channel.backend",
            "_job_match_catalogue",
            SQL("job.id = %s", job.id),
        )
        self.env.invalidate_all()
        function = self.env["queue.job.function"].search(
            [
                ("model_id.model", "=", "channel.backend"),
                ("method", "=", "_job_match_catalogue"),
            ]
        )
        self.assertEqual(
            (job.method_name, job.channel_method_name, job.job_function_id),
            (
                "_job_match_catalogue",
                "<channel.backend>._job_match_catalogue",
                function,
            ),
        )
        self.assertEqual(job.records, untouched.records, "same records")
        self.assertEqual(untouched.method_name, "_job_export_stock")


@tagged("post_install", "-at_install")
class TestStockQueries(ChannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._prepare_backend("shopify", state="connected")
        warehouse, cls.shelf = cls._prepare_shelf()
        cls.stock = warehouse.lot_stock_id
        cls.main = cls.env["channel.stock.location"].create(
            {
                "backend_id": cls.backend.id,
                "name": "Main",
                "location_ref": "1",
                # The shelf twice (itself and under stock): counted once.
                "location_ids": [Command.set((cls.stock | cls.shelf).ids)],
            }
        )
        cls.empty = cls.env["channel.stock.location"].create(
            {"backend_id": cls.backend.id, "name": "Empty", "location_ref": "2"}
        )
        cls.products = cls.env["product.product"].create(
            [
                {"name": f"P{n}", "default_code": f"P{n}", "is_storable": True}
                for n in range(3)
            ]
        )
        cls.foreign = (
            cls.env["product.template"]
            .create(
                {"name": "F", "is_storable": True, "company_id": cls.other_company.id}
            )
            .product_variant_id
        )
        cls.env["channel.product.binding"].create(
            [
                {
                    "backend_id": cls.backend.id,
                    "company_id": cls.env.company.id,
                    "product_id": product.id,
                    "external_ref": f"v{product.id}",
                    "sku": product.default_code or "F",
                }
                for product in cls.products | cls.foreign
            ]
        )

    def _levels(self):
        return self.env["channel.stock.level"].search(
            [("backend_id", "=", self.backend.id)]
        )

    def _marks(self):
        return self.env["channel.stock.mark"].search(
            [("level_id.backend_id", "=", self.backend.id)], order="id"
        )

    def test_create_stock_levels_equals_bindings_times_locations(self):
        self.env.flush_all()
        queries.create_stock_levels(
            self.env.cr, self.backend.id, self.env.company.id, self.env.uid
        )
        queries.create_stock_levels(  # again: nothing more
            self.env.cr, self.backend.id, self.env.company.id, self.env.uid
        )
        self.env.invalidate_all()
        expected = {
            (binding.product_id, location)
            for binding in self.env["channel.product.binding"].search(
                [("backend_id", "=", self.backend.id)]
            )
            for location in self.backend.stock_location_mapping_ids
            if binding.product_id.company_id
            in (self.env.company, self.env["res.company"])
        }
        levels = self._levels()
        self.assertEqual(
            {(level.product_id, level.stock_location_id) for level in levels}, expected
        )
        self.assertEqual(len(expected), 6)
        self.assertEqual(self._marks().level_id, levels, "one mark each")
        self.assertEqual(len(self._marks()), len(levels))

    def test_marks_equal_orm_marks(self):
        self.backend._sync_stock_levels()
        levels = self._levels()
        Mark = self.env["channel.stock.mark"]
        Mark.search([("level_id", "in", levels.ids)]).unlink()
        first = self.products[0]
        self.env.flush_all()
        newly = queries.mark_product_levels(self.env.cr, first.ids)
        first_levels = levels.filtered(lambda lv: lv.product_id == first)
        self.assertEqual(
            sorted(newly), sorted((self.backend.id, first.id) for _lv in first_levels)
        )
        self.assertEqual(queries.mark_product_levels(self.env.cr, first.ids), [])
        queries.insert_marks(self.env.cr, levels.ids)
        self.env.invalidate_all()
        newest = queries.newest_marks(self.env.cr, levels.ids)
        orm_newest = {
            level.id: max(level.mark_ids.ids) for level in levels if level.mark_ids
        }
        self.assertEqual(newest, orm_newest)
        self.assertEqual(len(first_levels.mark_ids), 3 * len(first_levels))
        # Compact the backends not exporting: one (the newest) mark per level.
        queries.compact_marks(self.env.cr, [])
        self.env.invalidate_all()
        self.assertEqual(
            {level.id: level.mark_ids.ids for level in levels},
            {level_id: [mark] for level_id, mark in orm_newest.items()},
        )
        # Delete what was read; a mark added since stays.
        queries.insert_marks(self.env.cr, first_levels[:1].ids)
        queries.delete_marks_read(self.env.cr, orm_newest)
        self.env.invalidate_all()
        self.assertEqual(self._marks().level_id, first_levels[:1])

    def test_free_quantities_equal_orm_quants(self):
        quant = self.env["stock.quant"]
        quant._update_available_quantity(self.products[0], self.stock, 10)
        quant._update_available_quantity(self.products[0], self.shelf, 5)
        quant._update_available_quantity(self.products[1], self.shelf, 3)
        quant.create(
            {
                "product_id": self.products[1].id,
                "location_id": self.stock.id,
                "quantity": 4,
                "reserved_quantity": 1,
            }
        )
        self.backend._sync_stock_levels()
        levels = self._levels()
        self.env.flush_all()
        found = queries.free_quantities(self.env.cr, levels.ids)

        def orm_free(level):
            locations = self.env["stock.location"].search(
                [
                    ("id", "child_of", level.stock_location_id.location_ids.ids),
                    ("usage", "=", "internal"),
                ]
            )
            quants = quant.search(
                [
                    ("product_id", "=", level.product_id.id),
                    ("location_id", "in", locations.ids),
                ]
            )
            return sum(q.quantity - q.reserved_quantity for q in quants)

        expected = {
            level.id: orm_free(level)
            for level in levels
            if level.stock_location_id.location_ids
        }
        self.assertEqual(found, expected)
        by_product = {
            level.product_id: found[level.id]
            for level in levels
            if level.stock_location_id == self.main
        }
        self.assertEqual(by_product[self.products[0]], 15)
        self.assertEqual(by_product[self.products[1]], 6)

    def test_recently_delivered_equal_orm_moves(self):
        product, other, _idle = self.products
        self.env["stock.quant"]._update_available_quantity(product, self.stock, 5)
        self.env["stock.quant"]._update_available_quantity(other, self.stock, 5)
        now = fields.Datetime.now()
        for moved, when in ((product, now), (other, now - timedelta(days=30))):
            self._deliver_to_customer(moved, self.stock).date = when
        self.env.flush_all()
        days = 7
        found = queries.recently_delivered_product_ids(
            self.env.cr, self.products.ids, days
        )
        expected = set(
            self.env["stock.move"]
            .search(
                [
                    ("product_id", "in", self.products.ids),
                    ("state", "=", "done"),
                    ("location_dest_id.usage", "=", "customer"),
                    ("date", ">=", fields.Datetime.now() - timedelta(days=days)),
                ]
            )
            .product_id.ids
        )
        self.assertEqual(found, expected)
        self.assertEqual(found, {product.id})
