"""What the import job of one webhook order costs, in queries, beside Odoo's
own order-to-cash of the same order (issue #19, bench/README.rst
"make bench-e2e"): the end-to-end benchmark's order (3 lines, 20 % tax,
shipping, a repeat customer; confirm, invoice, post, register payment), on a
backend wired to the simulator as the benchmark wires it."""

import json
from unittest.mock import patch

from odoo import Command
from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from simulator.sandbox import SandboxTraffic
from simulator.shopify_payloads import order_payload

from .test_channel_http import SimulatorCommon
from .test_event_coalescing import _shopify_headers

SKUS = ("SIM-000001", "SIM-000002", "SIM-000003")
COPIED_LINE_FIELDS = ("name", "product_uom_qty", "price_unit", "discount")


class OrderImportCostCommon(SimulatorCommon):
    def setUp(self):
        super().setUp()
        SandboxTraffic(self.sim).seed_catalogue()
        with trap_jobs():
            backends = self.env["channel.backend"]._sandbox_prepare(self.sim.base_url)
        self.backend = backends.filtered(lambda b: b.provider == "shopify")
        self.backend.export_stock = False
        warehouse = self.env["stock.warehouse"].search(
            [("company_id", "=", self.env.company.id)], limit=1
        )
        for product in self.env["product.product"].search(
            [("default_code", "in", SKUS)]
        ):
            self.env["stock.quant"]._update_available_quantity(
                product, warehouse.lot_stock_id, 1000
            )

    def _channel_order(self, customer="repeat", gateway="shopify_payments"):
        """A paid order on the simulator (no webhook sent); its payload."""
        summary = self.sim.scenario.create_order(
            channel="shopify",
            notify=False,
            lines=[(SKUS[0], 2), (SKUS[1], 1), (SKUS[2], 3)],
            tax_rate="0.20",
            shipping="4.90",
            customer=customer,
            gateway=gateway,
            financial_status="paid",
        )
        return order_payload(self.sim.scenario._order("shopify", summary["id"]))  # noqa: SLF001

    def _receive(self, payload, topic):
        """Store one signed delivery as the endpoint does; its job is trapped."""
        body = json.dumps(payload).encode()
        headers = _shopify_headers(
            "sim_shopify_secret",
            topic,
            body,
            f"evt-{payload['id']}",
            payload["updated_at"],
        )
        status, _text = self.env["channel.event"]._receive_delivery(
            self.backend, headers, body
        )
        self.assertEqual(status, 200)

    def _delivered(self, customer="repeat", gateway="shopify_payments"):
        """A paid order's orders/create and orders/paid deliveries, joined
        into one job as the benchmark's are: (that job's event, payload)."""
        payload = self._channel_order(customer, gateway)
        with trap_jobs() as trap:
            self._receive(payload, "orders/create")
            self._receive(payload, "orders/paid")
            trap.assert_jobs_count(1)
            event = trap.enqueued_jobs[0].recordset.with_env(self.env)
        return event, payload

    def _import(self, event):
        """The order's job, as the job runner runs it."""
        with trap_jobs() as trap:
            result = event._job_process()
            trap.assert_jobs_count(0)
        self.assertTrue(result.startswith("done"), result)
        self.env.flush_all()

    def _sale_order(self, payload):
        return (
            self.env["channel.order.binding"]
            .search(
                [
                    ("backend_id", "=", self.backend.id),
                    ("external_ref", "=", str(payload["id"])),
                ]
            )
            .sale_order_id
        )

    def _native(self, model):
        """Odoo's own order-to-cash of the same order as `model` (a sale
        order): bench/end_to_end.py's native side."""
        payment = self.env["account.payment"].search(
            [("partner_id", "=", model.partner_id.id)], limit=1
        )
        order = self.env["sale.order"].create(
            {
                "partner_id": model.partner_id.id,
                "partner_invoice_id": model.partner_invoice_id.id,
                "partner_shipping_id": model.partner_shipping_id.id,
                "company_id": model.company_id.id,
                "client_order_ref": "Native",
                "order_line": [
                    Command.create(
                        {
                            **{name: line[name] for name in COPIED_LINE_FIELDS},
                            "product_id": line.product_id.id,
                            "tax_ids": [Command.set(line.tax_ids.ids)],
                        }
                    )
                    for line in model.order_line
                    if not line.display_type
                ],
            }
        )
        order.action_confirm()
        invoices = order._create_invoices()
        invoices.action_post()
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoices.ids
        ).create({"journal_id": payment.journal_id.id})._create_payments()
        self.env.flush_all()
        return order, invoices


