"""End to end: signed Shopify webhooks to paid orders, against Odoo's own order-to-cash.

Run with `make bench-e2e` (bench/README.rst says what it measures and why the
baseline is what it is). In short, on a copy of the module's template
database, with the channel simulator in this process wired like the sandbox
(`channel.backend._sandbox_prepare`: confirm, invoice, register payment; stock
export off, see below) and a prefork Odoo of 2 HTTP workers, a cron worker and
the queue_job runner (tools/harness.py's `OdooServer`):

- ours: N Shopify orders (3 lines, 20 % tax, shipping, one new customer for
  three repeat ones) are created on the simulator, which fires their signed
  webhooks (orders/create, orders/paid, inventory levels) at Odoo as Shopify
  does; the harness polls the database until every order is confirmed,
  invoiced (posted) and paid. Per order: the time from its first
  orders/create delivery to the moment it was seen paid (polled every
  0.25 s; 0 when the reconciliation pull paid it before its webhook came);
  beside it the median wait of that delivery in the channel's queue and
  the p99 from the order's creation on the channel (the whole burst is
  created at once, so that one is mostly the queue);
- native: the same orders (same partners, addresses, products, quantities,
  prices, taxes, payment journal, read back from what ours created) go
  through Odoo's own `sale.order.create` + `action_confirm` +
  `_create_invoices` + `action_post` + `account.payment.register`, one
  transaction per order, in 2 processes side by side (2 workers, as ours).

Prints per run and their spread: total time, orders/s, p50/p99 latency, the
ratio ours/native of the total times (target <= 1.3) and the slowest order
(target < 60 s); then one JSON line. Exits 1 when an order is missing, not
paid, paid twice or at another total than the channel's, or a job failed.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tools"), str(ROOT)]
import devctl  # noqa: E402
import figures  # noqa: E402
from harness import (  # noqa: E402
    Database,
    OdooServer,
    done_once,
    odoo_shell,
    wait_quiet,
    wire_sandbox,
)

from simulator.sandbox import CATALOGUE_SIZE  # noqa: E402
from simulator.server import ChannelSimulator  # noqa: E402

# Parallel checkouts on one machine set their own database and ports: the
# server on PORT, its gevent worker on PORT + 1, the simulator on PORT + 2.
DATABASE = os.environ.get("CHANNEL_BENCH_DB", "channel_bench_e2e")
PORT = int(os.environ.get("CHANNEL_BENCH_HTTP_PORT", "8380"))
LOGS = devctl.BUILD / f"{DATABASE}-logs"
LINES = 3
TARGET_RATIO = 1.3
TARGET_SLOWEST = 60.0
POLL = 0.25
# A Plus-sized cost bucket: the run is bound by Odoo, not by the channel.
BUCKET, RESTORE_RATE = 20000, 1000
STOCK = 1_000_000
# The native side's input, read back from the orders ours created.
SPECS = """
import json
refs = json.load(open(%(refs)r))
bindings = env["channel.order.binding"].search(
    [("backend_id", "=", %(backend)d), ("external_ref", "in", refs)])
specs = []
for binding in bindings:
    order = binding.sale_order_id
    payments = env["account.payment"].search([
        ("channel_transaction_key", "=like",
         "%%s:%%s:%%%%" %% (binding.backend_id.id, binding.external_ref)),
        ("state", "!=", "canceled")])
    specs.append({
        "ref": binding.external_ref,
        "amount_total": order.amount_total,
        "journal_id": payments[:1].journal_id.id,
        "order": {
            "partner_id": order.partner_id.id,
            "partner_invoice_id": order.partner_invoice_id.id,
            "partner_shipping_id": order.partner_shipping_id.id,
            "company_id": order.company_id.id,
            "client_order_ref": "Native " + (order.client_order_ref or ""),
            "order_line": [(0, 0, {
                "product_id": line.product_id.id,
                "name": line.name,
                "product_uom_qty": line.product_uom_qty,
                "price_unit": line.price_unit,
                "discount": line.discount,
                "tax_ids": [(6, 0, line.tax_ids.ids)],
            }) for line in order.order_line if not line.display_type],
        },
    })
json.dump(specs, open(%(out)r, "w"))
print("SPECS", len(specs))
"""
# One native worker: its share of the orders, one transaction each (retried
# on a serialization failure as Odoo retries a request or a job), after a
# warm-up order rolled back and a barrier with the other worker.
NATIVE = """
import functools, json, os, time
from odoo.service.model import retrying

def order_to_cash(spec):
    order = env["sale.order"].create(spec["order"])
    order.action_confirm()
    invoices = order._create_invoices()
    invoices.action_post()
    env["account.payment.register"].with_context(
        active_model="account.move", active_ids=invoices.ids
    ).create({"journal_id": spec["journal_id"]})._create_payments()
    return order, invoices

