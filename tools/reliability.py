"""`make reliability`: faults injected into a running Odoo; nothing lost, nothing twice.

README.rst, "Reliability", says what each scenario does and how to read the
summary. In short, against a prefork Odoo (2 workers, the queue_job runner,
a cron worker) on a PostgreSQL of its own (embedded, so that restarting it
disturbs nothing else on the machine) and the channel simulator in this
process, wired like the sandbox:

- crash: a burst of Shopify orders; the Odoo server is killed (SIGKILL, the
  whole process group) once a share of the deliveries is acknowledged, then
  started again; the simulator retries unacknowledged deliveries as Shopify
  does (time scaled down);
- database: the same burst; PostgreSQL is restarted in the middle of it;
- outages: a burst while the channel API answers 5xx, times out, answers
  429 and THROTTLED, with a full stock export and shipments to report
  (fulfilment) running through the same faults;
- two servers: a second Odoo server (no job runner) on the same database; every
  delivery of a burst is sent to both servers at once, and again;
- fuzzing: the hypothesis properties of tests/test_fuzz_*.py with random
  examples (`--fuzz-examples` per property).

After each scenario: every acknowledged delivery is stored once, every channel
order exists once, confirmed, invoiced once (posted) and paid once, and no job
ended failed. The last line sums it up; the exit code is 0 only when nothing
was lost or duplicated and every fault was survived.
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tools"), str(ROOT)]
import devctl  # noqa: E402
from harness import (  # noqa: E402
    Database,
    OdooServer,
    odoo_shell,
    paid_once,
    wait_quiet,
    wire_sandbox,
)

from adapters import ADAPTERS  # noqa: E402
from simulator.sandbox import CATALOGUE_SIZE  # noqa: E402
from simulator.server import ChannelSimulator  # noqa: E402

DATABASE = "channel_reliability"
TEMPLATE_PREFIX = "channel_reliability_tpl_"
PORT = int(os.environ.get("CHANNEL_RELIABILITY_HTTP_PORT", "8469"))
SECOND_PORT = PORT + 1
SIM_PORT = PORT + 2
PG_DIR = devctl.BUILD / "reliability-pg"
LOGS = devctl.BUILD / "reliability-logs"
# Shopify retries after 1 min, doubling, 8 times; scaled so that the retries
# of a crash land within seconds: 1.2 s, 2.4 s, ... 154 s.
RETRY_TIME_SCALE = 0.02
# A Plus-sized cost bucket: the burst is bound by Odoo, not by the channel.
BUCKET, RESTORE_RATE = 20000, 1000
STOCK = 1_000_000
SETTLE_TIMEOUT = 1800
SHIP = """
binding = env["channel.order.binding"]
orders = binding.search([("backend_id", "=", %(backend)d),
                         ("external_ref", "in", %(refs)r)]).sale_order_id
shipped = 0
for picking in orders.picking_ids.filtered(lambda p: p.state == "assigned"):
    for move in picking.move_ids:
        move.quantity = move.product_uom_qty
    picking.carrier_tracking_ref = "TRACK-" + picking.name.replace("/", "-")
    # skip_sms: stock_sms would ask whether to text the customer.
    picking.with_context(skip_sms=True).button_validate()
    shipped += picking.state == "done"
