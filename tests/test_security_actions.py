"""Rights enforced server-side: what each group may write on events and
exceptions, retry targets, product mapping, risk holds, routes, digests,
order events of backends that are not live, and the purge's audit trail."""

import base64
import dataclasses
from datetime import datetime, timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import freeze_time, tagged
from odoo.tests.common import new_test_user

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import ChannelCommon
from .test_order_import import OrderImportCommon

NOW = datetime(2026, 11, 30, 3, 0, 0)


class RightsCommon(ChannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._prepare_backend("shopify")
        cls.other_backend = cls._prepare_backend(
            "woocommerce", company_id=cls.other_company.id
        )
        cls.plain_user = new_test_user(
            cls.env, login="channel_plain", groups="base.group_user"
        )
        cls.portal_user = new_test_user(
            cls.env, login="channel_portal", groups="base.group_portal"
        )
        cls.Event = cls.env["channel.event"]
        cls.Exception = cls.env["channel.exception"]

    def _event(self, backend=None, state="failed", **values):
        backend = backend or self.backend
        return self.Event.create(
            {
                "backend_id": backend.id,
                "topic": "app/uninstalled",
                "flow": "app",
                "dedupe_key": f"key-{len(self.Event.search([]))}",
                "raw_body": base64.b64encode(b'{"id": 1}'),
                "state": state,
                **values,
            }
        )

    def _exception(self, event):
        return self.Exception._record(
            "validation",
            "could not apply",
            backend=event.backend_id,
            retry_target=event,
        )


@tagged("post_install", "-at_install")
class TestEventAndExceptionWrites(RightsCommon):
    def test_channel_users_cannot_write_events(self):
        event = self._event()
        forged = base64.b64encode(b'{"id": 2}')
        for user in (self.ops_user, self.finance_user):
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    event.with_user(user).write({"raw_body": forged})
                with self.assertRaises(AccessError):
                    event.with_user(user).write({"corrected_payload": {"id": 2}})
                with self.assertRaises(AccessError):
                    event.with_user(user).web_save({"state": "queued"}, {})
        self.assertEqual(event.state, "failed")
        self.assertFalse(event.corrected_payload)

    def test_manager_changes_a_payload_only_through_the_audited_correction(self):
        event = self._event()
        with self.assertRaises(AccessError):
            event.with_user(self.manager_user).write({"corrected_payload": {"id": 2}})
        with self.assertRaises(AccessError):
            self.env["channel.event.correction"].with_user(self.manager_user).create(
                {"event_id": event.id, "corrected_payload": {"id": 2}}
            )
        event.with_user(self.manager_user)._apply_correction({"id": 2})
        self.assertEqual(event.corrected_payload, {"id": 2})
        self.assertEqual(event.correction_ids.user_id, self.manager_user)
        with self.assertRaises(AccessError):
            event.with_user(self.ops_user)._apply_correction({"id": 3})

    def test_replay_needs_the_channel_group(self):
        event = self._event()
        for user in (self.plain_user, self.portal_user):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                event.with_user(user).action_replay()
        event.with_user(self.ops_user).action_replay()
        self.assertEqual(event.state, "queued")

    def test_ops_user_writes_only_the_triage_fields_of_an_exception(self):
        target = self._event()
        exception = self._exception(target)
        as_ops = exception.with_user(self.ops_user)
        forged = {
            "retry_model": "channel.event",
            "retry_res_id": self._event(self.other_backend).id,
            "company_id": self.other_company.id,
            "fingerprint": "forged",
            "state": "resolved",
            "name": "Nothing to see",
        }
        for field_name, value in forged.items():
            with self.subTest(field=field_name), self.assertRaises(AccessError):
                as_ops.web_save({field_name: value}, {})
        with self.assertRaises(AccessError):
            as_ops.write({"sla_deadline": "2030-01-01 00:00:00"})
        as_ops.web_save({"user_id": self.finance_user.id, "severity": "critical"}, {})
        self.assertEqual(exception.user_id, self.finance_user)
        exception.with_user(self.manager_user).sla_deadline = "2030-01-01 00:00:00"
        self.assertEqual(exception.retry_res_id, target.id)
        self.assertEqual(exception.state, "open")

    def test_workflow_actions_still_work_for_ops_users(self):
        exception = self._exception(self._event())
        as_ops = exception.with_user(self.ops_user)
        as_ops.action_start()
        self.assertEqual(
            (exception.state, exception.user_id), ("in_progress", self.ops_user)
        )
        action = as_ops.action_open_ignore_wizard()
        wizard = (
            self.env[action["res_model"]]
            .with_user(self.ops_user)
            .with_context(**action["context"])
            .create({"reason": "Test shop"})
        )
        wizard.action_ignore()
        self.assertEqual(
            (exception.state, exception.ignore_reason), ("ignored", "Test shop")
        )
        as_ops.action_reopen()
        self.assertEqual(exception.state, "open")
        for action_name in ("action_start", "action_reopen", "action_retry"):
            with self.subTest(action=action_name), self.assertRaises(AccessError):
                getattr(exception.with_user(self.plain_user), action_name)()

    def test_payout_actions_refuse_a_backend_of_another_company(self):
        """Finance and managers act on their companies' backends only: the
        actions run in sudo(), so they check the record rules first."""
        for group, action in (
            ("group_channel_finance", "action_import_payouts"),
            ("group_channel_manager", "action_prepare_payout_accounts"),
        ):
            user = new_test_user(
                self.env,
                login=f"one_company_{group}",
                groups=f"base.group_user,channel_connector.{group}",
                company_id=self.env.company.id,
                company_ids=[Command.set(self.env.company.ids)],
            )
            with self.subTest(action=action), self.assertRaises(AccessError):
                getattr(self.other_backend.with_user(user), action)()
            with trap_jobs():
                getattr(self.backend.with_user(user), action)()

    def test_retry_refuses_a_target_of_another_backend(self):
        exception = self._exception(self._event())
        foreign = self._event(self.other_backend)
        exception.sudo().write({"retry_res_id": foreign.id})
        with self.assertRaises(AccessError):
            exception.with_user(self.ops_user).action_retry()
        self.assertEqual(foreign.state, "failed", "the foreign event was not run")
        exception.sudo().write(
            {"retry_model": "channel.backend", "retry_res_id": self.other_backend.id}
        )
        with self.assertRaises(AccessError):
            exception.with_user(self.ops_user).action_retry()

    def test_retry_refuses_an_exception_of_another_company_than_its_backend(self):
        event = self._event()
        exception = self._exception(event)
        exception.sudo().company_id = self.other_company
        with self.assertRaises(AccessError):
            exception.action_retry()
        self.assertEqual(event.state, "failed")


@tagged("post_install", "-at_install")
class TestRouteAndDigest(RightsCommon):
    def test_order_route_has_the_backend_company_and_its_rule(self):
        Route = self.env["channel.order.route"]
        mine = Route.create({"backend_id": self.backend.id, "criterion": "sku_owner"})
        theirs = Route.create(
            {"backend_id": self.other_backend.id, "criterion": "sku_owner"}
        )
        self.assertEqual(theirs.company_id, self.other_company)
        found = (
            Route.with_user(self.ops_user)
            .with_context(allowed_company_ids=self.env.company.ids)
            .search([])
        )
        self.assertIn(mine, found)
        self.assertNotIn(theirs, found)

    def test_digest_lists_only_the_companies_the_assignee_may_read(self):
        assignee = new_test_user(
            self.env,
            login="channel_digest",
            email="digest@example.com",
            groups="base.group_user,channel_connector.group_channel_user",
            company_id=self.env.company.id,
            company_ids=[Command.set(self.env.company.ids)],
        )
        mine = self._exception(self._event())
        theirs = self._exception(self._event(self.other_backend))
        mine.user_id = theirs.user_id = assignee
        mine.name = "Problem of my company"
        theirs.sudo().name = "Problem of the other company"
        self.Exception._cron_send_digest()
        mails = self.env["mail.mail"].search(
            [("model", "=", "res.users"), ("res_id", "=", assignee.id)]
        )
        self.assertEqual(len(mails), 1)
        self.assertIn("Problem of my company", mails.body_html)
        self.assertNotIn("Problem of the other company", mails.body_html)


@tagged("post_install", "-at_install")
class TestPurgeKeepsAudit(RightsCommon):
    def _old(self, state, days_old=40, **values):
        return self._event(
            state=state, received_at=NOW - timedelta(days=days_old), **values
        )

    def _purge(self):
        with freeze_time(NOW):
            return self.Event._cron_purge()

    def test_corrected_event_is_kept_while_its_correction_is_retained(self):
        corrected = self._old("done")
        corrected._apply_correction({"id": 7})
        correction = corrected.correction_ids
        self.env.cr.execute(
            "UPDATE channel_event_correction SET create_date = %s WHERE id = %s",
            [NOW - timedelta(days=40), correction.id],
        )
        self._purge()
        self.assertTrue(correction.exists(), "the audit trail stays")
        self.env.cr.execute(
            "UPDATE channel_event_correction SET create_date = %s WHERE id = %s",
            [NOW - timedelta(days=400), correction.id],
        )
        self._purge()
        self.assertFalse(corrected.exists(), "gone once past the audit retention")

    def test_received_events_no_flow_handles_are_purged(self):
        unhandled = self._old("received", topic="carts/create", flow=False)
        other_flow = self._old("received", topic="themes/update", flow="themes")
        self.assertEqual(self._purge(), 2)
        self.assertFalse((unhandled | other_flow).exists())

    def test_received_events_a_flow_handles_are_kept_and_reported(self):
        waiting = self._old("received", topic="orders/create", flow="orders")
        recent = self._old("received", 5, topic="orders/create", flow="orders")
        self.assertEqual(self._purge(), 0)
        self.assertTrue(waiting.exists() and recent.exists())
        exception = self.Exception.search([("backend_id", "=", self.backend.id)])
        self.assertEqual(len(exception), 1)
        self.assertIn("1 events", exception.name)


@tagged("post_install", "-at_install")
class TestOrderRights(OrderImportCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clerk = new_test_user(
            cls.env,
            login="channel_clerk",
            groups="base.group_user,sales_team.group_sale_salesman_all_leads,"
            "stock.group_stock_user,channel_connector.group_channel_user",
        )
        cls.shipping_manager = new_test_user(
            cls.env,
            login="channel_shipping_manager",
            groups="base.group_user,stock.group_stock_user,"
            "channel_connector.group_channel_manager",
        )
        cls.Exception = cls.env["channel.exception"]

    def _risky_order(self):
        order = self.backend._get_adapter(priority="orders").parse_order(self._order())
        risky = dataclasses.replace(order, is_high_risk=True, risk_reasons=("VPN",))
        binding, _outcome = self.env["channel.order.binding"]._import_order(
            self.backend, risky
        )
        return binding.sale_order_id

    def test_only_managers_release_a_risk_hold(self):
        sale_order = self._risky_order()
        picking = sale_order.picking_ids
        self.assertTrue(picking.channel_risk_hold)
        with self.assertRaises(AccessError):
            picking.with_user(self.clerk).write({"channel_risk_hold": False})
        with self.assertRaises(AccessError):
            sale_order.with_user(self.clerk).write({"channel_risk_hold": False})
        with self.assertRaises(AccessError):
            picking.with_user(self.clerk).action_channel_release_hold()
        self.assertTrue(picking.channel_risk_hold and sale_order.channel_risk_hold)
        picking.with_user(self.shipping_manager).action_channel_release_hold()
        self.assertFalse(picking.channel_risk_hold)

    def test_confirming_a_held_quotation_still_holds_its_delivery(self):
        self.backend.order_confirm = False
        sale_order = self._risky_order()
        sale_order.with_user(self.clerk).action_confirm()
        self.assertTrue(sale_order.picking_ids.channel_risk_hold)

    def _deliver_waiting(self):
        event = self._deliver(self._order())
        self.assertEqual(event.state, "received")
        self.assertFalse(self._sale_order(1001), "not imported")
        return event

    def test_order_of_a_draft_backend_waits(self):
        self.backend.state = "draft"
        event = self._deliver_waiting()
        self.assertIn("is not connected", event.error)
        self.backend.state = "connected"
        with trap_jobs() as trap:
            event.action_replay()
            trap.perform_enqueued_jobs()
            trap.perform_enqueued_jobs()
        self.assertEqual(event.state, "done")
        self.assertTrue(self._sale_order(1001), "imported once connected")

    def test_order_of_a_backend_not_importing_orders_waits(self):
        self.backend.import_orders = False
        event = self._deliver_waiting()
        self.assertIn("Order import is switched off", event.error)

    def test_map_product_only_to_a_product_of_the_company_the_user_may_write(self):
        exception = self.Exception._record(
            "missing_mapping",
            "Unknown SKU NEW-SKU",
            backend=self.backend,
            key="sku:NEW-SKU",
            sku="NEW-SKU",
            variant_ref="777",
        )
        theirs = self._product(
            "Their mug", "THEIR-MUG", company_id=self.other_company.id
        )
        Wizard = self.env["channel.exception.map.product"]

        def run(user, product, mode):
            wizard = Wizard.with_user(user).create(
                {"exception_id": exception.id, "product_id": product.id, "mode": mode}
            )
            return wizard.action_map_and_retry

        with self.assertRaises(AccessError):
            run(self.manager_user, theirs, "bind")()
        self.assertEqual(theirs.default_code, "THEIR-MUG")
        with self.assertRaises(AccessError):
            run(self.ops_user, self.blue_l, "reference")()
        self.assertEqual(self.blue_l.default_code, "TS-BLUE-L")
        self.assertFalse(
            self.env["channel.product.binding"].search([("external_ref", "=", "777")])
        )
        # A channel user binds the variant to a product of the company.
        with self.assertRaisesRegex(UserError, "nothing to retry"):
            run(self.ops_user, self.blue_l, "bind")()
        binding = self.env["channel.product.binding"].search(
            [("external_ref", "=", "777")]
        )
        self.assertEqual(binding.product_id, self.blue_l)
