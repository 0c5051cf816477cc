"""Security audit of the recent flows: every public method of the
connector refuses users without the channel groups; manager-only actions
refuse channel users server-side, not only in the view; payouts and their
lines are written by the connector only; every model holding a backend's
data (its access token included) is fenced by a company rule."""

import base64
import re
from datetime import date

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, tagged
from odoo.tests.common import JsonRpcException, new_test_user

from .common import ChannelCommon

ADDON = "odoo.addons.channel_connector"
MANAGER_GROUP = "channel_connector.group_channel_manager"
# Methods that only return a window to open: the window's model rights decide
# what the user then sees; nothing is read or written by the call itself.
OPENS_A_WINDOW = frozenset(
    {
        "action_open_events",
        "action_open_exceptions",
        "action_open_ignore_wizard",
        "action_open_map_product",
        "action_open_payouts",
        "action_print_integration_map",
    }
)
WINDOWS = ("ir.actions.act_window", "ir.actions.report")
# Buttons the backend form shows to channel managers only.
MANAGER_BACKEND_ACTIONS = (
    "action_test_connection",
    "action_sync_webhooks",
    "action_reconcile_orders",
    "action_match_catalogue",
    "action_start_backfill",
    "action_cancel_backfill",
    "action_export_stock_full",
    "action_check_stock_differences",
    "action_disable",
    "action_reset_to_draft",
    "action_publish_catalogue",
    "action_publish_catalogue_full",
    "action_prepare_payout_accounts",
)
MANAGER_HANDOFF_ACTIONS = ("action_handoff_send_ready", "action_handoff_pull_shipments")


def own_public_methods(model):
    """Public methods the connector adds to `model` (overrides of methods its
    parents define are left out: the parents' rights apply)."""
    own, inherited = set(), set()
    for klass in type(model).__mro__[1:]:
        names = {
            name
            for name, value in vars(klass).items()
            if not name.startswith("_") and callable(value)
        }
        if klass.__module__.startswith(ADDON):
            own |= names
        else:
            inherited |= names
    return sorted(own - inherited)


