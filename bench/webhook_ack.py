"""Webhook acknowledgement benchmark: our endpoint against a bare route and OCA.

Run with `make bench-webhooks` (README, "Benchmarks"). For each of two
databases (channel_connector, and OCA shopify_connector 19.0 installed from
PyPI for the benchmark only), a prefork Odoo server with 2 workers is started;
a separate process sends N signed Shopify orders/create deliveries at
concurrency C, each with its own X-Shopify-Webhook-Id/Event-Id, and the same
number of GET /web/health on that server as the baseline. The two loads
alternate in R rounds (N/R requests each), so a change of machine speed
during the run weighs on both alike. Prints p50/p99 latency, requests/s and
the ratio of each endpoint to the bare route of the same server. The
queue_job runner is not loaded: both endpoints only enqueue.

On our server a third route is measured in the same rounds: the floor a
durable store cannot beat, `/channel_bench_floor/store` of the benchmark's
own module bench/addons/channel_bench_floor (installed into the benchmark
database only, never shipped): the same route options as our endpoint, one
row inserted, committed. Ours is reported against the bare route and the
floor. The whole measurement runs `--runs` times (3) for the spread.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tools"), str(ROOT)]
import devctl  # noqa: E402
import figures  # noqa: E402
from load import summary  # noqa: E402

from simulator.reference import reference_path  # noqa: E402

SECRET = "bench_webhook_secret"
# Parallel checkouts on one machine set their own databases and port.
OURS_DB = os.environ.get("CHANNEL_BENCH_DB", "channel_bench_ours")
OCA_DB = os.environ.get("CHANNEL_BENCH_OCA_DB", "channel_bench_oca")
PORT = int(os.environ.get("CHANNEL_BENCH_HTTP_PORT", "8369"))
FLOOR_MODULE = "channel_bench_floor"
FLOOR_ROUTE = "/channel_bench_floor/store"
SAMPLE = ("shopify", "webhooks", "hmac_test_vectors", "orders__create.body.json")

SETUP_OURS = """
backend = env["channel.backend"].search([("name", "=", "Benchmark")], limit=1)
if not backend:
    backend = env["channel.backend"].create({
        "name": "Benchmark", "provider": "shopify", "state": "connected",
        "webhook_secret": %(secret)r, "api_url": "http://127.0.0.1:9"})
env.cr.commit()
print("RECORD_ID", backend.id)
"""
SETUP_OCA = """
instance = env["shopify.instance"].search([("name", "=", "Benchmark")], limit=1)
if not instance:
    instance = env["shopify.instance"].create({
        "name": "Benchmark", "shop_url": "bench-shop.myshopify.com",
        "webhook_secret": %(secret)r})