@tagged("post_install", "-at_install")
class TestOrderImportCost(OrderImportCostCommon):
    """Queries of one order's import job; a regression fails here first."""

    # Measured (docs/order_import.rst, "What one order costs"): Odoo's own
    # order-to-cash of the same order takes 262 queries on the test cursor;
    # the job took 306 before the cuts of #19 (currency looked up for the
    # payment, unchanged binding flags written back, one address looked up
    # for billing and again for shipping), 302 after.
    JOB_QUERIES = 302
    # What the job may add on top of Odoo's own path: the event (lock,
    # joined deliveries, states), the order's lock and binding, the
    # mappings (partner, addresses, products, taxes, pricelist, journal),
    # the duplicate-payment check and the exceptions it resolves.
    OVERHEAD = 40

    def setUp(self):
        super().setUp()
        # Warm: a first order creates the customer, its addresses, the
        # channel pricelist and the caches every later order finds.
        event, payload = self._delivered("new")
        self._import(event)
        self.first = self._sale_order(payload)
        self._native(self.first)

    def test_a_repeat_customer_order_imports_within_its_query_count(self):
        event, payload = self._delivered()
        with self.assertQueryCount(self.JOB_QUERIES):
            self._import(event)
        order = self._sale_order(payload)
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.amount_total, float(payload["total_price"]))
        self.assertEqual(order.partner_id, self.first.partner_id)
        invoice = order.invoice_ids
        self.assertEqual(invoice.state, "posted")
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))

    def test_the_job_adds_a_bounded_overhead_to_odoos_own_path(self):
        event, payload = self._delivered()
        before = self.cr.sql_log_count
        self._import(event)
        ours = self.cr.sql_log_count - before
        before = self.cr.sql_log_count
        _order, invoices = self._native(self._sale_order(payload))
        native = self.cr.sql_log_count - before
        self.assertLessEqual(
            set(invoices.mapped("payment_state")), {"paid", "in_payment"}
        )
        self.assertLessEqual(ours - native, self.OVERHEAD, f"{ours} vs {native}")

    def test_a_captured_payment_is_stamped_in_one_write(self):
        """The capture's key and the channel's references land together on
        the payment the wizard made (one write, not one per field)."""
        event, payload = self._delivered()
        written = []
        Payment = self.env.registry["account.payment"]
        original = Payment.write

        def write(records, vals):
            if any(name.startswith("channel_") for name in vals):
                written.append(sorted(vals))
            return original(records, vals)

        with patch.object(Payment, "write", write):
            self._import(event)
        self.assertEqual(
            written,
            [
                [
                    "channel_processor_ref",
                    "channel_transaction_key",
                    "channel_transaction_ref",
                ]
            ],
        )
        payment = self.env["account.payment"].search(
            [("channel_transaction_key", "like", f"%:{payload['id']}:%")]
        )
        self.assertIn(payment.state, ("paid", "in_process"))
        self.assertTrue(payment.channel_transaction_ref)

    def test_a_clean_import_writes_no_binding_flag_it_created(self):
        """The pending and hold flags a clean import leaves as the binding
        was created with are not written again (one UPDATE per order)."""
        event, payload = self._delivered()
        written = []
        Binding = self.env.registry["channel.order.binding"]
        original = Binding.write

        def write(records, vals):
            written.append(sorted(vals))
            return original(records, vals)

        with patch.object(Binding, "write", write):
            self._import(event)
        binding = self._sale_order(payload).channel_binding_ids
        self.assertEqual(written, [])
        self.assertFalse(binding.is_import_pending or binding.is_on_hold)
