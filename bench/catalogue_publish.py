"""Catalogue publishing: a price list change on N variants, calls and time.

Run with `make bench-catalogue` (bench/README.rst). A database is copied
from the module's template; a channel simulator runs as its own process
with a Plus-sized GraphQL bucket (so that the plan's throttle, reported as
the floor, does not hide our own time). N variants (10,000 by default) are
made through the ORM as products of `--per-product` variants (100: one
option of 100 values), each with a SKU and a weight, sold on a Shopify and
a WooCommerce backend publishing with one price list; both catalogues are
first published whole (timed, not the figure). Then `--runs` times (3): the
price list's global rule changes (every variant's price moves), and each
backend's publishing job runs once, in this process, timed from its start
to its commit:

- calls: the API calls the job made, against the channel's minimum for
  the changed variants: Shopify's productVariantsBulkUpdate takes the
  variants of one product, at most 250 (its input-array cap), so one call
  per product and per 250 variants; WooCommerce's variations/batch takes
  100 objects of one parent product, so ceil(variants / 100) per product;
  plus the store settings read once per run (currency, weight unit);
- time: the job's seconds (median and spread of the runs).

A run whose job refused or skipped a product, or made more calls than the
minimum, is a failed check (exit code 1). The last line printed is the
figures as one JSON object.
"""

import argparse
import json
import math
import os
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tools"), str(ROOT)]
import devctl  # noqa: E402
import figures  # noqa: E402
import stock_export  # noqa: E402
from stock_export import SIMULATOR_PORT, setup_odoo, start_simulator  # noqa: E402

DATABASE = os.environ.get("CHANNEL_BENCH_DB", "channel_bench_catalogue")
# Shopify Plus: the channel's throttle is reported, not what we measure.
BUCKET_SIZE = 10_000
RESTORE_RATE = 1_000.0
# The channels' batch limits the minimum is computed from.
SHOPIFY_PRICE_BATCH = 250
WOO_BATCH = 100
# The simulator's call-count keys of the price writes and settings reads.
PRICE_CALLS = {
    "shopify": ("productVariantsBulkUpdate",),
    "woocommerce": ("POST variations", "POST products"),
}
READ_CALLS = {
    "shopify": ("shop",),
    "woocommerce": ("GET settings",),
}


def minimum_calls(provider, changed_per_product):
    """The fewest calls that write the prices of `changed_per_product`
    ([variants changed of each product]) on `provider`."""
    batch = SHOPIFY_PRICE_BATCH if provider == "shopify" else WOO_BATCH
    return sum(math.ceil(count / batch) for count in changed_per_product if count)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=10_000)
    parser.add_argument("--per-product", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.variants % args.per_product:
        raise SystemExit("--variants must be a multiple of --per-product")
    params, template = setup_odoo()
    if template not in devctl.database_names(params):
        devctl.install_module(stock_export.CONFIG, template, with_demo=False)
    devctl.copy_database(params, template, DATABASE)
    simulator = start_simulator(0, bucket_size=BUCKET_SIZE, restore_rate=RESTORE_RATE)
    try:
        figures_ = measure(args)
    finally:
        simulator.terminate()
        simulator.wait(30)
        devctl.drop_database(params, DATABASE)
    return report(args, figures_)


def sim_report():
    url = f"http://127.0.0.1:{SIMULATOR_PORT}/_sim/report"
    with urllib.request.urlopen(url, timeout=600) as answer:
        return json.loads(answer.read())


def channel_calls(provider, names):
    calls = sim_report()["calls"]
    return sum(calls.get(name, 0) for name in names)


def measure(args):
    import odoo
    from odoo.modules.registry import Registry

    registry = Registry(DATABASE)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        started = time.perf_counter()
        backends, rule = seed(env, args.variants, args.per_product)
        cr.commit()
        backend_ids = dict(zip(backends.mapped("provider"), backends.ids, strict=True))
        result = {"seed_s": time.perf_counter() - started, "initial": {}}
        for backend in backends:
            started = time.perf_counter()
            outcome = backend._job_publish_catalogue()
            cr.commit()
            result["initial"][backend.provider] = {
                "seconds": time.perf_counter() - started,
                "result": outcome,
            }
    products = args.variants // args.per_product
    changed = [args.per_product] * products
    result["runs"] = {provider: [] for provider in backend_ids}
    for run in range(args.runs):
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            env["product.pricelist.item"].browse(rule).price_discount = 5 + run
            cr.commit()
            for backend in env["channel.backend"].browse(backend_ids.values()):
                result["runs"][backend.provider].append(
                    price_run(backend, changed, products)
                )
    registry.delete(DATABASE)
    return result


def price_run(backend, changed, products):
    """One publishing job after the price change: its figures and checks."""
    provider = backend.provider
    before = channel_calls(provider, PRICE_CALLS[provider])
    reads_before = channel_calls(provider, READ_CALLS[provider])
    started = time.perf_counter()
    outcome = backend._job_publish_catalogue()
    backend.env.cr.commit()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "calls": channel_calls(provider, PRICE_CALLS[provider]) - before,
        "reads": channel_calls(provider, READ_CALLS[provider]) - reads_before,
        "minimum": minimum_calls(provider, changed),
        "products": products,
        "result": outcome,
    }


