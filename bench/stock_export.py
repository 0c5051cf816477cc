"""Stock export benchmark: full export and delta of N variants against a baseline.

Run with `make bench-stock` (README, "Benchmarks"). For each size (10,000 and
100,000 variants by default) a fresh database is copied from the module's
template, N storable variants with a quant each, their Shopify bindings and
one mapped channel location are inserted in bulk, and a channel simulator
runs as its own process with the same N variants and Shopify's Standard plan
bucket (1,000 points, 100 points/s). Then, in one run:

- baseline: `product.product.read(['free_qty'])` of the N variants in the
  mapped location (Odoo's own way to ask for the same figure);
- compute: `_prepare_stock_export(full=True)`, what our job computes (the
  same N quantities, with skip checks and batching data); both timed twice,
  alternately, the best of each kept (warm caches alike);
- full export: `_job_export_stock(full=True)` end to end over HTTP, `--runs`
  times (3), each in a fresh worker process started after the bucket refilled:
  its time against the throttle floor of the plan (the time the bucket needs
  to give the calls' points), the API calls against ceil(N/250), the THROTTLED
  answers met, and the worker's peak RSS growth during the job;
- delta: 100 stock moves out of 100 variants validated, then the delta export
  job (calls against ceil(100/250)).

The last line printed is the same figures as one JSON object.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import devctl  # noqa: E402

DATABASE = os.environ.get("CHANNEL_BENCH_DB", "channel_bench_stock")
SIMULATOR_PORT = int(os.environ.get("CHANNEL_BENCH_HTTP_PORT", "8898"))
SHOPIFY_BATCH = 250
MOVES = 100
# The simulated plan: Shopify's Standard plan bucket, and a mutation's cost.
BUCKET_SIZE = 1000
RESTORE_RATE = 100.0
MUTATION_COST = 10


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3, help="full exports per size")
    parser.add_argument("--export-job", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    params, template = setup_odoo()
    if args.export_job:
        return export_job(args.export_job)
    if template not in devctl.database_names(params):
        devctl.install_module(CONFIG, template, with_demo=False)
    rows = []
    for size in args.sizes:
        devctl.copy_database(params, template, DATABASE)
        simulator = start_simulator(size)
        try:
            rows.append(measure(size, args.runs))
        finally:
            simulator.terminate()
            simulator.wait(30)
            devctl.drop_database(params, DATABASE)
    report(rows)
    return 0


CONFIG = devctl.BUILD / "bench.conf"


def setup_odoo():
    """Odoo's configuration for the benchmark; (connection params, template)."""
    _source, params = devctl.discover_postgres(os.environ)
    devctl.link_addon(devctl.BUILD / "addons")
    devctl.write_odoo_config(CONFIG, params, SIMULATOR_PORT, devctl.BUILD / "addons")
    sys.path[:0] = [str(devctl.ODOO_PATH), str(ROOT)]
    import odoo.tools

    odoo.tools.config.parse_config(["-c", str(CONFIG), "--log-level=warn"])
    return params, f"{devctl.TEMPLATE_PREFIX}{devctl.module_digest()}"


def start_simulator(size, bucket_size=BUCKET_SIZE, restore_rate=RESTORE_RATE):
    """The simulator as a process with `size` variants seeded on it."""
    simulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator",
            f"--port={SIMULATOR_PORT}",
            f"--bucket-size={bucket_size}",
            f"--restore-rate={restore_rate}",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    for _ in range(60):
        try:
            sim_call("POST", "/_sim/catalogue", {"count": size, "quantity": 0})
            return simulator
        except OSError:
            time.sleep(0.5)
    simulator.kill()
    raise SystemExit("The channel simulator did not start.")


def sim_call(method, path, payload=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{SIMULATOR_PORT}{path}",
        data=json.dumps(payload).encode() if payload is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=600) as answer:
        return json.loads(answer.read() or b"null")


def shopify_calls():
    """(inventorySetQuantities calls, points they cost): a THROTTLED answer
    is a call that cost nothing."""
    report = sim_call("GET", "/_sim/report")
    name = "inventorySetQuantities"
    return report["calls"].get(name, 0), report["cost"].get(name, 0)