env.cr.commit()
print("RECORD_ID", instance.id)
"""


def ensure_database(params, config, name, module):
    if name in devctl.database_names(params):
        return
    print(f"installing {module} into {name} (once)", flush=True)
    if module == devctl.MODULE:
        template = f"{devctl.TEMPLATE_PREFIX}{devctl.module_digest()}"
        if template in devctl.database_names(params):
            devctl.copy_database(params, template, name)
            return
    subprocess.run(
        devctl.odoo_command(
            config, "-d", name, "-i", module, "--stop-after-init", "--log-level=warn"
        ),
        check=True,
    )


def record_id(config, database, script):
    odoo_bin = str(devctl.ODOO_PATH / "odoo-bin")
    result = subprocess.run(
        [
            sys.executable,
            odoo_bin,
            "shell",
            "-c",
            str(config),
            "-d",
            database,
            "--log-level=warn",
        ],
        input=script % {"secret": SECRET},
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("RECORD_ID"))
    return int(line.split()[1])


def start_server(config, database):
    command = devctl.odoo_command(
        config,
        "-d",
        database,
        f"--db-filter=^{database}$",
        "--workers=2",
        f"--http-port={PORT}",
        "--max-cron-threads=0",
        "--log-level=warn",
        "--load=base,rpc,web",
    )
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    for _ in range(120):
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{PORT}/web/health", timeout=2
            ):
                return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("The benchmark server did not start.")


def load(url, requests, concurrency, spec_file=None):
    command = [
        sys.executable,
        str(ROOT / "bench" / "load.py"),
        url,
        str(requests),
        str(concurrency),
    ]
    if spec_file:
        command.append(spec_file)
    output = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(output.stdout)


def spec_file(body_path, headers, folder):
    path = Path(folder, "spec.json")
    path.write_text(
        json.dumps(
            {
                "body_file": str(body_path),
                "headers": headers,
                "unique_headers": ["X-Shopify-Webhook-Id", "X-Shopify-Event-Id"],
            }
        )
    )
    return str(path)


def measure(config, database, routes, args):
    """{label: summary} per run: `routes` ([(label, path, spec or None)])
    alternate in `args.rounds` rounds on one server, after a warm-up."""
    server = start_server(config, database)
    base = f"http://127.0.0.1:{PORT}"
    runs = []
    try:
        for _label, path, spec in routes:
            load(f"{base}{path}", 100, args.concurrency, spec)  # warm up
        for _run in range(args.runs):
            samples = {label: [] for label, _path, _spec in routes}
            for share in shares(args.requests, args.rounds):
                for label, path, spec in routes:
                    samples[label].append(
                        load(f"{base}{path}", share, args.concurrency, spec)
                    )
            runs.append({label: summary(data) for label, data in samples.items()})
    finally:
        server.terminate()
        server.wait(30)
    return runs


def shares(requests, rounds):
    share, rest = divmod(requests, rounds)
    return [share + (i < rest) for i in range(rounds)]


def ensure_floor(params, config, database):
    """The floor module, next to the addon in the benchmark's addons folder
    and installed into the benchmark database (once)."""
    link = devctl.BUILD / "addons" / FLOOR_MODULE
    if not link.is_symlink():
        link.symlink_to(ROOT / "bench" / "addons" / FLOOR_MODULE)
    connection = devctl.connect(params, database)
    with connection.cursor() as cr:
        cr.execute("SELECT state FROM ir_module_module WHERE name = %s", [FLOOR_MODULE])
        row = cr.fetchone()
    connection.close()
    if row and row[0] == "installed":
        return
    subprocess.run(
        devctl.odoo_command(
            config,
            "-d",
            database,
            "-i",
            FLOOR_MODULE,
            "--stop-after-init",
            "--log-level=warn",
        ),
        check=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--ours-only", action="store_true", help="skip OCA (our ratio to bare only)"
    )
    args = parser.parse_args()
    if not args.ours_only:
        devctl.install_benchmark_package()
    _source, params = devctl.discover_postgres(os.environ)
    devctl.link_addon(devctl.BUILD / "addons")
    config = devctl.write_odoo_config(
        devctl.BUILD / "bench.conf", params, PORT, devctl.BUILD / "addons"
    )
    ensure_database(params, config, OURS_DB, devctl.MODULE)
    ensure_floor(params, config, OURS_DB)
    ours_id = record_id(config, OURS_DB, SETUP_OURS)
    if not args.ours_only:
        ensure_database(params, config, OCA_DB, "shopify_connector")
        oca_id = record_id(config, OCA_DB, SETUP_OCA)
    body_path = reference_path(*SAMPLE)
    body = body_path.read_bytes()
    signature = base64.b64encode(
        hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    ).decode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Shop-Domain": "bench-shop.myshopify.com",
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Triggered-At": "2026-07-10T16:15:47.000000Z",
    }
    with tempfile.TemporaryDirectory() as folder:
        spec = spec_file(body_path, headers, folder)
        ours = measure(
            config,
            OURS_DB,
            [
                ("bare", "/web/health", None),
                ("floor", FLOOR_ROUTE, spec),
                ("ours", f"/channel_connector/webhook/{ours_id}", spec),
            ],
            args,
        )
        oca = []
        if not args.ours_only:
            oca = measure(
                config,
                OCA_DB,
                [
                    ("bare", "/web/health", None),
                    ("oca", f"/shopify/webhook/{oca_id}", spec),
                ],
                args,
            )
    sys.exit(report(args, ours, oca))


def ratios(runs, label, against):
    return figures.spread([run[label]["rps"] / run[against]["rps"] for run in runs])


def report(args, ours, oca):
    """The table of every route, the ratios with their spread, one JSON line."""
    rows = []
    for server, runs, labels in (
        ("ours", ours, ("bare", "floor", "ours")),
        ("OCA", oca, ("bare", "oca")),
    ):
        for label in labels if runs else ():
            rps = figures.spread([run[label]["rps"] for run in runs])
            rows.append(
                [
                    f"{server} server: {label}",
                    figures.spread([run[label]["p50_ms"] for run in runs])["median"],
                    figures.spread([run[label]["p99_ms"] for run in runs])["median"],
                    ", ".join(f"{v:.1f}" for v in rps["runs"]),
                    rps["spread"],
                    ratios(runs, label, "bare")["median"],
                    sum(sum(run[label]["statuses"].values()) for run in runs),
                ]
            )
    figures.table(
        f"Webhook ack: {args.requests} signed orders/create deliveries per route "
        f"and run, concurrency {args.concurrency}, {args.rounds} rounds alternating "
        f"the routes, prefork server with 2 workers; {args.runs} run(s); medians",
        ["route", "p50 ms", "p99 ms", "req/s (runs)", "spread", "x bare", "requests"],
        rows,
    )
    to_bare = ratios(ours, "ours", "bare")
    to_floor = ratios(ours, "ours", "floor")
    floor_to_bare = ratios(ours, "floor", "bare")
    print(
        f"\nours / bare: {', '.join(map(str, to_bare['runs']))} (median "
        f"{to_bare['median']:.2f}, target >= 0.6: "
        f"{'met' if to_bare['median'] >= 0.6 else 'NOT met'}); ours / floor: "
        f"{', '.join(map(str, to_floor['runs']))} (median {to_floor['median']:.2f}); "
        f"floor / bare: {floor_to_bare['median']:.2f}"
    )
    p99 = figures.spread([run["ours"]["p99_ms"] for run in ours])["median"]
    figures_out = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "runs": args.runs,
        "ours_to_bare": to_bare,
        "ours_to_floor": to_floor,
        "floor_to_bare": floor_to_bare,
        "ours_p99_ms": p99,
        "rps": {
            label: figures.spread([run[label]["rps"] for run in ours])
            for label in ("bare", "floor", "ours")
        },
    }
    if oca:
        oca_p99 = figures.spread([run["oca"]["p99_ms"] for run in oca])["median"]
        figures_out["oca_to_bare"] = ratios(oca, "oca", "bare")
        figures_out["oca_p99_ms"] = oca_p99
        print(
            f"p99 below OCA's -> {p99} vs {oca_p99} ms "
            f"({'met' if p99 < oca_p99 else 'NOT met'})"
        )
    bad = [
        f"{label}: {run[label]['statuses']}"
        for run in ours
        for label in ("floor", "ours")
        # JSON from bench/load.py: the statuses are strings.
        if set(map(str, run[label]["statuses"])) != {"200"}
    ]
    for problem in bad:
        print(f"CHECK FAILED not every answer 200: {problem}")
    figures.json_line("webhook_ack", {**figures_out, "problems": bad})
    return 1 if bad else 0


if __name__ == "__main__":
    main()
