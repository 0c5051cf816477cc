from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from .test_channel_http import SimulatorCommon


@tagged("post_install", "-at_install")
class TestStockDifferences(SimulatorCommon):
    """Channel quantities read back and compared with what Odoo publishes."""

    catalogue_size = 5

    def setUp(self):
        super().setUp()
        self.shopify._job_export_stock(full=True)
        self.woo._job_export_stock(full=True)
        self.refs = list(self.catalogue)

    def _differences(self, backend):
        return self.env["channel.exception"].search(
            [
                ("backend_id", "=", backend.id),
                ("exception_type", "=", "inventory_difference"),
                ("state", "=", "open"),
            ]
        )

    def test_shopify_difference_beyond_tolerance_with_both_figures(self):
        self.shopify.stock_difference_tolerance = 1
        self.sim.scenario.set_inventory(self.refs[0], 9, notify=False)
        self.sim.scenario.set_inventory(self.refs[1], 5, notify=False)  # within 1
        compared, differences = self.shopify._check_stock_differences()
        self.assertEqual((compared, differences), (5, 1))
        difference = self._differences(self.shopify)
        self.assertIn("Odoo publishes 4, the channel has 9", difference.name)
        self.assertEqual(difference.product_id, self.catalogue[self.refs[0]])
        self.assertIn(
            "5 quantities compared, 1 differ", self.shopify.stock_check_message
        )
        # Retry publishes Odoo's figure again, from the channel's one, through
        # the backend's export job.
        with trap_jobs() as trap:
            difference.action_retry()
            trap.assert_jobs_count(1, only=self.shopify._job_export_stock)
            trap.perform_enqueued_jobs()
        self.assertEqual(difference.state, "resolved")
        item = self.sim.state.variants[self.refs[0]]["inventory_item"]
        self.assertEqual(self.sim.state.levels[(item, "1001")], 4)
        self.assertEqual(
            self.sim.state.mutations[-1]["quantities"][0]["changeFromQuantity"], 9
        )
        self.assertEqual(self.shopify._check_stock_differences(), (5, 0))

    def test_woocommerce_difference_resolves_when_it_is_gone(self):
        self.sim.scenario.set_woo_stock(self.refs[2], 0, notify=False)
        self.assertEqual(self.woo._check_stock_differences(), (5, 1))
        difference = self._differences(self.woo)
        self.assertIn("the channel has 0", difference.name)
        self.sim.scenario.set_woo_stock(self.refs[2], 4, notify=False)
        self.assertEqual(self.woo._check_stock_differences(), (5, 0))
        self.assertEqual(difference.state, "resolved")

    def test_levels_on_their_way_out_are_not_compared(self):
        product = self.catalogue[self.refs[3]]
        self.env["stock.quant"]._update_available_quantity(product, self.stock, 2)
        self.sim.scenario.set_inventory(self.refs[3], 1, notify=False)
        self.assertEqual(self.shopify._check_stock_differences(), (4, 0))


@tagged("post_install", "-at_install")
class TestStockDifferencesPaging(SimulatorCommon):
    """251 levels: the channel's quantities are read 250 at a time."""

    catalogue_size = 251

    def test_channel_read_is_one_call_per_250(self):
        self.shopify._job_export_stock(full=True)
        calls = self.sim.state.calls
        before = sum(calls.values())
        self.assertEqual(self.shopify._check_stock_differences(), (251, 0))
        self.assertEqual(sum(calls.values()) - before, 2)