def measure(size, runs):
    import odoo
    from odoo.modules.registry import Registry

    registry = Registry(DATABASE)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        started = time.perf_counter()
        backend, location, product_ids = seed(env, size)
        cr.commit()
        seeded = time.perf_counter() - started
    row = {"variants": size, "seed_s": seeded}
    # Each is timed twice, alternately, and the best kept: the first reads
    # of the seeded rows warm PostgreSQL's cache for whichever comes second.
    row["baseline_s"] = row["compute_s"] = float("inf")
    for _round in range(2):
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            products = env["product.product"].browse(product_ids)
            started = time.perf_counter()
            products.with_context(location=location.id).read(["free_qty"])
            row["baseline_s"] = min(row["baseline_s"], time.perf_counter() - started)
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            backend = env["channel.backend"].browse(backend.id)
            started = time.perf_counter()
            to_send, skipped, _unchanged = backend._prepare_stock_export(full=True)
            row["compute_s"] = min(row["compute_s"], time.perf_counter() - started)
            if skipped or len(to_send) != size:
                raise SystemExit(f"{len(skipped)} of {size} levels were skipped")
            del to_send
            cr.rollback()
    row["full"] = [full_export(backend.id) for _run in range(runs)]
    row["floor_s"] = throttle_floor(row["full"][0]["calls"])
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        deliver(
            env,
            env["product.product"].browse(product_ids[:MOVES]),
            env["stock.location"].browse(location.id),
        )
        cr.commit()
        backend = env["channel.backend"].browse(backend.id)
        calls, _cost = shopify_calls()
        started = time.perf_counter()
        result = backend._job_export_stock()
        cr.commit()
        row["delta_s"] = time.perf_counter() - started
        row["delta_calls"] = shopify_calls()[0] - calls
        row["delta_result"] = result
    registry.delete(DATABASE)
    return row


def throttle_floor(calls):
    """Seconds the plan's bucket, full at the start, needs to give `calls`
    mutations their points: what no client can beat."""
    return max(0.0, calls * MUTATION_COST - BUCKET_SIZE) / RESTORE_RATE


def full_export(backend_id):
    """One full export job in a fresh worker process, once the bucket is full
    again: {seconds, calls, throttled, rss_growth_mb, result}."""
    time.sleep(BUCKET_SIZE / RESTORE_RATE)
    calls, cost = shopify_calls()
    worker = subprocess.run(
        [sys.executable, __file__, f"--export-job={backend_id}"],
        check=True,
        capture_output=True,
        text=True,
    )
    run = json.loads(worker.stdout.strip().splitlines()[-1])
    after_calls, after_cost = shopify_calls()
    run["calls"] = after_calls - calls
    run["throttled"] = run["calls"] - (after_cost - cost) // MUTATION_COST
    return run


def export_job(backend_id):
    """In the worker process: run the full export job, print its figures."""
    import odoo
    from odoo.modules.registry import Registry

    registry = Registry(DATABASE)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        backend = env["channel.backend"].browse(backend_id)
        backend.name  # noqa: B018 - the worker is warm before the clock starts
        start_kb = proc_status_kb("VmRSS")
        started = time.perf_counter()
        result = backend._job_export_stock(full=True)
        cr.commit()
        seconds = time.perf_counter() - started
    growth = (proc_status_kb("VmHWM") - start_kb) / 1024
    print(json.dumps({"seconds": seconds, "rss_growth_mb": growth, "result": result}))
    return 0