env.cr.commit()
print("SHIPPED", shipped)
"""
EXPORT = """
env["channel.backend"].browse(%(backend)d)._enqueue_stock_export(full=True)
env.cr.commit()
"""


def say(message):
    print(f"[reliability] {message}", flush=True)


class Harness:
    def __init__(self, args):
        self.args = args
        self.random = random.Random(args.seed)
        self.results = []
        self.sim = None
        self.server = None
        self.db = None
        self.params = None
        self.backends = {}

    # --- set-up ---

    def prepare(self):
        say(f"PostgreSQL of its own in {PG_DIR}")
        self.params = devctl.start_embedded_postgres(PG_DIR)
        # A copy, not the working tree: a server started again mid-run must
        # load the code its database was installed with.
        addons = devctl.BUILD / "reliability-addons"
        devctl.copy_addon(addons)
        config = devctl.write_odoo_config(
            devctl.BUILD / "reliability.conf", self.params, PORT, addons
        )
        template = f"{TEMPLATE_PREFIX}{devctl.module_digest()}"
        names = devctl.database_names(self.params)
        if template not in names:
            for stale in (n for n in names if n.startswith(TEMPLATE_PREFIX)):
                devctl.drop_database(self.params, stale)
            # Installed under another name first: a run stopped mid-install
            # leaves no half-installed template behind for the next one.
            partial = f"{template}_partial"
            devctl.drop_database(self.params, partial)
            devctl.install_module(config, partial, with_demo=False)
            connection = devctl.connect(self.params)
            with connection.cursor() as cr:
                cr.execute(f'ALTER DATABASE "{partial}" RENAME TO "{template}"')
            connection.close()
        devctl.copy_database(self.params, template, DATABASE)
        self.db = Database(self.params, DATABASE)
        self.sim = ChannelSimulator(
            seed=self.args.seed,
            retry_time_scale=RETRY_TIME_SCALE,
            bucket_size=BUCKET,
            restore_rate=RESTORE_RATE,
        )
        self.sim.start(port=SIM_PORT)
        self.sim.scenario.seed_catalogue(count=CATALOGUE_SIZE, quantity=STOCK)
        self.config = config
        self.backends = wire_sandbox(
            self.shell, f"http://127.0.0.1:{PORT}", self.sim, STOCK
        )
        self.server = OdooServer(config, PORT, database=DATABASE, logs=LOGS).start()
        say(f"Odoo on {self.server.url}, simulator on {self.sim.base_url}")
        self.settle(time.monotonic() + SETTLE_TIMEOUT)

    def shell(self, script):
        return odoo_shell(self.config, DATABASE, script)

    # --- load ---

    def burst(self, count):
        """`count` Shopify orders (1-3 lines, repeat and new customers); each
        fires its webhooks. Returns the channel order ids."""
        skus = [f"SIM-{n:06d}" for n in range(1, CATALOGUE_SIZE + 1)]
        refs = []
        for _ in range(count):
            lines = [
                (sku, self.random.randint(1, 3))
                for sku in self.random.sample(skus, self.random.randint(1, 3))
            ]
            summary = self.sim.scenario.create_order(
                channel="shopify",
                lines=lines,
                customer=self.random.choice(("new", "repeat", "repeat", "guest")),
            )
            refs.append(str(summary["id"]))
        return refs

    def acknowledged(self, since):
        return [
            d
            for d in self.sim.sender.deliveries[since:]
            if isinstance(d.status, int) and 200 <= d.status < 300
        ]

    def wait_acknowledged(self, since, count, timeout=600):
        deadline = time.monotonic() + timeout
        while len(self.acknowledged(since)) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"fewer than {count} deliveries acknowledged")
            time.sleep(0.2)

    def settle(self, deadline):
        """Wait until the simulator has nothing left to deliver and no job is
        waiting, twice in a row."""
        wait_quiet(self.sim, self.db, deadline, pause=2)

    # --- checks ---

    def check(self, name, refs, since_delivery, started_at, faults):
        backend = self.backends["shopify"]
        adapter = ADAPTERS["shopify"]({"shop_domain": self.sim.state.shop_domain})
        keys = self.db.event_keys(backend)
        acked = self.acknowledged(since_delivery)
        lost_deliveries = [
            d
            for d in acked
            if adapter.parse_webhook(d.headers, d.body).dedupe_key not in keys
        ]
        orders = self.db.orders(backend, refs)
        lost_orders = [ref for ref in refs if ref not in orders]
        duplicates = [
            ref
            for ref, (bindings, _s, invoices, _p, payments) in orders.items()
            if bindings > 1 or invoices > 1 or payments > 1
        ]
        unfinished = [ref for ref, row in orders.items() if not paid_once(row)]
        failed = self.db.failed_jobs(started_at)
        result = {
            "scenario": name,
            "orders": len(refs),
            "deliveries_acknowledged": len(acked),
            "deliveries_lost": len(lost_deliveries),
            "orders_lost": len(lost_orders),
            "duplicates": len(duplicates),
            "unfinished": len(unfinished),
            "failed_jobs": len(failed),
            "faults_injected": faults,
            "faults_survived": faults if not (failed or unfinished) else 0,
            "odoo_restarted_by_supervisor": self.server.supervisor_restarts,
        }
        self.results.append(result)
        say(json.dumps(result))
        for row in failed[:5]:
            say(f"  failed job: {row}")
        for ref in (lost_orders + duplicates + unfinished)[:5]:
            say(f"  order {ref}: {orders.get(ref)}")
        return result

    # --- scenarios ---

    def run_crash(self):
        return self._burst_with("crash", self._restart_odoo, "Odoo killed (SIGKILL)")

    def run_database(self):
        return self._burst_with(
            "database", self._restart_postgres, "PostgreSQL restarted"
        )

    def _burst_with(self, name, fault, label):
        started_at = self.db.rows("SELECT now() AT TIME ZONE 'utc'")[0][0]
        self.server.supervisor_restarts = 0
        since = len(self.sim.sender.deliveries)
        count = self.args.orders
        say(f"{name}: {count} orders")
        clock = time.monotonic()
        refs_box = []
        creator = threading.Thread(target=lambda: refs_box.extend(self.burst(count)))
        creator.start()
        self.wait_acknowledged(since, max(1, count * self.args.fault_at // 100))
        say(f"{name}: {label} after {len(self.acknowledged(since))} acknowledged")
        fault()
        creator.join()
        self.settle(time.monotonic() + SETTLE_TIMEOUT)
        result = self.check(name, refs_box, since, started_at, 1)
        result["seconds"] = round(time.monotonic() - clock, 1)
        return result

    def _restart_odoo(self):
        self.server.kill()
        time.sleep(3)
        self.server.start()

    def _restart_postgres(self):
        from pgserver import pg_ctl

        user = "pgserver" if os.geteuid() == 0 else None
        pg_ctl(["-w", "restart", "-m", "fast"], pgdata=PG_DIR.resolve(), user=user)

    def run_outages(self):
        started_at = self.db.rows("SELECT now() AT TIME ZONE 'utc'")[0][0]
        self.server.supervisor_restarts = 0
        since = len(self.sim.sender.deliveries)
        book = self.sim.state.faults
        armed = [
            ("shopify", "5xx", {"count": 15, "status": 503}),
            ("shopify", "timeout", {"count": 2, "delay": 25}),
            ("shopify", "429", {"seconds": 8, "retry_after": 2}),
            ("shopify", "throttled", {"count": 15}),
        ]
        count = max(20, self.args.orders // 5)
        say(f"outages: {count} orders, then a full stock export and shipments")
        for api, kind, options in armed:
            book.add(api, kind, **options)
        refs = self.burst(count)
        self.settle(time.monotonic() + SETTLE_TIMEOUT)
        for api, kind, options in armed:
            book.add(api, kind, **options)
        self.shell(EXPORT % {"backend": self.backends["shopify"]})
        output = self.shell(
            SHIP % {"backend": self.backends["shopify"], "refs": refs[:10]}
        )
        shipped = (
            int(output.split("SHIPPED")[-1].split()[0]) if "SHIPPED" in output else 0
        )
        say(f"outages: {shipped} deliveries validated, to report to the channel")
        self.settle(time.monotonic() + SETTLE_TIMEOUT)
        fired = len(book.fired)
        result = self.check("outages", refs, since, started_at, fired)
        states = dict(
            self.db.rows(
                "SELECT state, count(*) FROM channel_fulfilment"
                " WHERE backend_id = %s GROUP BY state",
                [self.backends["shopify"]],
            )
        )
        result["fulfilments"] = states
        # Every shipment reported to the channel despite the faults.
        if set(states) - {"done"} or states.get("done", 0) < max(shipped, 10):
            result["unfinished"] += 1
            result["faults_survived"] = 0
        say(f"outages: fulfilments {states}")
        return result

    def run_two_servers(self):
        started_at = self.db.rows("SELECT now() AT TIME ZONE 'utc'")[0][0]
        self.server.supervisor_restarts = 0
        second = OdooServer(
            self.config,
            SECOND_PORT,
            database=DATABASE,
            logs=LOGS,
            runner=False,
            name="second",
        )
        second.start()
        since = len(self.sim.sender.deliveries)
        count = max(20, self.args.orders // 5)
        say(f"two servers: {count} orders, every delivery also sent to both")
        try:
            refs = self.burst(count)
            self.settle(time.monotonic() + SETTLE_TIMEOUT)
            copies = self._send_copies(since, (self.server.url, second.url))
            self.settle(time.monotonic() + SETTLE_TIMEOUT)
        finally:
            second.stop()
        result = self.check("two servers", refs, since, started_at, 0)
        result["copies_sent"] = copies
        return result

    def _send_copies(self, since, urls):
        """Every acknowledged delivery again, to both servers at once."""
        deliveries = self.acknowledged(since)
        backend = self.backends["shopify"]
        threads, statuses = [], []

        def post(url, delivery):
            request = urllib.request.Request(
                f"{url}/channel_connector/webhook/{backend}",
                data=delivery.body,
                headers=delivery.headers,
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    statuses.append(response.status)
            except OSError as exc:
                statuses.append(getattr(exc, "code", 0))

        for delivery in deliveries:
            for url in urls:
                threads.append(threading.Thread(target=post, args=(url, delivery)))
        for index in range(0, len(threads), 16):
            batch = threads[index : index + 16]
            for thread in batch:
                thread.start()
            for thread in batch:
                thread.join(60)
        bad = [s for s in statuses if s != 200]
        if bad:
            say(f"two servers: {len(bad)} copies not answered 200: {bad[:5]}")
        return len(statuses)

    def run_fuzzing(self):
        environ = {
            **os.environ,
            "CHANNEL_FUZZ_EXAMPLES": str(self.args.fuzz_examples),
            "CHANNEL_FUZZ_RANDOM": "1",
            # A test database and port of its own: `make test` may run beside.
            "CHANNEL_TEST_DB": "channel_reliability_fuzz",
            "CHANNEL_TEST_HTTP_PORT": str(PORT + 3),
        }
        command = [
            sys.executable,
            str(ROOT / "tools" / "devctl.py"),
            "test",
            "tests/test_fuzz_parsers.py",
            "tests/test_fuzz_webhooks.py",
            "-s",
        ]
        say(f"fuzzing: {self.args.fuzz_examples} random examples per property")
        result = subprocess.run(
            command, env=environ, capture_output=True, text=True, check=False
        )
        tried = unhandled = 0
        for line in result.stdout.splitlines():
            counts = re.search(r"fuzzing: (\d+) inputs.*?(\d+) unhandled", line)
            if counts:
                tried += int(counts.group(1))
                unhandled += int(counts.group(2))
        if result.returncode:
            say(result.stdout[-3000:])
        outcome = {
            "scenario": "fuzzing",
            "inputs_tried": tried,
            "unhandled": unhandled if not result.returncode else max(unhandled, 1),
        }
        self.results.append(outcome)
        say(json.dumps(outcome))
        return outcome

    def close(self):
        if self.server:
            self.server.stop()
        if self.sim:
            self.sim.stop()


SCENARIOS = ("crash", "database", "outages", "two_servers", "fuzzing")


def summary(results):
    load = sum(r.get("orders", 0) for r in results)
    injected = sum(r.get("faults_injected", 0) for r in results)
    survived = sum(r.get("faults_survived", 0) for r in results)
    lost = sum(r.get("deliveries_lost", 0) + r.get("orders_lost", 0) for r in results)
    duplicates = sum(r.get("duplicates", 0) for r in results)
    failed = sum(r.get("failed_jobs", 0) + r.get("unfinished", 0) for r in results)
    tried = sum(r.get("inputs_tried", 0) for r in results)
    unhandled = sum(r.get("unhandled", 0) for r in results)
    print(json.dumps({"reliability": results}), flush=True)
    print(
        f"reliability: load held {load} orders; faults injected {injected}, "
        f"survived {survived}; inputs tried {tried}, unhandled {unhandled}; "
        f"records lost {lost}; duplicates {duplicates}; "
        f"unfinished or failed {failed}",
        flush=True,
    )
    ok = not (lost or duplicates or failed or unhandled) and survived == injected
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument(
        "--fault-at", type=int, default=30, help="percent acknowledged before a fault"
    )
    parser.add_argument("--fuzz-examples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help="comma-separated subset"
    )
    args = parser.parse_args()
    chosen = [s for s in args.scenarios.split(",") if s]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    harness = Harness(args)
    runs = {
        "crash": harness.run_crash,
        "database": harness.run_database,
        "outages": harness.run_outages,
        "two_servers": harness.run_two_servers,
        "fuzzing": harness.run_fuzzing,
    }
    try:
        if set(chosen) - {"fuzzing"}:
            harness.prepare()
        for name in chosen:
            runs[name]()
    finally:
        harness.close()
    sys.exit(summary(harness.results))


if __name__ == "__main__":
    main()
