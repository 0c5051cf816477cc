from odoo import Command
from odoo.tests import HttpCase, tagged

from .test_order_import import OrderImportCommon


@tagged("post_install", "-at_install")
class TestFixSkuTour(HttpCase, OrderImportCommon):
    """An ops user goes from the dashboard to an exception, maps the unknown
    SKU, retries and lands on the confirmed order (headless Chromium)."""

    def test_ops_user_fixes_an_unknown_sku(self):
        self.backend.name = "Tour Shop"
        # Setting a product's reference takes the right to change products.
        self.ops_user.group_ids = [
            Command.link(self.env.ref("sales_team.group_sale_salesman_all_leads").id),
            Command.link(self.env.ref("product.group_product_manager").id),
        ]
        product = self._product("T-shirt green", "TS-GREEN-OLD")
        self._deliver(
            self._order(lines=[("TS-GREEN-S", 503, 1, "10.00", "0.00", "0.1")])
        )
        self.assertFalse(self._sale_order(1001))
        self.env.flush_all()
        self.start_tour(
            "/odoo", "channel_connector_fix_sku_tour", login=self.ops_user.login
        )
        order = self._sale_order(1001)
        self.assertEqual(order.state, "sale")
        self.assertEqual(product.default_code, "TS-GREEN-S")
        self.assertEqual(order.order_line.product_id, product)