specs = json.load(open(%(path)r))[%(index)d::%(workers)d]
if specs:
    order_to_cash(specs[0])
    env.cr.rollback()
open(os.path.join(%(folder)r, "ready-%(index)d"), "w").close()
while len([n for n in os.listdir(%(folder)r) if n.startswith("ready-")]) < %(workers)d:
    time.sleep(0.05)
rows = []
for spec in specs:
    begun = time.time()
    # As Odoo runs a request or a job: retried on a serialization failure
    # (the two workers reserve the same products' quants).
    order, invoices = retrying(functools.partial(order_to_cash, spec), env)
    env.cr.commit()
    ended = time.time()
    ok = (abs(order.amount_total - spec["amount_total"]) < 0.005
          and set(invoices.mapped("payment_state")) <= {"paid", "in_payment"})
    rows.append([spec["ref"], begun, ended, ok])
print("NATIVE", json.dumps(rows))
"""
PAID = """
SELECT b.external_ref
  FROM channel_order_binding b
  JOIN sale_order so ON so.id = b.sale_order_id AND so.state = 'sale'
  JOIN sale_order_line sol ON sol.order_id = so.id
  JOIN sale_order_line_invoice_rel r ON r.order_line_id = sol.id
  JOIN account_move_line aml ON aml.id = r.invoice_line_id
  JOIN account_move am ON am.id = aml.move_id
 WHERE b.backend_id = %s AND b.external_ref = ANY(%s)
   AND am.move_type = 'out_invoice' AND am.state = 'posted'
   AND am.payment_state IN ('paid', 'in_payment')
 GROUP BY b.external_ref
"""


def say(message):
    print(f"[bench] {message}", flush=True)


class Bench:
    """Database, simulator and prefork server of a benchmark run."""

    def __init__(self, seed=11, database=DATABASE, port=PORT):
        self.seed, self.database, self.port = seed, database, port
        self.random = random.Random(seed)
        self.sim = self.server = self.db = self.params = self.config = None
        self.backends = {}
        self.created = {}  # channel order id -> when it was created (monotonic)

    def prepare(self):
        _source, self.params = devctl.discover_postgres(os.environ)
        # A copy, not the working tree: the server loads the code the database
        # was installed with even if the checkout changes meanwhile; one per
        # database, so that two benchmarks can run side by side.
        addons = devctl.BUILD / f"{self.database}-addons"
        devctl.copy_addon(addons)
        self.config = devctl.write_odoo_config(
            devctl.BUILD / f"{self.database}.conf", self.params, self.port, addons
        )
        devctl.copy_database(self.params, self.template(), self.database)
        self.db = Database(self.params, self.database)
        self.sim = ChannelSimulator(
            seed=self.seed, bucket_size=BUCKET, restore_rate=RESTORE_RATE
        )
        self.sim.start(port=self.port + 2)
        self.sim.scenario.seed_catalogue(count=CATALOGUE_SIZE, quantity=STOCK)
        self.backends = wire_sandbox(
            self.shell,
            f"http://127.0.0.1:{self.port}",
            self.sim,
            STOCK,
            # Stock export off: the native side exports nothing (bench/README.rst).
            export_stock=False,
        )
        self.server = OdooServer(
            self.config,
            self.port,
            database=self.database,
            gevent_port=self.port + 1,
            logs=LOGS,
        ).start()
        say(f"Odoo on {self.server.url}, simulator on {self.sim.base_url}")
        self.settle()

    def template(self):
        """The test template of this checkout when it is current (`make
        test` built it), else one installed for the benchmarks."""
        digest = devctl.module_digest()
        names = devctl.database_names(self.params)
        for name in (
            f"{devctl.TEMPLATE_PREFIX}{digest}",
            f"{self.database}_tpl_{digest}",
        ):
            filestore = devctl.BUILD / "data" / "filestore" / name
            if name in names and filestore.is_dir():
                return name
        name = f"{self.database}_tpl_{digest}"
        for stale in (n for n in names if n.startswith(f"{self.database}_tpl_")):
            devctl.drop_database(self.params, stale)
        devctl.install_module(self.config, name, with_demo=False)
        return name

    def shell(self, script):
        return odoo_shell(self.config, self.database, script)

    def settle(self, timeout=1800):
        """Nothing left to deliver and no job waiting, twice in a row."""
        wait_quiet(self.sim, self.db, time.monotonic() + timeout, pause=1)

    def create_orders(self, count, notify=True):
        """`count` Shopify orders of 3 lines, 20 % tax and shipping, from one
        new customer for three repeat ones; returns their channel ids."""
        skus = [f"SIM-{n:06d}" for n in range(1, CATALOGUE_SIZE + 1)]
        refs = []
        for index in range(count):
            lines = [
                (sku, self.random.randint(1, 3))
                for sku in self.random.sample(skus, LINES)
            ]
            summary = self.sim.scenario.create_order(
                channel="shopify",
                notify=notify,
                lines=lines,
                tax_rate="0.20",
                shipping="4.90",
                customer="new" if index % 4 == 0 else "repeat",
                financial_status="paid",
            )
            refs.append(str(summary["id"]))
            self.created[refs[-1]] = time.monotonic()
        return refs

    def close(self):
        if self.server:
            self.server.stop()
        if self.sim:
            self.sim.stop()

    def run(self, args, one_run):
        """Prepare, then `one_run(index)` `args.runs` times; whatever happens,
        close and drop the database (unless `args.keep`). The runs' results."""
        runs = []
        try:
            self.prepare()
            for index in range(args.runs):
                runs.append(one_run(index))
        finally:
            self.close()
            if not args.keep and self.params:
                devctl.drop_database(self.params, self.database)
        return runs