class AuditCommon(ChannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._prepare_backend("shopify", state="connected")
        cls.plain_user = new_test_user(
            cls.env, login="audit_plain", groups="base.group_user"
        )
        cls.portal_user = new_test_user(
            cls.env, login="audit_portal", groups="base.group_portal"
        )

    @classmethod
    def _prepare_payout(cls, backend=None, **values):
        return cls.env["channel.payout"].create(
            {
                "backend_id": (backend or cls.backend).id,
                "processor": "stripe",
                "external_ref": f"po_{len(cls.env['channel.payout'].search([]))}",
                "status": "paid",
                "currency_id": cls.env.company.currency_id.id,
                "amount": 100.0,
                **values,
            }
        )

    def _prepare_delivery(self):
        warehouse = self.env["stock.warehouse"].search(
            [("company_id", "=", self.env.company.id)], limit=1
        )
        return self.env["stock.picking"].create(
            {
                "picking_type_id": warehouse.out_type_id.id,
                "location_id": warehouse.lot_stock_id.id,
                "location_dest_id": self.env.ref("stock.stock_location_customers").id,
            }
        )

    def _jobs(self):
        return self.env["queue.job"].search_count([])


@tagged("post_install", "-at_install")
class TestPublicMethodsRefuseOutsiders(AuditCommon):
    """A plain internal user or a portal user calls, over RPC, any public
    method of the connector: every one refuses."""

    def _fixtures(self):
        backend = self.backend
        event = self.env["channel.event"].create(
            {
                "backend_id": backend.id,
                "topic": "orders/create",
                "flow": "orders",
                "dedupe_key": "audit-1",
                "raw_body": base64.b64encode(b'{"id": 1}'),
                "state": "failed",
            }
        )
        exception = self.env["channel.exception"]._record(
            "validation", "could not apply", backend=backend, retry_target=event
        )
        product = self.env["product.product"].create(
            {"name": "Audit mug", "default_code": "AUDIT-MUG"}
        )
        picking = self._prepare_delivery()
        return {
            "channel.backend": backend,
            "channel.event": event,
            "channel.exception": exception,
            "channel.backfill": self.env["channel.backfill"].create(
                {"backend_id": backend.id, "since": "2026-01-01 00:00:00"}
            ),
            "channel.payment.processor": self.env["channel.payment.processor"].create(
                {"name": "Stripe", "backend_id": backend.id}
            ),
            "channel.payout": self._prepare_payout(),
            "product.template": product.product_tmpl_id,
            "stock.picking": picking,
            "channel.event.edit": self.env["channel.event.edit"].create(
                {"event_id": event.id, "payload_text": '{"id": 2}'}
            ),
            "channel.exception.ignore": self.env["channel.exception.ignore"].create(
                {"exception_ids": [Command.set(exception.ids)], "reason": "audit"}
            ),
            "channel.exception.map.product": self.env[
                "channel.exception.map.product"
            ].create({"exception_id": exception.id, "product_id": product.id}),
        }

    def _assert_window_or_refused(self, call):
        try:
            with self.env.cr.savepoint():
                action = call()
        except AccessError:
            return
        self.assertIn(action["type"], WINDOWS)

    def test_every_public_method_refuses_users_without_channel_groups(self):
        fixtures = self._fixtures()
        checked = 0
        for model_name in sorted(self.env.registry.models):
            methods = own_public_methods(self.env[model_name])
            if not methods:
                continue
            self.assertIn(
                model_name, fixtures, f"add a {model_name} record to the fixtures"
            )
            record = fixtures[model_name]
            for user in (self.plain_user, self.portal_user):
                for method in methods:
                    with self.subTest(model=model_name, method=method, user=user.login):
                        checked += 1
                        call = getattr(record.with_user(user), method)
                        if method in OPENS_A_WINDOW:
                            self._assert_window_or_refused(call)
                            continue
                        jobs = self._jobs()
                        with self.assertRaises(AccessError), self.env.cr.savepoint():
                            call()
                        self.assertEqual(self._jobs(), jobs, "no job enqueued")
        self.assertGreater(checked, 60, "the methods were found")


@tagged("post_install", "-at_install")
class TestManagerActionsRefuseChannelUsers(AuditCommon):
    """A channel user may read a backend, and its form hides the manager's
    buttons; called over RPC, each still refuses before doing anything."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.threepl = cls._prepare_backend(
            "threepl",
            state="connected",
            api_url="http://127.0.0.1:9/3pl",
            webhook_secret="audit",
        )

    def _assert_refused(self, backend, method, user):
        jobs = self._jobs()
        state = backend.state
        with self.assertRaises(AccessError), self.env.cr.savepoint():
            getattr(backend.with_user(user), method)()
        self.assertEqual(self._jobs(), jobs, "no job enqueued")
        self.assertEqual(backend.state, state)

    def test_channel_and_finance_users_cannot_run_manager_actions(self):
        for user in (self.ops_user, self.finance_user):
            for method in MANAGER_BACKEND_ACTIONS:
                with self.subTest(user=user.login, method=method):
                    self._assert_refused(self.backend, method, user)
            for method in MANAGER_HANDOFF_ACTIONS:
                with self.subTest(user=user.login, method=method):
                    self._assert_refused(self.threepl, method, user)

    def test_manager_of_another_company_cannot_run_them(self):
        manager = new_test_user(
            self.env,
            login="audit_manager_main",
            groups="base.group_user,channel_connector.group_channel_manager",
            company_id=self.env.company.id,
            company_ids=[Command.set(self.env.company.ids)],
        )
        theirs = self._prepare_backend(
            "shopify", state="connected", company_id=self.other_company.id
        )
        for method in MANAGER_BACKEND_ACTIONS:
            with self.subTest(method=method):
                self._assert_refused(theirs, method, manager)

    def test_manager_still_runs_them(self):
        jobs = self._jobs()
        self.backend.with_user(self.manager_user).action_export_stock_full()
        self.backend.with_user(self.manager_user).action_reconcile_orders()
        self.assertEqual(self._jobs(), jobs + 2)
        self.backend.with_user(self.manager_user).action_disable()
        self.assertEqual(self.backend.state, "disabled")


@tagged("post_install", "-at_install")
class TestPayoutsWrittenByTheConnectorOnly(AuditCommon):
    """Payouts and their lines are the import's: nobody writes their
    amounts, entries or matches, since the reconciliation actions act on
    them as the system."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.payout = cls._prepare_payout()
        cls.line = cls.env["channel.payout.line"].create(
            {
                "payout_id": cls.payout.id,
                "external_ref": "txn_1",
                "kind": "charge",
                "amount": 100.0,
                "net": 100.0,
            }
        )
        cls.invoice = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": cls.env.company.partner_id.id,
                "invoice_date": date(2026, 11, 1),
                "invoice_line_ids": [
                    Command.create({"name": "Mug", "quantity": 1, "price_unit": 100})
                ],
            }
        )

    def test_finance_and_managers_cannot_write_or_create_payouts(self):
        receivable = self.invoice.line_ids[:1]
        forged = {
            self.payout: {"amount": 1.0, "move_id": self.invoice.id},
            self.line: {"move_line_id": receivable.id, "match_state": "matched"},
        }
        for user in (self.finance_user, self.manager_user):
            for record, values in forged.items():
                for name, value in values.items():
                    with (
                        self.subTest(user=user.login, model=record._name, field=name),
                        self.assertRaises(AccessError),
                    ):
                        record.with_user(user).write({name: value})
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.env["channel.payout.line"].with_user(user).create(
                    {
                        "payout_id": self.payout.id,
                        "external_ref": f"txn_forged_{user.login}",
                        "kind": "charge",
                        "move_line_id": receivable.id,
                        "match_state": "matched",
                    }
                )
        self.assertEqual(self.payout.amount, 100.0)
        self.assertFalse(self.payout.move_id or self.line.move_line_id)

    def test_a_booked_payout_is_not_deleted(self):
        booked = self._prepare_payout(move_id=self.invoice.id)
        with self.assertRaises(AccessError):
            booked.with_user(self.finance_user).unlink()
        with self.assertRaisesRegex(UserError, "are booked"):
            booked.with_user(self.manager_user).unlink()
        self.assertTrue(booked.exists())
        self.payout.with_user(self.manager_user).unlink()
        self.assertFalse(self.payout.exists(), "not booked: may go")

    def test_finance_still_runs_the_payout_actions(self):
        self.payout.with_user(self.finance_user).action_retry_matching()
        self.assertEqual(self.line.match_state, "unmatched", "no payment found")
        with self.assertRaises(AccessError):
            self.payout.with_user(self.ops_user).action_retry_matching()


