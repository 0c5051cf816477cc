import json

from odoo.exceptions import AccessError, UserError
from odoo.tests import freeze_time, tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from ..adapters.signatures import sign_base64
from .common import ChannelCommon, load_migration


@tagged("post_install", "-at_install")
class TestChannelException(ChannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._prepare_backend("shopify")
        cls.Exception = cls.env["channel.exception"]

    def _record_missing_sku(self, sku="TS-RED-M", **kwargs):
        return self.Exception._record(
            "missing_mapping",
            f"SKU {sku} is not on any product of company {self.env.company.name}",
            backend=self.backend,
            key=f"sku:{sku}",
            **kwargs,
        )

    def test_recurring_problem_updates_one_record(self):
        with freeze_time("2026-11-01 08:00:00"):
            first = self._record_missing_sku()
        with freeze_time("2026-11-01 09:30:00"):
            again = self._record_missing_sku(detail="second import attempt")
        self.assertEqual(first, again)
        self.assertEqual(first.occurrences, 2)
        self.assertEqual(str(first.first_seen), "2026-11-01 08:00:00")
        self.assertEqual(str(first.last_seen), "2026-11-01 09:30:00")
        self.assertFalse(first.technical_detail, "the first occurrence's")
        self.assertEqual(first.occurrence_ids.technical_detail, "second import attempt")
        self.assertEqual(first.severity, "error")
        self.assertEqual(first.company_id, self.backend.company_id)

    def test_migration_turns_counters_into_occurrences(self):
        with freeze_time("2026-11-01 08:00:00"):
            counted = self._record_missing_sku()
            single = self._record_missing_sku("TS-BLUE-L")
        self.env.flush_all()
        cr = self.env.cr
        cr.execute(
            "ALTER TABLE channel_exception"
            " ADD COLUMN occurrences integer, ADD COLUMN last_seen timestamp"
        )
        cr.execute(
            "UPDATE channel_exception SET last_seen = '2026-11-02 10:00:00',"
            " occurrences = CASE WHEN id = %s THEN 4 ELSE 1 END WHERE id IN %s",
            [counted.id, (counted.id, single.id)],
        )
        load_migration("19.0.1.3.0").migrate_occurrences(cr)
        self.env.invalidate_all()
        self.assertEqual(counted.occurrences, 4)
        self.assertEqual(str(counted.last_seen), "2026-11-02 10:00:00")
        self.assertEqual(single.occurrences, 1)
        cr.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = 'channel_exception'"
            " AND column_name IN ('occurrences', 'last_seen')"
        )
        self.assertEqual(cr.fetchall(), [])

    def test_other_key_or_resolved_problem_makes_a_new_record(self):
        first = self._record_missing_sku()
        other = self._record_missing_sku("TS-BLUE-L")
        self.assertNotEqual(first, other)
        first._mark_resolved()
        recurrence = self._record_missing_sku()
        self.assertNotEqual(recurrence, first)
        self.assertEqual(recurrence.occurrences, 1)

    def test_documents_are_linked(self):
        partner = self.env["res.partner"].create({"name": "Buyer"})
        exception = self._record_missing_sku(documents=[partner])
        self.assertEqual(exception.partner_id, partner)

    def test_ownership_rule_assigns_and_schedules_activity(self):
        Owner = self.env["channel.exception.owner"]
        Owner.create({"user_id": self.finance_user.id, "sla_hours": 48})
        Owner.create(
            {
                "exception_type": "missing_mapping",
                "backend_id": self.backend.id,
                "user_id": self.ops_user.id,
                "sla_hours": 4,
            }
        )
        with freeze_time("2026-11-01 08:00:00"):
            exception = self._record_missing_sku()
            api_error = self.Exception._record(
                "api_error", "Shopify answered 500", backend=self.backend
            )
        self.assertEqual(exception.user_id, self.ops_user, "most specific rule wins")
        self.assertEqual(str(exception.sla_deadline), "2026-11-01 12:00:00")
        activity = exception.activity_ids
        self.assertEqual(activity.user_id, self.ops_user)
        self.assertEqual(str(activity.date_deadline), "2026-11-01")
        self.assertEqual(api_error.user_id, self.finance_user, "catch-all rule")

    def test_sla_overdue_follows_the_clock(self):
        self.env["channel.exception.owner"].create(
            {"user_id": self.ops_user.id, "sla_hours": 4}
        )
        with freeze_time("2026-11-01 08:00:00"):
            exception = self._record_missing_sku()
        overdue_domain = [("is_overdue", "=", True), ("id", "=", exception.id)]
        with freeze_time("2026-11-01 11:59:00"):
            exception.invalidate_recordset(["is_overdue"])
            self.assertFalse(exception.is_overdue)
            self.assertFalse(self.Exception.search(overdue_domain))
        with freeze_time("2026-11-01 12:01:00"):
            exception.invalidate_recordset(["is_overdue"])
            self.assertTrue(exception.is_overdue)
            self.assertEqual(self.Exception.search(overdue_domain), exception)
            exception._mark_resolved()
            exception.invalidate_recordset(["is_overdue"])
            self.assertFalse(exception.is_overdue)

    def test_resolution_time_and_resolver(self):
        with freeze_time("2026-11-01 08:00:00"):
            exception = self._record_missing_sku()
        with freeze_time("2026-11-01 11:30:00"):
            exception.with_user(self.ops_user)._mark_resolved()
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(exception.resolved_by_id, self.ops_user)
        self.assertAlmostEqual(exception.resolution_hours, 3.5)

    def test_ignore_keeps_the_reason(self):
        exception = self._record_missing_sku()
        action = exception.action_open_ignore_wizard()
        wizard = (
            self.env[action["res_model"]]
            .with_context(**action["context"])
            .create({"reason": "Discontinued product, sold out on the channel"})
        )
        wizard.action_ignore()
        self.assertEqual(exception.state, "ignored")
        self.assertIn("Discontinued", exception.ignore_reason)

    def test_retry_without_target_is_refused(self):
        exception = self._record_missing_sku()
        self.assertFalse(exception.can_retry)
        with self.assertRaises(UserError):
            exception.action_retry()

    def test_retry_of_a_failed_event_resolves_on_success(self):
        """A failed event becomes processable: Retry resolves."""
        self.backend.webhook_secret = "secret"
        body = json.dumps(
            {
                "shop_id": 1,
                "shop_domain": "demo-shop.myshopify.com",
                "customer": {"id": 1},
                "data_request": {"id": 1},
            }
        ).encode()
        headers = {
            "X-Shopify-Topic": "customers/data_request",
            "X-Shopify-Webhook-Id": "wh-1",
            "X-Shopify-Event-Id": "evt-1",
            "X-Shopify-Hmac-Sha256": sign_base64("secret", body),
        }
        Event = self.env["channel.event"]
        with trap_jobs():
            Event._receive_delivery(self.backend, headers, body)
        event = Event.search([("backend_id", "=", self.backend.id)])
        # Processing failed once (the handler raised): an exception is recorded.
        event.write({"state": "failed"})
        exception = self.Exception._record(
            "validation", "could not apply", backend=self.backend, retry_target=event
        )
        self.assertTrue(exception.can_retry)
        exception.with_user(self.ops_user).action_retry()
        self.assertEqual(event.state, "done")
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(exception.resolved_by_id, self.ops_user)

    def test_access_rights_by_group(self):
        exception = self._record_missing_sku()
        for user in (self.ops_user, self.finance_user, self.manager_user):
            with self.subTest(user=user.login):
                self.assertTrue(exception.with_user(user).name)
                exception.with_user(user).action_assign_to_me()
                self.assertEqual(exception.user_id, user)
        with self.assertRaises(AccessError):
            exception.with_user(self.ops_user).unlink()
        with self.assertRaises(AccessError):
            self.env["channel.exception.owner"].with_user(self.ops_user).create(
                {"user_id": self.ops_user.id}
            )

    def test_other_company_exceptions_are_hidden(self):
        other_backend = self._prepare_backend(
            "generic", company_id=self.other_company.id
        )
        hidden = self.Exception._record(
            "api_error", "other company problem", backend=other_backend
        )
        visible = self._record_missing_sku()
        found = (
            self.Exception.with_user(self.ops_user)
            .with_context(allowed_company_ids=self.env.company.ids)
            .search([])
        )
        self.assertIn(visible, found)
        self.assertNotIn(hidden, found)
