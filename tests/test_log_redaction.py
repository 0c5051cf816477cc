"""No credential, signing secret or customer email in the connector's logs."""

import logging
import sys

from odoo.tests import BaseCase, tagged

from ..adapters.redaction import LOG_FILTER, REDACTED
from .common import shopify_vector
from .test_simulator_orders import SimulatorOrderCase
from .test_simulator_webhooks import SIM_SHOPIFY_SECRET, SIM_WOO_SECRET

LOGGER = "odoo.addons.channel_connector"


@tagged("post_install", "-at_install")
class TestRedactingFilter(BaseCase):
    def test_every_module_logger_of_the_addon_redacts(self):
        modules = [
            module
            for name, module in sys.modules.items()
            if name.startswith(f"{LOGGER}.")
            and ".tests" not in name
            and hasattr(module, "_logger")
        ]
        self.assertGreater(len(modules), 5)
        for module in modules:
            self.assertIn(LOG_FILTER, module._logger.filters, module.__name__)

    def test_credentials_and_emails_are_masked_in_message_args_and_traceback(self):
        logger = logging.getLogger(f"{LOGGER}.adapters.transport")
        with self.assertLogs(LOGGER, "WARNING") as logs:
            logger.warning(
                "POST answered 422: %s; headers %s",
                '{"customer": {"email": "Jane.Doe+shop@example.co.uk"}, '
                '"access_token": "shpat_leak"}',
                {"X-Shopify-Access-Token": "shpat_leak", "Accept": "json"},
            )
            logger.warning("consumer_key=ck_leak&consumer_secret=cs_leak")
            logger.warning("grant_type=client_credentials&client_secret=cc_leak")
            logger.warning("Shopify refused shpat_cc_0badc0ffee in a message")
            try:
                raise ValueError("webhook_secret: whsec_leak")
            except ValueError:
                logger.exception("failed")
        output = "\n".join(logs.output)
        for secret in (
            "shpat_leak",
            "ck_leak",
            "cs_leak",
            "whsec_leak",
            "Jane.Doe",
            "cc_leak",
            "0badc0ffee",
        ):
            self.assertNotIn(secret, output)
        self.assertIn(f"'X-Shopify-Access-Token': '{REDACTED}'", output)
        self.assertIn(f"consumer_key={REDACTED}&", output)
        self.assertIn("'Accept': 'json'", output, "the rest is kept")


@tagged("post_install", "-at_install")
class TestRunLogRedaction(SimulatorOrderCase):
    """A run's log: an order imported from the simulator, a forged delivery."""

    def test_run_log_holds_no_secret_nor_customer_email(self):
        with self.assertLogs(LOGGER, "DEBUG") as logs:
            summary = self._import("shopify")
            headers, body = shopify_vector("orders/create")
            headers["X-Shopify-Hmac-Sha256"] = "forged"
            email = self.sim.state.shopify_orders[str(summary["id"])]["email"]
            headers["X-Forwarded-For"] = email
            self.assertEqual(self._post(self.shopify, headers, body).status_code, 401)
        self._imported(summary)
        output = "\n".join(logs.output)
        self.assertIn("Rejected a delivery", output)
        for secret in (
            email,
            SIM_SHOPIFY_SECRET,
            SIM_WOO_SECRET,
            self.shopify.shopify_access_token,
        ):
            self.assertNotIn(secret, output)