def seed(env, variants, per_product):
    """N variants in N / per_product products sold on both backends, and the
    price list's global rule the runs move."""
    from odoo import Command

    url = f"http://127.0.0.1:{SIMULATOR_PORT}"
    pricelist = env["product.pricelist"].create(
        {
            "name": "Benchmark prices",
            "currency_id": env.company.currency_id.id,
            "item_ids": [
                Command.create(
                    {
                        "applied_on": "3_global",
                        "compute_price": "formula",
                        "base": "list_price",
                        "price_discount": 0,
                    }
                )
            ],
        }
    )
    values = {
        "state": "connected",
        "api_url": url,
        "publish_catalogue": True,
        "catalogue_pricelist_id": pricelist.id,
    }
    backends = env["channel.backend"].create(
        [
            {
                **values,
                "name": "Benchmark Shopify",
                "provider": "shopify",
                "shopify_access_token": "shpat_sim_token",
            },
            {
                **values,
                "name": "Benchmark WooCommerce",
                "provider": "woocommerce",
                "woocommerce_consumer_key": "ck_sim",
                "woocommerce_consumer_secret": "cs_sim",
            },
        ]
    )
    size = env["product.attribute"].create(
        {
            "name": "Size",
            "value_ids": [
                Command.create({"name": f"S{n:04d}"}) for n in range(per_product)
            ],
        }
    )
    templates = env["product.template"].create(
        [
            {
                "name": f"Benchmark product {n}",
                "list_price": 20.0 + n % 50,
                "weight": 0.5,
                "is_storable": True,
                "channel_sell_on_ids": [Command.set(backends.ids)],
                "attribute_line_ids": [
                    Command.create(
                        {
                            "attribute_id": size.id,
                            "value_ids": [Command.set(size.value_ids.ids)],
                        }
                    )
                ],
            }
            for n in range(variants // per_product)
        ]
    )
    # One UPDATE instead of N ORM writes: the SKUs are set-up, not measured.
    env.flush_all()
    env.cr.execute(
        "UPDATE product_product SET default_code = 'CAT-' || lpad(id::text, 7, '0')"
        " WHERE product_tmpl_id = ANY(%s)",
        [templates.ids],
    )
    env.invalidate_all()
    return backends, pricelist.item_ids.id


def report(args, result):
    """Print the table and the JSON line; 1 when a check failed."""
    rows, failed = [], []
    for provider, runs in result["runs"].items():
        for index, run in enumerate(runs, start=1):
            if run["calls"] > run["minimum"] or "refused 0" not in run["result"]:
                failed.append(f"run {index} {provider}: {run['result']}")
            if f"prices {run['products']}" not in run["result"]:
                failed.append(f"run {index} {provider}: not every product sent")
        times = figures.spread([run["seconds"] for run in runs])
        rows.append(
            [
                provider,
                " / ".join(f"{t:.1f}" for t in times["runs"]),
                times["median"],
                times["spread"],
                max(run["calls"] for run in runs),
                runs[0]["minimum"],
                max(run["reads"] for run in runs),
                round(args.variants / times["median"]) if times["median"] else "-",
            ]
        )
    figures.table(
        f"Price list change on {args.variants:,} variants "
        f"({args.variants // args.per_product} products of {args.per_product}), "
        f"{args.runs} runs",
        [
            "channel",
            "runs s",
            "median s",
            "spread s",
            "calls",
            "minimum",
            "reads",
            "variants/s",
        ],
        rows,
    )
    print(
        "calls: price writes of the job (Shopify productVariantsBulkUpdate,"
        " WooCommerce variations/batch); minimum: one per product and per"
        f" {SHOPIFY_PRICE_BATCH} (Shopify) or {WOO_BATCH} (WooCommerce) changed"
        " variants; reads: store settings (currency, weight unit) read once per"
        " run. Initial publish: "
        + ", ".join(
            f"{provider} {run['seconds']:.1f} s ({run['result']})"
            for provider, run in result["initial"].items()
        )
    )
    for line in failed:
        print(f"CHECK FAILED {line}")
    figures.json_line(
        "catalogue_publish",
        {
            "variants": args.variants,
            "per_product": args.per_product,
            "seed_s": round(result["seed_s"], 1),
            "initial": result["initial"],
            "channels": {
                provider: {
                    "seconds": figures.spread([run["seconds"] for run in runs]),
                    "calls": [run["calls"] for run in runs],
                    "minimum": runs[0]["minimum"],
                    "reads": [run["reads"] for run in runs],
                }
                for provider, runs in result["runs"].items()
            },
            "failed": failed,
        },
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