class TestPaymentChannelFieldsConnectorOnly(AuditCommon):
    """A payment's channel key and references decide whether a capture is
    paid already and which payout line it settles: an accountant edits the
    payment, never those."""

    FORGED = {
        "channel_transaction_key": "1:#1001:gid://shopify/OrderTransaction/1",
        "channel_transaction_ref": "gid://shopify/OrderTransaction/1",
        "channel_processor_ref": "ch_forged",
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.accountant = new_test_user(
            cls.env,
            login="audit_accountant",
            groups="base.group_user,account.group_account_invoice",
        )
        cls.journal = cls.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", cls.env.company.id)], limit=1
        )
        cls.payment = cls.env["account.payment"].create(
            {
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": cls.env.company.partner_id.id,
                "amount": 10.0,
                "journal_id": cls.journal.id,
            }
        )

    def test_accountant_neither_writes_nor_creates_channel_references(self):
        payment = self.payment.with_user(self.accountant)
        for name, value in self.FORGED.items():
            with self.subTest(write=name), self.assertRaises(AccessError):
                payment.write({name: value})
            with self.subTest(create=name), self.assertRaises(AccessError):
                payment.create(
                    {
                        "payment_type": "inbound",
                        "partner_type": "customer",
                        "amount": 1.0,
                        "journal_id": self.journal.id,
                        name: value,
                    }
                )
        self.assertFalse(
            self.env["account.payment"].search(
                [("channel_processor_ref", "=", "ch_forged")]
            )
        )
        payment.write({"memo": "checked by hand"})
        self.assertEqual(self.payment.memo, "checked by hand")


@tagged("post_install", "-at_install")
class TestPayoutLineForgedOverRpc(HttpCase, AuditCommon):
    def test_finance_user_cannot_point_a_line_at_a_journal_item(self):
        payout = self._prepare_payout()
        line = self.env["channel.payout.line"].create(
            {"payout_id": payout.id, "external_ref": "txn_rpc", "kind": "charge"}
        )
        item = self.env["account.move.line"].search([], limit=1)
        self.authenticate(self.finance_user.login, self.finance_user.login)
        with self.assertRaises(JsonRpcException) as caught:
            self.make_jsonrpc_request(
                "/web/dataset/call_kw/channel.payout.line/web_save",
                {
                    "model": "channel.payout.line",
                    "method": "web_save",
                    "args": [line.ids, {"move_line_id": item.id}],
                    "kwargs": {"specification": {}},
                },
            )
        self.assertEqual(caught.exception.args[0], "odoo.exceptions.AccessError")
        line.invalidate_recordset()
        self.assertFalse(line.move_line_id)