def arguments(doc, orders, timeout, seed):
    """The command line every benchmark on `Bench` shares."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--orders", type=int, default=orders)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=int, default=timeout)
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    return parser


# === OURS ===


def run_ours(bench, count, timeout):
    """Create the orders and wait until each is paid; per-order figures."""
    backend = bench.backends["shopify"]
    since = len(bench.sim.sender.deliveries)
    started_at = bench.db.rows("SELECT now() AT TIME ZONE 'utc'")[0][0]
    started = time.monotonic()
    refs = bench.create_orders(count)
    paid = {}
    deadline = started + timeout
    # One connection for the whole poll: a new one every 0.25 s would fork a
    # PostgreSQL backend each time, CPU the native side does not spend.
    connection = devctl.connect(bench.params, bench.database)
    try:
        with connection.cursor() as cr:
            while len(paid) < len(refs) and time.monotonic() < deadline:
                cr.execute(PAID, [backend, [r for r in refs if r not in paid]])
                for (ref,) in cr.fetchall():
                    paid[ref] = time.monotonic()
                time.sleep(POLL)
    finally:
        connection.close()
    delivered = first_deliveries(bench.sim.sender.deliveries[since:])
    # From the moment the order exists on the channel (its webhooks are due)
    # to the moment it is seen paid: the deliveries' queue is part of it.
    since_created = [paid[r] - bench.created[r] for r in refs if r in paid]
    lags = [delivered[r] - bench.created[r] for r in refs if r in delivered]
    # From its first delivery; 0 for an order the reconciliation pull had
    # imported and paid before its webhook came.
    latencies = [
        max(0.0, paid[r] - delivered[r]) for r in refs if r in paid and r in delivered
    ]
    bench.settle()
    outcome = bench.db.orders(backend, refs)
    wrong = [ref for ref, row in outcome.items() if not done_once(row)]
    return {
        "refs": refs,
        "seconds": (max(paid.values()) - started) if paid else timeout,
        "latencies": latencies,
        "since_created_p99": figures.percentile(since_created, 0.99),
        "delivery_lag": figures.percentile(lags, 0.50),
        "missing": len(refs) - len(paid),
        "wrong": len(wrong) + len(set(refs) - set(outcome)),
        "failed_jobs": len(bench.db.failed_jobs(started_at)),
    }


def first_deliveries(deliveries):
    """{order id: when its first orders/create delivery was sent}."""
    first = {}
    for delivery in deliveries:
        if delivery.topic != "orders/create":
            continue
        try:
            ref = str(json.loads(delivery.body)["id"])
        except (ValueError, KeyError, TypeError):
            continue
        first.setdefault(ref, delivery.at)
    return first


# === NATIVE ===


def run_native(bench, refs, workers):
    """Odoo's own order-to-cash of the same orders in `workers` processes."""
    with tempfile.TemporaryDirectory() as folder:
        specs_path = Path(folder, "specs.json")
        refs_path = Path(folder, "refs.json")
        refs_path.write_text(json.dumps(refs))
        bench.shell(
            SPECS
            % {
                "refs": str(refs_path),
                "backend": bench.backends["shopify"],
                "out": str(specs_path),
            }
        )
        specs = json.loads(specs_path.read_text())
        outputs = [None] * workers

        def work(index):
            script = NATIVE % {
                "path": str(specs_path),
                "index": index,
                "workers": workers,
                "folder": folder,
            }
            try:
                outputs[index] = bench.shell(script)
            except SystemExit as exc:
                outputs[index] = exc

        threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    rows = []
    for output in outputs:
        if isinstance(output, SystemExit):
            raise output
        line = next(x for x in output.splitlines() if x.startswith("NATIVE"))
        rows.extend(json.loads(line.split(" ", 1)[1]))
    if not rows:
        return {"seconds": 0.0, "latencies": [], "wrong": len(refs), "orders": 0}
    return {
        "seconds": max(r[2] for r in rows) - min(r[1] for r in rows),
        "latencies": [r[2] - r[1] for r in rows],
        "wrong": sum(1 for r in rows if not r[3]) + len(refs) - len(rows),
        "orders": len(specs),
    }


