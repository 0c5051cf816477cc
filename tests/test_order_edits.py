"""Order edits over HTTP: the simulator edits a confirmed Shopify order, its
signed `orders/edited` and `orders/updated` reach the real endpoint, and the
event jobs adjust the sale order or say what they could not apply."""

from odoo.tests import tagged

from .test_refunds import RefundCommon


@tagged("post_install", "-at_install")
class TestShopifyOrderEdits(RefundCommon):
    def _edit(self, order, remove):
        return self._channel_acts(
            lambda: self.sim.scenario.edit_order("shopify", order["id"], remove=remove)
        )

    def _line(self, sale_order, sku):
        return sale_order.order_line.filtered(
            lambda line: line.product_id.default_code == sku
        )

    def test_an_edit_removing_an_unshipped_line_reduces_the_order(self):
        self.shopify.order_create_invoice = False
        order = self._sell()
        sale_order = self._sale_order(self.shopify, order)
        self.assertEqual(sale_order.state, "sale")
        self._edit(order, [("SIM-000002", 1)])
        event = self._events(self.shopify, "orders/edited")
        self.assertEqual(event.state, "done", event.error)
        self.assertEqual(self._line(sale_order, "SIM-000002").product_uom_qty, 0)
        self.assertEqual(self._line(sale_order, "SIM-000001").product_uom_qty, 2)
        moves = sale_order.picking_ids.move_ids.filtered(
            lambda m: m.state != "cancel" and m.product_uom_qty
        )
        self.assertEqual(
            sorted((m.product_id.default_code, m.product_uom_qty) for m in moves),
            [("SIM-000001", 2.0)],
        )
        # The order's update that follows the edit agrees with Odoo's total.
        self.assertFalse(
            self._exceptions(self.shopify, "total_mismatch").filtered(
                lambda e: e.state == "open"
            )
        )
        self.assertFalse(self._exceptions(self.shopify, "order_edit"))
        # The same edit delivered again changes nothing.
        event._job_process()
        self.assertEqual(self._line(sale_order, "SIM-000001").product_uom_qty, 2)

    def test_an_edit_of_an_invoiced_order_is_an_exception_saying_what_changed(self):
        order = self._sell()
        sale_order = self._sale_order(self.shopify, order)
        self._edit(order, [("SIM-000002", 1)])
        exception = self._exceptions(self.shopify, "order_edit")
        self.assertEqual(len(exception), 1)
        self.assertEqual(exception.sale_order_id, sale_order)
        self.assertIn("removed 1 × SIM-000002", exception.name)
        self.assertIn("invoiced", exception.name)
        self.assertEqual(self._line(sale_order, "SIM-000002").product_uom_qty, 1)

    def test_an_edit_of_a_shipped_line_is_not_applied(self):
        self.shopify.order_create_invoice = False
        order = self._sell()
        sale_order = self._sale_order(self.shopify, order)
        self._ship(order)
        self._edit(order, [("SIM-000001", 1)])
        exception = self._exceptions(self.shopify, "order_edit")
        self.assertIn("shipped", exception.name)
        self.assertEqual(self._line(sale_order, "SIM-000001").product_uom_qty, 2)

    def _move_to(self, order, city):
        address = dict(
            self.sim.state.shopify_orders[str(order["id"])]["shipping_address"]
        )
        address.update(address1="1 New Street", city=city)
        self._channel_acts(
            lambda: self.sim.scenario.update_order(
                "shopify", order["id"], shipping_address=address
            )
        )

    def test_an_address_change_before_shipping_moves_the_delivery(self):
        order = self._sell()
        sale_order = self._sale_order(self.shopify, order)
        old = sale_order.partner_shipping_id
        self._move_to(order, "Lyon")
        new = sale_order.partner_shipping_id
        self.assertNotEqual(new, old)
        self.assertEqual((new.street, new.city), ("1 New Street", "Lyon"))
        self.assertEqual(sale_order.picking_ids.partner_id, new)

    def test_an_address_change_after_shipping_is_an_exception(self):
        order = self._sell()
        sale_order = self._sale_order(self.shopify, order)
        old = sale_order.partner_shipping_id
        self._ship(order)
        self._move_to(order, "Lyon")
        self.assertEqual(sale_order.partner_shipping_id, old)
        exception = self._exceptions(self.shopify, "order_edit")
        self.assertIn("Lyon", exception.name)
        self.assertIn("shipping address", exception.name)