@tagged("post_install", "-at_install")
class TestBackendDataFencedByCompany(AuditCommon):
    def test_every_model_of_a_backend_has_a_company_rule(self):
        models = self.env["ir.model"].search([("model", "=like", "channel.%")])
        for model in models:
            Model = self.env[model.model]
            if Model._abstract or Model._transient or "backend_id" not in Model:
                continue
            with self.subTest(model=model.model):
                rules = self.env["ir.rule"].search(
                    [("model_id", "=", model.id), ("global", "=", True)]
                )
                self.assertTrue(
                    any("company_ids" in rule.domain_force for rule in rules)
                )

    def test_manager_reads_no_access_token_of_another_company(self):
        manager = new_test_user(
            self.env,
            login="audit_token_manager",
            groups="base.group_user,channel_connector.group_channel_manager",
            company_id=self.env.company.id,
            company_ids=[Command.set(self.env.company.ids)],
        )
        theirs = self._prepare_backend("generic", company_id=self.other_company.id)
        Token = self.env["channel.access.token"]
        mine = Token.create({"backend_id": self.backend.id, "token": "Atza|mine"})
        other = Token.create({"backend_id": theirs.id, "token": "Atza|theirs"})
        found = Token.with_user(manager).search([])
        self.assertIn(mine, found)
        self.assertNotIn(other, found)
        with self.assertRaises(AccessError):
            other.with_user(manager).read(["token"])


@tagged("post_install", "-at_install")
class TestCredentialsManagerOnly(AuditCommon):
    """Every credential of a backend or a processor account (and where its
    credentials are sent) is readable by channel managers only."""

    CREDENTIAL = re.compile(r"secret|token|password|_key$|client_id")

    def test_every_credential_field_is_manager_only(self):
        found = []
        for model_name in ("channel.backend", "channel.payment.processor"):
            for name, field in self.env[model_name]._fields.items():
                if field.type != "char" or not self.CREDENTIAL.search(name):
                    continue
                found.append(name)
                with self.subTest(model=model_name, field=name):
                    self.assertEqual(field.groups, MANAGER_GROUP)
                    self.assertFalse(field.copy, "a copy gets no credential")
        self.assertIn("amazon_refresh_token", found)
        self.assertIn("stripe_secret_key", found)
        # Where the credentials are sent is the managers' to see and change.
        for model_name, name in (
            ("channel.backend", "amazon_lwa_url"),
            ("channel.payment.processor", "api_url"),
        ):
            with self.subTest(model=model_name, field=name):
                self.assertEqual(
                    self.env[model_name]._fields[name].groups, MANAGER_GROUP
                )


@tagged("post_install", "-at_install")
class TestChannelFulfilmentRefIsLiteral(AuditCommon):
    """A channel's fulfilment id is compared as text: `%` or `_` in it match
    themselves, never another fulfilment's ids."""

    def test_wildcards_in_a_channel_ref_match_nothing_else(self):
        picking = self._prepare_delivery()
        binding = self.env["channel.order.binding"].create(
            {
                "backend_id": self.backend.id,
                "company_id": self.env.company.id,
                "external_ref": "9001",
            }
        )
        Fulfilment = self.env["channel.fulfilment"]
        ours = Fulfilment.create(
            {
                "backend_id": self.backend.id,
                "company_id": self.env.company.id,
                "order_binding_id": binding.id,
                "picking_id": picking.id,
                "external_ref": "12,345,6_7",
                "state": "done",
            }
        )
        for ref in ("12", "345", "6_7"):
            with self.subTest(ref=ref):
                self.assertEqual(Fulfilment._find_channel_ref(self.backend, ref), ours)
        for ref in ("%", "1%", "_2", "34_", "6%", "607"):
            with self.subTest(ref=ref):
                self.assertFalse(Fulfilment._find_channel_ref(self.backend, ref))


@tagged("post_install", "-at_install")
class TestNoAccessForPortalOrPublic(AuditCommon):
    def test_channel_models_grant_nothing_to_everyone_portal_or_public(self):
        outsiders = self.env.ref("base.group_portal") | self.env.ref(
            "base.group_public"
        )
        accesses = self.env["ir.model.access"].search(
            [("model_id.model", "=like", "channel.%")]
        )
        self.assertTrue(accesses)
        for access in accesses:
            with self.subTest(access=access.name):
                self.assertTrue(access.group_id, "no access for every user")
                self.assertNotIn(access.group_id, outsiders)
