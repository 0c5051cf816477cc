from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import ChannelCommon

SECRET_FIELDS = (
    "webhook_secret",
    "shopify_access_token",
    "woocommerce_consumer_key",
    "woocommerce_consumer_secret",
)


@tagged("post_install", "-at_install")
class TestSecurity(ChannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = cls._prepare_backend("shopify")
        cls.other_backend = cls._prepare_backend(
            "woocommerce", company_id=cls.other_company.id
        )

    def test_ops_user_reads_backend_but_not_secrets(self):
        backend = self.backend.with_user(self.ops_user)
        self.assertEqual(backend.name, "Test shopify")
        for field_name in SECRET_FIELDS:
            with self.subTest(field=field_name), self.assertRaises(AccessError):
                backend.read([field_name])

    def test_finance_user_cannot_read_secrets(self):
        backend = self.backend.with_user(self.finance_user)
        with self.assertRaises(AccessError):
            backend.read(["shopify_access_token"])

    def test_manager_reads_and_writes_secrets(self):
        backend = self.backend.with_user(self.manager_user)
        self.assertEqual(backend.shopify_access_token, "shpat_test_token")
        backend.webhook_secret = "rotated"
        self.assertEqual(self.backend.webhook_secret, "rotated")

    def test_ops_user_cannot_configure_backends(self):
        with self.assertRaises(AccessError):
            self.backend.with_user(self.ops_user).write({"name": "Renamed"})
        with self.assertRaises(AccessError):
            self.env["channel.backend"].with_user(self.ops_user).create(
                {"name": "Mine", "provider": "generic"}
            )

    def test_ops_user_sees_only_allowed_companies(self):
        Backend = self.env["channel.backend"].with_user(self.ops_user)
        main_only = Backend.with_context(allowed_company_ids=self.env.company.ids)
        self.assertIn(self.backend, main_only.search([]))
        self.assertNotIn(self.other_backend, main_only.search([]))
        with self.assertRaises(AccessError):
            main_only.browse(self.other_backend.id).read(["name"])
        both = Backend.with_context(
            allowed_company_ids=(self.env.company | self.other_company).ids
        )
        self.assertIn(self.other_backend, both.search([]))

    def test_secrets_never_reach_the_chatter(self):
        tracked = self.env["channel.backend"].with_context(
            tracking_disable=False, mail_notrack=False, mail_create_nolog=False
        )
        backend = tracked.create(
            {"name": "Tracked", "provider": "shopify", "webhook_secret": "whsec_one"}
        )
        self.env.cr.precommit.run()  # tracking messages are written at commit
        backend.write({"shopify_access_token": "shpat_new_secret", "name": "Renamed"})
        self.env.cr.precommit.run()
        backend.invalidate_recordset(["message_ids"])
        tracked_values = backend.message_ids.tracking_value_ids
        logged = " ".join(
            str(value)
            for value in (
                *backend.message_ids.mapped("body"),
                *tracked_values.mapped("old_value_char"),
                *tracked_values.mapped("new_value_char"),
            )
        )
        self.assertIn("Renamed", logged, "tracking works, so the check is meaningful")
        self.assertNotIn("shpat_new_secret", logged)
        self.assertNotIn("whsec_one", logged)

    def test_every_channel_model_has_access_rights_and_company_rule(self):
        models = self.env["ir.model"].search([("model", "=like", "channel.%")])
        self.assertTrue(models)
        for model in models.filtered(lambda m: not self.env[m.model]._abstract):
            with self.subTest(model=model.model):
                self.assertTrue(
                    self.env["ir.model.access"].search([("model_id", "=", model.id)])
                )
                if "company_id" in self.env[model.model]._fields:
                    rules = self.env["ir.rule"].search(
                        [("model_id", "=", model.id), ("global", "=", True)]
                    )
                    self.assertTrue(
                        any("company_ids" in rule.domain_force for rule in rules)
                    )
