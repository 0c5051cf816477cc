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
sys.path[:0] = [str(ROOT / "tools"), str(ROOT)]
import devctl  # noqa: E402
from load import summary  # noqa: E402

from simulator.reference import reference_path  # noqa: E402

SECRET = "bench_webhook_secret"
# Parallel checkouts on one machine set their own databases and port.
OURS_DB = os.environ.get("CHANNEL_BENCH_DB", "channel_bench_ours")
OCA_DB = os.environ.get("CHANNEL_BENCH_OCA_DB", "channel_bench_oca")
PORT = int(os.environ.get("CHANNEL_BENCH_HTTP_PORT", "8369"))
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


def measure(config, database, route, args, spec):
    server = start_server(config, database)
    try:
        base = f"http://127.0.0.1:{PORT}"
        load(f"{base}/web/health", 100, args.concurrency)  # warm up the workers
        load(f"{base}{route}", 100, args.concurrency, spec)
        bare, endpoint = [], []
        for share in shares(args.requests, args.rounds):
            bare.append(load(f"{base}/web/health", share, args.concurrency))
            endpoint.append(load(f"{base}{route}", share, args.concurrency, spec))
    finally:
        server.terminate()
        server.wait(30)
    return summary(bare), summary(endpoint)


def shares(requests, rounds):
    share, rest = divmod(requests, rounds)
    return [share + (i < rest) for i in range(rounds)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4)
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
        ours_bare, ours = measure(
            config, OURS_DB, f"/channel_connector/webhook/{ours_id}", args, spec
        )
        oca_bare, oca = (None, None)
        if not args.ours_only:
            oca_bare, oca = measure(
                config, OCA_DB, f"/shopify/webhook/{oca_id}", args, spec
            )
    report(args, ours_bare, ours, oca_bare, oca)


def report(args, ours_bare, ours, oca_bare, oca):
    print(
        f"\nWebhook ack: {args.requests} signed orders/create deliveries, "
        f"concurrency {args.concurrency}, {args.rounds} rounds alternating with "
        "the bare route, prefork server with 2 workers\n"
    )
    print(
        f"{'endpoint':<34}{'p50 ms':>8}{'p99 ms':>8}{'req/s':>8}{'x bare':>8}  statuses"
    )
    rows = (
        ("bare /web/health (our server)", ours_bare, ours_bare),
        ("channel_connector webhook", ours, ours_bare),
        ("bare /web/health (OCA server)", oca_bare, oca_bare),
        ("OCA shopify_connector webhook", oca, oca_bare),
    )
    for label, figures, bare in rows:
        if figures is None:
            continue
        ratio = figures["rps"] / bare["rps"]
        print(
            f"{label:<34}{figures['p50_ms']:>8}{figures['p99_ms']:>8}"
            f"{figures['rps']:>8}{ratio:>8.2f}  {figures['statuses']}"
        )
    ours_ratio = ours["rps"] / ours_bare["rps"]
    print(
        f"\ntarget: ours >= 0.6 x bare -> {ours_ratio:.2f} "
        f"({'met' if ours_ratio >= 0.6 else 'NOT met'})"
    )
    if oca:
        print(
            f"p99 below OCA's -> {ours['p99_ms']} vs {oca['p99_ms']} ms "
            f"({'met' if ours['p99_ms'] < oca['p99_ms'] else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
