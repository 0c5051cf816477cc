import importlib.util
import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

from odoo import SUPERUSER_ID, Command, api, sql_db
from odoo.tests import BaseCase, get_db_name
from odoo.tests.common import new_test_user

from odoo.addons.base.tests.common import BaseCommon

from ..adapters.generic import signed_message
from ..adapters.signatures import sign_hex
from .reference import reference_path


def load_migration(version, step="post"):
    """The module of `migrations/<version>/<step>-migrate.py`, to run on
    columns a test prepared as the previous version left them."""
    path = Path(__file__).parent.parent / "migrations" / version
    path /= f"{step}-migrate.py"
    name = f"cc_{step}_migrate_{version.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SHOPIFY_VECTOR_SECRET = "test_app_client_secret_NOT_REAL"
WOOCOMMERCE_VECTOR_SECRET = "test_wc_webhook_secret_NOT_REAL"


def shopify_vector(topic):
    """(headers, raw body) of a signed Shopify delivery from the reference vectors."""
    folder = reference_path("shopify", "webhooks", "hmac_test_vectors")
    vectors = json.loads((folder / "vectors.json").read_text())["vectors"]
    vector = next(v for v in vectors if v["topic"] == topic)
    return dict(vector["headers"]), (folder / vector["body_file"]).read_bytes()


def woocommerce_vector(topic):
    """(headers, raw body) of a signed WooCommerce delivery from the vectors."""
    folder = reference_path("woocommerce", "webhooks")
    vectors = json.loads((folder / "hmac_test_vectors.json").read_text())["vectors"]
    vector = next(v for v in vectors if v["topic"] == topic)
    return dict(vector["headers"]), (folder / vector["body_file"]).read_bytes()


def generic_delivery(body, secret, **headers):
    """(headers, body) of a generic delivery signed as README documents:
    HMAC of `<timestamp>.<event id>.<topic>.<body>`; `headers` override."""
    headers = {
        "Content-Type": "application/json",
        "X-Channel-Topic": "orders/upsert",
        "X-Channel-Event-Id": f"evt-{uuid.uuid4().hex}",
        "X-Channel-Timestamp": datetime.now(timezone.utc).isoformat(),
        **headers,
    }
    message = signed_message(
        headers["X-Channel-Timestamp"],
        headers["X-Channel-Event-Id"],
        headers["X-Channel-Topic"],
        body,
    )
    headers["X-Channel-Signature"] = "sha256=" + sign_hex(secret, message)
    return headers, body


PROVIDER_DEFAULTS = {
    "shopify": {
        "api_url": "http://127.0.0.1:9",
        "shopify_shop_domain": "demo-shop.myshopify.com",
        "shopify_access_token": "shpat_test_token",
        "webhook_secret": "shopify_webhook_secret",
        # Nothing answers on api_url: tests of the body import read nothing.
        "order_read_from_channel": False,
    },
    "woocommerce": {
        "api_url": "http://127.0.0.1:9",
        "woocommerce_consumer_key": "ck_test",
        "woocommerce_consumer_secret": "cs_test",
        "webhook_secret": "woo_webhook_secret",
        "order_read_from_channel": False,
    },
    "generic": {"webhook_secret": "generic_webhook_secret"},
}


def validate_in_full(pickings):
    """Validate `pickings` with every move done in full, as the warehouse does."""
    for move in pickings.move_ids:
        move.quantity = move.product_uom_qty
        move.picked = True
    pickings.button_validate()


def delete_committed_backends(cr, backend_ids):
    """Delete committed backends with their exceptions and their events' jobs
    (a job does not go with its event)."""
    cr.execute(
        "DELETE FROM queue_job WHERE channel_event_id IN"
        " (SELECT id FROM channel_event WHERE backend_id = ANY(%s))",
        [list(backend_ids)],
    )
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["channel.exception"].search([("backend_id", "in", backend_ids)]).unlink()
    env["channel.backend"].browse(backend_ids).unlink()


class ChannelCommon(BaseCommon):
    """Backends, users of each channel group and a second company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_company = cls.env["res.company"].create({"name": "Other Company"})
        cls.ops_user = cls._prepare_user("ops", "channel_connector.group_channel_user")
        cls.finance_user = cls._prepare_user(
            "finance", "channel_connector.group_channel_finance"
        )
        cls.manager_user = cls._prepare_user(
            "manager", "channel_connector.group_channel_manager"
        )

    @classmethod
    def _prepare_user(cls, login, group_xmlid):
        """A user of the main company who may also switch to the other one."""
        return new_test_user(
            cls.env,
            login=f"channel_{login}",
            groups=f"base.group_user,{group_xmlid}",
            company_id=cls.env.company.id,
            company_ids=[Command.set((cls.env.company | cls.other_company).ids)],
        )

    @classmethod
    def _prepare_backend(cls, provider, **values):
        """Create a backend of `provider` with working credentials by default."""
        return cls.env["channel.backend"].create(
            {
                "name": f"Test {provider}",
                "provider": provider,
                **PROVIDER_DEFAULTS.get(provider, {}),
                **values,
            }
        )

    @classmethod
    def _prepare_shelf(cls, name="Shelf"):
        """(warehouse, an internal location `name` in its stock location)."""
        warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.env.company.id)], limit=1
        )
        shelf = cls.env["stock.location"].create(
            {
                "name": name,
                "location_id": warehouse.lot_stock_id.id,
                "usage": "internal",
            }
        )
        return warehouse, shelf

    def _deliver_to_customer(self, product, source, quantity=1):
        """A done move of `quantity` of `product` from `source` to customers."""
        move = self.env["stock.move"].create(
            {
                "product_id": product.id,
                "product_uom_qty": quantity,
                "location_id": source.id,
                "location_dest_id": self.env.ref("stock.stock_location_customers").id,
            }
        )
        move._action_confirm()
        move._action_assign()
        move.picked = True
        move._action_done()
        return move


class CommittedCase(BaseCase):
    """Tests on real, committed cursors (no test transaction, as concurrent
    workers see each other): what they create is committed, then deleted."""

    def setUp(self):
        super().setUp()
        self.db = sql_db.db_connect(get_db_name())

    def _committed_backend(self, **values):
        """Create and commit a backend; it goes (with its events' jobs)
        after the test."""
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            backend_id = env["channel.backend"].create(values).id
        self.addCleanup(self._delete_backend, backend_id)
        return backend_id

    def _delete_backend(self, backend_id):
        with self.db.cursor() as cr:
            delete_committed_backends(cr, [backend_id])