def proc_status_kb(key):
    """A figure of /proc/self/status in kB (VmRSS: resident now, VmHWM: peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise SystemExit(f"No {key} in /proc/self/status")


def seed(env, size):
    """N storable variants with stock, bound on a Shopify backend pointed at the
    simulator (whose variants are 100001.. with items 900001..).

    One row of each table is made through the ORM, then copied N-1 times in SQL:
    creating 100,000 products through the ORM would take longer than the
    benchmark itself and measures nothing of ours.
    """
    from odoo import Command

    warehouse = env["stock.warehouse"].search(
        [("company_id", "=", env.company.id)], limit=1
    )
    location = warehouse.lot_stock_id
    backend = env["channel.backend"].create(
        {
            "name": "Benchmark",
            "provider": "shopify",
            "state": "connected",
            "api_url": f"http://127.0.0.1:{SIMULATOR_PORT}",
            "shopify_access_token": "shpat_sim_token",
            "export_stock": True,
        }
    )
    product = env["product.product"].create(
        {"name": "Variant 1", "default_code": "SIM-000001", "is_storable": True}
    )
    env["stock.quant"]._update_available_quantity(product, location, 7)
    binding = env["channel.product.binding"].create(
        {
            "backend_id": backend.id,
            "company_id": env.company.id,
            "product_id": product.id,
            "external_ref": "100001",
            "inventory_item_ref": "900001",
        }
    )
    env["channel.stock.location"].create(
        {
            "backend_id": backend.id,
            "name": "Main warehouse",
            "location_ref": "1001",
            "location_ids": [Command.set(location.ids)],
        }
    )
    env.flush_all()
    cr = env.cr
    templates = copy_rows(
        cr,
        "product_template",
        product.product_tmpl_id.id,
        size - 1,
        {"name": "jsonb_build_object('en_US', 'Variant ' || (g + 1))"},
    )
    variants = copy_rows(
        cr,
        "product_product",
        product.id,
        size - 1,
        {
            "product_tmpl_id": "(%(ids)s::int[])[g]",
            "default_code": "'SIM-' || lpad((g + 1)::text, 6, '0')",
        },
        values={"ids": templates},
    )
    copy_rows(
        cr,
        "stock_quant",
        env["stock.quant"].search([("product_id", "=", product.id)]).id,
        size - 1,
        {"product_id": "(%(ids)s::int[])[g]", "quantity": "(g * 7) %% 50 + 1"},
        values={"ids": variants},
    )
    copy_rows(
        cr,
        "channel_product_binding",
        binding.id,
        size - 1,
        {
            "product_id": "(%(ids)s::int[])[g]",
            "external_ref": "(100001 + g)::text",
            "inventory_item_ref": "(900001 + g)::text",
        },
        values={"ids": variants},
    )
    env.invalidate_all()
    cr.execute("ANALYZE")
    return backend, location, [product.id, *variants]


def copy_rows(cr, table, source_id, count, overrides, *, values=None):
    """Insert `count` copies of one row (g = 1..count in `overrides`)."""
    cr.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_name = %s AND column_name != 'id'",
        [table],
    )
    columns = [row[0] for row in cr.fetchall()]
    selected = [overrides.get(column, f"source.{column}") for column in columns]
    cr.execute(
        f"INSERT INTO {table} ({', '.join(columns)})"  # noqa: S608
        f" SELECT {', '.join(selected)}"
        f" FROM {table} source, generate_series(1, %(count)s) g"
        " WHERE source.id = %(source)s ORDER BY g RETURNING id",
        {**(values or {}), "count": count, "source": source_id},
    )
    return [row[0] for row in cr.fetchall()]


def deliver(env, products, location):
    """One validated delivery of one unit of each product (MOVES stock moves)."""
    from odoo import Command

    warehouse = location.warehouse_id
    customers = env.ref("stock.stock_location_customers")
    picking = env["stock.picking"].create(
        {
            "picking_type_id": warehouse.out_type_id.id,
            "location_id": location.id,
            "location_dest_id": customers.id,
            "move_ids": [
                Command.create(
                    {
                        "product_id": product.id,
                        "product_uom_qty": 1,
                        "location_id": location.id,
                        "location_dest_id": customers.id,
                    }
                )
                for product in products
            ],
        }
    )
    picking.action_confirm()
    picking.action_assign()
    picking.move_ids.quantity = 1
    picking.button_validate()


def report(rows):
    print("\nStock export, Shopify (250 quantities per call)\n")
    print(
        f"{'variants':>9}{'baseline s':>12}{'compute s':>11}{'x base':>8}"
        f"{'delta s':>9}{'calls':>7}{'ceil':>6}"
    )
    for row in rows:
        print(
            f"{row['variants']:>9}{row['baseline_s']:>12.2f}{row['compute_s']:>11.2f}"
            f"{row['compute_s'] / row['baseline_s']:>8.2f}"
            f"{row['delta_s']:>9.2f}{row['delta_calls']:>7}"
            f"{math.ceil(MOVES / SHOPIFY_BATCH):>6}"
        )
    print(
        f"\nFull export, {len(rows[0]['full'])} runs each, Standard plan bucket"
        f" ({BUCKET_SIZE} points, {RESTORE_RATE:g}/s)\n"
    )
    print(
        f"{'variants':>9}{'floor s':>9}{'runs s':>22}{'spread':>8}{'x floor':>9}"
        f"{'calls':>7}{'ceil':>6}{'throttled':>10}{'RSS +MB':>9}"
    )
    for row in rows:
        times = [run["seconds"] for run in row["full"]]
        median = statistics.median(times)
        floor = row["floor_s"]
        print(
            f"{row['variants']:>9}{floor:>9.1f}"
            f"{' / '.join(f'{t:.1f}' for t in times):>22}"
            f"{max(times) - min(times):>8.1f}"
            f"{f'{median / floor:.2f}' if floor else '-':>9}"
            f"{max(run['calls'] for run in row['full']):>7}"
            f"{math.ceil(row['variants'] / SHOPIFY_BATCH):>6}"
            f"{sum(run['throttled'] for run in row['full']):>10}"
            f"{max(run['rss_growth_mb'] for run in row['full']):>9.0f}"
        )
    print(
        "\nbaseline: product.product.read(['free_qty']) in the mapped location;"
        "\ncompute: _prepare_stock_export(full=True); full: the full export job"
        " over HTTP in a fresh worker, the bucket full at its start (x floor:"
        " the median run against the throttle floor, max(0, calls x"
        f" {MUTATION_COST} - {BUCKET_SIZE}) / {RESTORE_RATE:g} s; RSS +MB: the"
        " worker's peak RSS during the job minus its RSS before, largest run);"
        f"\ndelta: the export job after {MOVES} delivered moves"
        f" ({rows[-1]['delta_result']})"
    )
    print(json.dumps({"bench": "stock_export", "uptime": load_average(), "rows": rows}))


def load_average():
    """The machine's load averages (1, 5, 15 min): the figures' context."""
    return Path("/proc/loadavg").read_text().split()[:3]


if __name__ == "__main__":
    sys.exit(main())