# === REPORT ===


def summarise(runs, count):
    """The figures of every run, their median and spread."""

    def figure(side, key):
        values = []
        for run in runs:
            data = run[side]
            if key == "rate":
                values.append(count / data["seconds"] if data["seconds"] else 0.0)
            elif key == "p50":
                values.append(figures.percentile(data["latencies"], 0.50))
            elif key == "p99":
                values.append(figures.percentile(data["latencies"], 0.99))
            elif key == "slowest":
                values.append(max(data["latencies"], default=0.0))
            else:
                values.append(data[key])
        return figures.spread(values)

    result = {
        side: {
            key: figure(side, key)
            for key in ("seconds", "rate", "p50", "p99", "slowest")
        }
        for side in ("ours", "native")
    }
    result["ratio"] = figures.spread(
        [run["ours"]["seconds"] / run["native"]["seconds"] for run in runs]
    )
    for key in ("delivery_lag", "since_created_p99"):
        result["ours"][key] = figures.spread(
            [run["ours"].get(key, 0.0) for run in runs]
        )
    return result


def report(args, runs):
    summary = summarise(runs, args.orders)
    rows = []
    for side, label in (
        ("ours", "channel_connector (webhooks)"),
        ("native", "Odoo native"),
    ):
        data = summary[side]
        rows.append(
            [
                label,
                ", ".join(f"{v:.1f}" for v in data["seconds"]["runs"]),
                f"{data['seconds']['spread']:.1f}",
                f"{data['rate']['median']:.2f}",
                f"{data['p50']['median']:.2f}",
                f"{data['p99']['median']:.2f}",
                f"{data['slowest']['median']:.2f}",
            ]
        )
    figures.table(
        f"End to end: {args.orders} Shopify orders of {LINES} lines (tax, shipping, "
        f"repeat customers) to confirmed, invoiced, paid; prefork Odoo, 2 workers "
        f"+ job runner; {args.runs} run(s)",
        [
            "path",
            "total s (runs)",
            "spread s",
            "orders/s",
            "p50 s",
            "p99 s",
            "slowest s",
        ],
        rows,
    )
    ratio = summary["ratio"]["median"]
    slowest = max(summary["ours"]["slowest"]["runs"])
    problems = [
        f"run {i + 1} {side}: {run[side][key]} {key}"
        for i, run in enumerate(runs)
        for side, keys in (
            ("ours", ("missing", "wrong", "failed_jobs")),
            ("native", ("wrong",)),
        )
        for key in keys
        if run[side][key]
    ]
    print(
        f"\nours / native: {', '.join(f'{v:.2f}' for v in summary['ratio']['runs'])} "
        f"(median {ratio:.2f}, target <= {TARGET_RATIO}: "
        f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}); slowest order "
        f"{slowest:.1f} s (target < {TARGET_SLOWEST:.0f} s: "
        f"{'met' if slowest < TARGET_SLOWEST else 'NOT met'})"
    )
    print(
        "median wait of an order's first orders/create delivery in the "
        f"channel's queue: {summary['ours']['delivery_lag']['median']:.1f} s; "
        "p99 from the order's creation on the channel to paid: "
        f"{summary['ours']['since_created_p99']['median']:.1f} s"
    )
    for problem in problems:
        print(f"CHECK FAILED {problem}")
    figures.json_line(
        "end_to_end",
        {"orders": args.orders, "runs": args.runs, **summary, "problems": problems},
    )
    return 1 if problems else 0


def main():
    parser = arguments(__doc__, orders=500, timeout=1800, seed=11)
    parser.add_argument("--workers", type=int, default=2, help="native processes")
    args = parser.parse_args()

    def one_run(index):
        say(f"run {index + 1}: ours, {args.orders} orders")
        ours = run_ours(bench, args.orders, args.timeout)
        say(f"run {index + 1}: ours {ours['seconds']:.1f} s; native")
        native = run_native(bench, ours["refs"], args.workers)
        say(f"run {index + 1}: native {native['seconds']:.1f} s")
        return {"ours": ours, "native": native}

    bench = Bench(seed=args.seed)
    sys.exit(report(args, bench.run(args, one_run)))


if __name__ == "__main__":
    main()
