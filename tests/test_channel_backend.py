from odoo.exceptions import UserError
from odoo.tests import tagged

from ..adapters import GenericAdapter, ShopifyAdapter, WooCommerceAdapter
from .common import ChannelCommon


@tagged("post_install", "-at_install")
class TestChannelBackend(ChannelCommon):
    def test_provider_defaults_api_version(self):
        shopify = self._prepare_backend("shopify")
        woocommerce = self._prepare_backend("woocommerce")
        generic = self._prepare_backend("generic")
        self.assertEqual(shopify.api_version, "2026-07")
        self.assertEqual(woocommerce.api_version, "wc/v3")
        self.assertFalse(generic.api_version)
        self.assertEqual(shopify.state, "draft")
        self.assertEqual(shopify.company_id, self.env.company)

    def test_explicit_api_version_is_kept(self):
        backend = self._prepare_backend("shopify", api_version="2026-04")
        self.assertEqual(backend.api_version, "2026-04")

    def test_capabilities_follow_provider(self):
        shopify = self._prepare_backend("shopify")
        generic = self._prepare_backend("generic")
        self.assertTrue(shopify.supports_stock_export)
        self.assertTrue(shopify.supports_webhooks)
        self.assertFalse(generic.supports_stock_export)
        self.assertTrue(generic.supports_order_import)
        generic.provider = "woocommerce"
        self.assertTrue(generic.supports_stock_export)

    def test_adapter_dispatch_per_provider(self):
        expected = {
            "shopify": ShopifyAdapter,
            "woocommerce": WooCommerceAdapter,
            "generic": GenericAdapter,
        }
        for provider, adapter_class in expected.items():
            with self.subTest(provider=provider):
                adapter = self._prepare_backend(provider)._get_adapter(
                    priority="orders"
                )
                self.assertIsInstance(adapter, adapter_class)

    def test_adapter_config_carries_provider_credentials(self):
        shopify_config = self._prepare_backend("shopify")._get_adapter_config()
        woo_config = self._prepare_backend("woocommerce")._get_adapter_config()
        self.assertEqual(shopify_config["access_token"], "shpat_test_token")
        self.assertEqual(shopify_config["shop_domain"], "demo-shop.myshopify.com")
        self.assertNotIn("access_token", woo_config)
        self.assertEqual(woo_config["consumer_key"], "ck_test")
        self.assertEqual(woo_config["consumer_secret"], "cs_test")

    def test_backend_without_provider_has_no_adapter(self):
        backend = self.env["channel.backend"].create({"name": "Unset"})
        self.assertEqual(backend.provider, "none")
        with self.assertRaises(UserError):
            backend._get_adapter(priority="orders")
        shopify = self._prepare_backend("shopify")
        with self.assertRaises(ValueError, msg="every adapter has a budget priority"):
            shopify._get_adapter(priority="whenever")
        with self.assertRaises(UserError):
            backend.action_test_connection()

    def test_unreachable_channel_puts_backend_in_error(self):
        # Port 9 (discard) is closed on loopback: a real refused connection.
        backend = self._prepare_backend("shopify", api_url="http://127.0.0.1:9")
        backend.action_test_connection()
        self.assertEqual(backend.state, "error")
        self.assertIn("could not be reached", backend.state_message)
        self.assertTrue(backend.last_connection_check)

    def test_generic_connection_needs_a_signing_secret(self):
        backend = self._prepare_backend("generic")
        backend.action_test_connection()
        self.assertEqual(backend.state, "connected")
        backend.webhook_secret = False
        backend.action_test_connection()
        self.assertEqual(backend.state, "error")
        self.assertIn("signing secret", backend.state_message)

    def test_disable_and_reset(self):
        backend = self._prepare_backend("generic")
        backend.action_disable()
        self.assertEqual(backend.state, "disabled")
        backend.action_reset_to_draft()
        self.assertEqual(backend.state, "draft")

    def test_failed_connection_is_an_exception_resolved_by_success(self):
        backend = self._prepare_backend("generic", webhook_secret=False)
        backend.action_test_connection()
        exception = self.env["channel.exception"].search(
            [("backend_id", "=", backend.id), ("exception_type", "=", "auth_error")]
        )
        self.assertEqual(exception.state, "open")
        backend.webhook_secret = "now-set"
        exception.action_retry()
        self.assertEqual(backend.state, "connected")
        self.assertEqual(exception.state, "resolved")
