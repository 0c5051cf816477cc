"""Order import benchmark: Shopify orders to paid sale orders, three ways.

Run with `.venv/bin/python bench/order_import.py --orders 150`. A channel
simulator (in this process, its rate limit lifted) generates the orders once:
C customers (30 by default) each place one warm-up order, whose lines cover
every SKU of a P-variant catalogue (20 by default); then N orders of 3 lines
(quantities 1 to 3, 20 % tax excluded, no shipping, paid) come from repeat
customers among the C, paid through the "manual" gateway. Every order is
read through GraphQL twice, in our shape (`ORDER_QUERY`) and in OCA's
(`ORDER_BY_ID_QUERY`), and the same orders go three ways, each in a fresh
database:

- native floor (channel_bench_orders_native, a copy of our template):
  `sale.order.create()` with the same partner and contacts, products,
  quantities, prices and tax as ours gives, then `action_confirm()`,
  `_create_invoices()`, `action_post()` and `account.payment.register` on the
  bank journal; partners and products are looked up before the clock starts;
- ours (channel_bench_orders, same template): the body of our order job,
  `parse_shopify_graphql_order(node)` then
  `channel.order.binding._import_order(backend, order)` (partner and product
  resolution, tax mapping, total check, confirmation, invoice, payment of
  the capture on the journal mapped to its gateway);
- OCA (channel_bench_orders_oca, shopify_connector 19.0 from PyPI installed
  once in channel_bench_orders_oca_tpl_<version>): the body of its import job
  once the order is read, `shopify.order._job_import_order(instance.id,
  payload)` (normalisation, bindings, tax mapping, total check, confirmation,
  invoice on paid, payment on the journal of its gateway).

All three confirm, invoice (posted) and pay every order: the full order to
cash, not confirmation alone. The warm-up orders (not
counted) create our partners and product bindings; OCA, which only matches
bound customers and variants, gets the same customers and variants bound
beforehand, and the native path gets the same partners. So every counted
order is from a known customer with known products on all three paths. Each
path runs its warm-up, then the N orders in one transaction committed at the
end (commit included in the time). Prints orders/s and ms per order,
ours/native (target <= 1.3) and OCA/native; exits non-zero unless each path
ends with the N orders confirmed, invoiced and paid at the channel's totals,
for known partners. `--runs` (3) repeats the three paths for the spread.
"""

import argparse
import copy
import importlib.metadata
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tools")]
import devctl  # noqa: E402
import figures  # noqa: E402

# Parallel checkouts on one machine set their own database names.
DATABASE = os.environ.get("CHANNEL_BENCH_DB", "channel_bench_orders")
NATIVE_DATABASE = f"{DATABASE}_native"
OCA_DATABASE = f"{DATABASE}_oca"
OCA_TEMPLATE_PREFIX = f"{DATABASE}_oca_tpl_"
OCA_DISTRIBUTION = "odoo-addon-shopify_connector"
TAX_RATE = "0.20"
LINES = 3
TARGET = 1.3
# OCA's query asks for 250 line items, 100 shipping lines...: 6,886 points,
# which Shopify (and the simulator, costing as Shopify does) refuses above
# 1,000. The same fields with smaller pages give the same payload for orders
# of 3 lines.
OCA_PAGE_SIZE = 10
# One gateway, mapped to the bank journal on every path.
GATEWAY = "manual"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=150)
    parser.add_argument("--customers", type=int, default=30)
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases for inspection"
    )
    args = parser.parse_args()
    if args.products < LINES or args.customers * LINES < args.products:
        parser.error("need products >= 3 and customers * 3 >= products")
    devctl.install_benchmark_package()
    _source, params = devctl.discover_postgres(os.environ)
    devctl.link_addon(devctl.BUILD / "addons")
    config = devctl.write_odoo_config(
        devctl.BUILD / "bench.conf", params, 8369, devctl.BUILD / "addons"
    )
    template = f"{devctl.TEMPLATE_PREFIX}{devctl.module_digest()}"
    if template not in devctl.database_names(params):
        devctl.install_module(config, template, with_demo=False)
    oca_template = ensure_oca_template(params, config)
    sys.path[:0] = [str(devctl.ODOO_PATH), str(ROOT)]
    import odoo.tools
    from odoo.modules.module import initialize_sys_path

    odoo.tools.config.parse_config(["-c", str(config), "--log-level=warn"])
    initialize_sys_path()
    started = time.perf_counter()
    data = generate(args)
    print(
        f"generated {len(data['warmup'])} warm-up and {len(data['orders'])} "
        f"orders in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    runs = []
    for index in range(args.runs):
        print(f"run {index + 1} of {args.runs}", flush=True)
        copy_database(params, template, NATIVE_DATABASE)
        copy_database(params, template, DATABASE)
        copy_database(params, oca_template, OCA_DATABASE)
        try:
            runs.append(
                [
                    measure("native", NATIVE_DATABASE, NativePath, data),
                    measure("ours", DATABASE, OursPath, data),
                    measure("OCA", OCA_DATABASE, OcaPath, data),
                ]
            )
        finally:
            if not args.keep or index < args.runs - 1:
                for name in (NATIVE_DATABASE, DATABASE, OCA_DATABASE):
                    devctl.drop_database(params, name)
    sys.exit(report(args, runs, data))


def ensure_oca_template(params, config):
    """OCA shopify_connector installed once, in a database named after its
    version; each run copies it."""
    version = importlib.metadata.version(OCA_DISTRIBUTION)
    name = OCA_TEMPLATE_PREFIX + re.sub(r"\W", "_", version)
    if name not in devctl.database_names(params):
        print(f"installing shopify_connector {version} into {name} (once)")
        try:
            subprocess.run(
                devctl.odoo_command(
                    config,
                    "-d",
                    name,
                    "-i",
                    "shopify_connector",
                    "--stop-after-init",
                    "--log-level=warn",
                ),
                check=True,
            )
        except subprocess.CalledProcessError:
            devctl.drop_database(params, name)
            raise
    return name


def copy_database(params, template, name, wait=600):
    """Copy a template, waiting while another process uses it (`make test`
    installing or copying the module's template at the same time)."""
    import psycopg2

    deadline = time.monotonic() + wait
    while True:
        try:
            return devctl.copy_database(params, template, name)
        except psycopg2.errors.ObjectInUse:
            if time.monotonic() > deadline:
                raise
            print(f"{template} is in use, waiting", flush=True)
            time.sleep(5)


# === THE ORDERS ===


def generate(args):
    """Catalogue, customers, warm-up and counted orders, in both shapes."""
    from odoo.addons.channel_connector.adapters.orders_shopify import ORDER_QUERY
    from odoo.addons.shopify_connector.graphql.order import ORDER_BY_ID_QUERY

    from simulator import ChannelSimulator
    from simulator.testing import graphql

    oca_query = re.sub(r"\(first: \d+", f"(first: {OCA_PAGE_SIZE}", ORDER_BY_ID_QUERY)
    picker = random.Random(args.seed)
    sim = ChannelSimulator(seed=args.seed, bucket_size=10**9, restore_rate=10**9)
    sim.start()
    try:
        state = sim.state
        state.seed_catalogue(args.products, quantity=10**6)
        skus = sorted(v["sku"] for v in state.variants.values())
        catalogue = [
            {
                "sku": variant["sku"],
                "name": state.products[variant["product"]]["title"],
                "price": str(variant["price"]),
                "variant_gid": f"gid://shopify/ProductVariant/{variant['id']}",
                "product_gid": f"gid://shopify/Product/{variant['product']}",
            }
            for variant in state.variants.values()
        ]

        def order(customer, lines):
            summary = sim.scenario.create_order(
                channel="shopify",
                notify=False,
                lines=lines,
                tax_rate=TAX_RATE,
                shipping=None,
                customer=customer,
                financial_status="paid",
                gateway=GATEWAY,
            )
            variables = {"id": f"gid://shopify/Order/{summary['id']}"}
            ours = answer(graphql(sim, ORDER_QUERY, variables))
            oca = answer(graphql(sim, oca_query, variables))
            return {"ours": ours, "oca": oca_payload(oca, ours)}

        warmup = [
            order(
                "new",
                [(skus[(k * LINES + j) % len(skus)], 1 + j) for j in range(LINES)],
            )
            for k in range(args.customers)
        ]
        orders = [
            order(
                "repeat",
                [(sku, picker.randint(1, 3)) for sku in picker.sample(skus, LINES)],
            )
            for _ in range(args.orders)
        ]
    finally:
        sim.stop()
    customers = [item["ours"]["customer"] for item in warmup]
    addresses = [item["ours"]["shippingAddress"] for item in warmup]
    return {
        "catalogue": catalogue,
        "customers": list(zip(customers, addresses, strict=True)),
        "warmup": warmup,
        "orders": orders,
    }


def answer(response):
    body = response.json()
    if body.get("errors") or not (body.get("data") or {}).get("order"):
        raise SystemExit(f"The simulator refused an order query: {body}")
    return body["data"]["order"]


def oca_payload(node, ours):
    """OCA's answer as its import job hands it to `_job_import_order`.

    The simulator leaves null (empty money) what it does not model: the
    `current*` totals, which equal the order's totals with no refund or
    edit, `discountedUnitPriceAfterAllDiscountsSet` (the unit price, with no
    discount), the cash rounding (zero), `number` and `sourceName`. They are
    filled from the same order as Shopify would; `_job_import_order_from_api`
    then replaces refunds and returns by their details (none here).
    """

    def bag(block):
        money = dict(block["shopMoney"])
        return {"shopMoney": money, "presentmentMoney": dict(money)}

    currency = ours["currencyCode"]
    zero = bag({"shopMoney": {"amount": "0.00", "currencyCode": currency}})
    payload = copy.deepcopy(node)
    payload.update(
        number=int(ours["name"].lstrip("#")),
        sourceName="web",
        totalCashRoundingAdjustment={"paymentSet": zero, "refundSet": zero},
        currentSubtotalPriceSet=bag(ours["subtotalPriceSet"]),
        currentTotalDiscountsSet=bag(ours["totalDiscountsSet"]),
        currentShippingPriceSet=bag(ours["totalShippingPriceSet"]),
        currentTotalTaxSet=bag(ours["totalTaxSet"]),
        refunds={"nodes": []},
        returns={"nodes": []},
    )
    for line in payload["lineItems"]["nodes"]:
        if line["discountAllocations"]:
            raise SystemExit("The benchmark orders have no discounts.")
        line["discountedUnitPriceAfterAllDiscountsSet"] = line["originalUnitPriceSet"]
    if '"amount": ""' in json.dumps(payload):
        raise SystemExit(f"Unfilled money in an OCA payload: {payload}")
    return payload


# === THE THREE PATHS ===


class NativePath:
    """`sale.order.create()` + `action_confirm()`, everything known beforehand."""

    def __init__(self, env, data):
        self.env = env
        tax = _seed_common(env, data)
        self.journal_id = _bank_journal(env).id
        products = {p.default_code: p.id for p in env["product.product"].search([])}
        contacts = {}
        for customer, address in data["customers"]:
            partner = env["res.partner"].create(_partner_values(customer))
            children = env["res.partner"].create(
                [
                    {
                        **_address_values(env, address),
                        "parent_id": partner.id,
                        "type": kind,
                    }
                    for kind in ("invoice", "delivery")
                ]
            )
            contacts[_ref(customer["id"])] = (partner.id, *children.ids)
        self.values = {}
        for item in data["warmup"] + data["orders"]:
            node = item["ours"]
            partner, invoice, delivery = contacts[_ref(node["customer"]["id"])]
            self.values[node["id"]] = {
                "partner_id": partner,
                "partner_invoice_id": invoice,
                "partner_shipping_id": delivery,
                "client_order_ref": node["name"],
                "origin": f"Native {node['name']}",
                "date_order": node["createdAt"].replace("T", " ").rstrip("Z"),
                "order_line": [
                    (
                        0,
                        0,
                        {
                            "product_id": products[line["sku"]],
                            "name": line["name"],
                            "product_uom_qty": line["quantity"],
                            "price_unit": float(
                                line["originalUnitPriceSet"]["shopMoney"]["amount"]
                            ),
                            "tax_ids": [(6, 0, [tax])],
                        },
                    )
                    for line in node["lineItems"]["nodes"]
                ],
            }

    def bind(self, env):
        self.env = env
        return self

    def run(self, item):
        order = self.env["sale.order"].create(self.values[item["ours"]["id"]])
        order.action_confirm()
        invoices = order._create_invoices()
        invoices.action_post()
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoices.ids
        ).create({"journal_id": self.journal_id})._create_payments()
        return order.id


class OursPath:
    """Parse the GraphQL node, then `_import_order` (our order job's body)."""

    def __init__(self, env, data):
        tax = _seed_common(env, data)
        self.backend_id = (
            env["channel.backend"]
            .create(
                {
                    "name": "Benchmark",
                    "provider": "shopify",
                    "state": "connected",
                    "api_url": "http://127.0.0.1:9",
                    "shopify_shop_domain": "bench-shop.myshopify.com",
                    "shopify_access_token": "shpat_bench_token",
                    "order_confirm": True,
                    "order_create_invoice": True,
                    "order_register_payment": True,
                    "order_read_from_channel": False,
                }
            )
            .id
        )
        env["channel.tax.mapping"].create(
            {"backend_id": self.backend_id, "rate": 20, "tax_id": tax}
        )
        env["channel.payment.mapping"].create(
            {
                "backend_id": self.backend_id,
                "gateway": GATEWAY,
                "journal_id": _bank_journal(env).id,
            }
        )

    def bind(self, env):
        from odoo.addons.channel_connector.adapters.orders_shopify import (
            parse_shopify_graphql_order,
        )

        self.parse = parse_shopify_graphql_order
        self.bindings = env["channel.order.binding"]
        self.backend = env["channel.backend"].browse(self.backend_id)
        return self

    def run(self, item):
        order = self.parse(item["ours"])
        binding, outcome = self.bindings._import_order(self.backend, order)
        if outcome != "done":
            raise SystemExit(f"ours: order {order.name} ended {outcome}")
        return binding.sale_order_id.id


class OcaPath:
    """`shopify.order._job_import_order` (OCA's order job once it has read)."""

    def __init__(self, env, data):
        from odoo import Command

        tax = _seed_common(env, data)
        instance = env["shopify.instance"].create(
            {
                "name": "Benchmark",
                "shop_url": "bench-shop.myshopify.com",
                "access_token": "shpat_bench_token",
                "webhook_secret": "bench_webhook_secret",
                "order_currency_policy": "shop",
                "unknown_product_policy": "block",
                "order_confirmation_policy": "auto",
                "auto_confirm_paid": True,
                "order_invoicing_policy": "paid",
            }
        )
        instance.state = "connected"
        self.instance_id = instance.id
        env["shopify.gateway.journal"].create(
            {
                "instance_id": instance.id,
                "gateway": GATEWAY,
                "journal_id": _bank_journal(env).id,
            }
        )
        env["shopify.tax.mapping"].create(
            {
                "instance_id": instance.id,
                "rate": str(Decimal(TAX_RATE).normalize()),
                "country_id": env.ref("base.us").id,
                "price_included": False,
                "tax_id": tax,
            }
        )
        by_sku = {p.default_code: p for p in env["product.product"].search([])}
        for item in data["catalogue"]:
            product = by_sku[item["sku"]]
            env["shopify.product.template"].create(
                {
                    "instance_id": instance.id,
                    "shopify_id": item["product_gid"],
                    "odoo_id": product.product_tmpl_id.id,
                    "status": "ACTIVE",
                    "variant_binding_ids": [
                        Command.create(
                            {
                                "instance_id": instance.id,
                                "shopify_id": item["variant_gid"],
                                "odoo_id": product.id,
                                "sku_snapshot": item["sku"],
                                "state": "synced",
                            }
                        )
                    ],
                    "state": "synced",
                }
            )
        for customer, address in data["customers"]:
            partner = env["res.partner"].create(
                {**_address_values(env, address), **_partner_values(customer)}
            )
            env["shopify.customer"].create(
                {
                    "instance_id": instance.id,
                    "shopify_id": customer["id"],
                    "odoo_id": partner.id,
                    "state": "synced",
                }
            )

    def bind(self, env):
        self.orders = env["shopify.order"]
        return self

    def run(self, item):
        binding_id = self.orders._job_import_order(self.instance_id, item["oca"])
        binding = self.orders.browse(binding_id)
        if not binding_id or binding.state != "synced":
            raise SystemExit(
                f"OCA: order {item['oca']['name']} failed: {binding.error_message}"
            )
        return binding.odoo_id.id


def _seed_common(env, data):
    """What every database gets alike: rounding per line, the 20 % tax
    (excluded) and the catalogue as storable products; returns the tax id."""
    env.company.tax_calculation_rounding_method = "round_per_line"
    tax = env["account.tax"].create(
        {
            "name": "Bench VAT 20%",
            "amount": float(TAX_RATE) * 100,
            "amount_type": "percent",
            "type_tax_use": "sale",
            "price_include_override": "tax_excluded",
        }
    )
    env["product.product"].create(
        [
            {
                "name": item["name"],
                "default_code": item["sku"],
                "type": "consu",
                "is_storable": True,
                "list_price": float(item["price"]),
                "taxes_id": [(6, 0, tax.ids)],
                # OCA binds only products of the instance's company.
                "company_id": env.company.id,
            }
            for item in data["catalogue"]
        ]
    )
    return tax.id


def _bank_journal(env):
    return env["account.journal"].search(
        [("type", "=", "bank"), ("company_id", "=", env.company.id)], limit=1
    )


def _ref(gid):
    return str(gid).rsplit("/", 1)[-1]


def _partner_values(customer):
    """A buyer as our import creates it (channel.partner.binding)."""
    return {
        "name": f"{customer['firstName']} {customer['lastName']}",
        "email": customer["defaultEmailAddress"]["emailAddress"].lower(),
        "phone": customer["defaultPhoneNumber"]["phoneNumber"],
        "company_id": False,
        "customer_rank": 1,
    }


def _address_values(env, address):
    country = env["res.country"].search([("code", "=", address["countryCodeV2"])])
    state = env["res.country.state"].search(
        [("country_id", "=", country.id), ("code", "=", address["provinceCode"])]
    )
    return {
        "name": address["name"],
        "street": address["address1"],
        "street2": address["address2"] or False,
        "city": address["city"],
        "zip": address["zip"],
        "country_id": country.id,
        "state_id": state.id,
        "phone": address["phone"],
    }


# === MEASURE AND REPORT ===


def measure(label, database, path_class, data):
    """Seed, warm up (one commit), then time the N orders (one commit)."""
    import odoo
    from odoo.modules.registry import Registry

    registry = Registry(database)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        path = path_class(env, data)
        cr.commit()
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        path.bind(env)
        for item in data["warmup"]:
            path.run(item)
        cr.commit()
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        path.bind(env)
        ids, times = [], []
        started = time.perf_counter()
        for item in data["orders"]:
            begun = time.perf_counter()
            ids.append(path.run(item))
            times.append(time.perf_counter() - begun)
        cr.commit()
        elapsed = time.perf_counter() - started
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        row = {"label": label, "seconds": elapsed, "median_ms": 1000 * median(times)}
        row.update(check(env, ids, data["orders"]))
    registry.delete(database)
    print(
        f"{label}: {elapsed:.1f} s for {len(ids)} orders "
        f"({row['confirmed']} confirmed)",
        flush=True,
    )
    return row


def median(values):
    return statistics.median(values) if values else 0.0


def check(env, ids, orders):
    """Confirmed orders at the channel's totals, with the same lines and
    partners as on the other paths."""
    sale_orders = env["sale.order"].browse(ids)
    expected = {
        item["ours"]["name"]: float(
            item["ours"]["totalPriceSet"]["shopMoney"]["amount"]
        )
        for item in orders
    }
    wrong_total = [
        order.client_order_ref
        for order in sale_orders
        if abs(order.amount_total - expected.get(order.client_order_ref, -1)) > 0.005
    ]
    paid = sale_orders.filtered(
        lambda o: (
            (
                invoices := o.invoice_ids.filtered(
                    lambda i: i.move_type == "out_invoice" and i.state == "posted"
                )
            )
            and len(invoices) == 1
            and invoices.payment_state in ("paid", "in_payment")
        )
    )
    return {
        "paid": len(paid),
        "confirmed": len(sale_orders.filtered(lambda o: o.state == "sale")),
        "distinct": len(set(ids)),
        "lines": sum(len(order.order_line) for order in sale_orders),
        "partners": len(sale_orders.partner_id),
        "wrong_total": wrong_total,
        "amount": round(sum(sale_orders.mapped("amount_total")), 2),
    }


def report(args, runs, data):
    """A table of every path (each run's time, the spread, medians), the
    ratios with their spread, the checks, one JSON line."""
    count = args.orders
    customers = len({item["ours"]["customer"]["id"] for item in data["orders"]})
    seconds = {
        label: figures.spread([row["seconds"] for row in rows if row["label"] == label])
        for label in ("native", "ours", "OCA")
        for rows in [[row for run in runs for row in run]]
    }
    ratio = {
        label: figures.spread(
            [
                next(r["seconds"] for r in run if r["label"] == label)
                / next(r["seconds"] for r in run if r["label"] == "native")
                for run in runs
            ]
        )
        for label in ("ours", "OCA")
    }
    table_rows = []
    for label in ("native", "ours", "OCA"):
        last = next(row for row in runs[-1] if row["label"] == label)
        median = seconds[label]["median"]
        table_rows.append(
            [
                label,
                ", ".join(f"{v:.1f}" for v in seconds[label]["runs"]),
                f"{seconds[label]['spread']:.1f}",
                f"{count / median:.1f}",
                f"{1000 * median / count:.0f}",
                ", ".join(f"{v:.2f}" for v in ratio[label]["runs"])
                if label in ratio
                else "1",
                last["paid"],
                last["lines"],
                last["partners"],
                f"{last['amount']:.2f}",
            ]
        )
    figures.table(
        f"Order import: {count} Shopify orders of {LINES} lines, {customers} "
        f"repeat customers, confirmed, invoiced and paid (order to cash); "
        f"{args.runs} run(s)",
        [
            "path",
            "seconds (runs)",
            "spread",
            "orders/s",
            "ms/order",
            "x native (runs)",
            "paid",
            "lines",
            "partners",
            "total",
        ],
        table_rows,
    )
    ours, oca = ratio["ours"]["median"], ratio["OCA"]["median"]
    print(
        f"\nours / native: {ours:.2f} (target <= {TARGET}: "
        f"{'met' if ours <= TARGET else 'NOT met'}); OCA / native: {oca:.2f}; "
        f"ours is {'faster' if ours < oca else 'NOT faster'} than OCA"
    )
    failures = [
        f"run {index}, {row['label']}: {row['confirmed']} of {count} confirmed, "
        f"{row['paid']} paid, {row['distinct']} distinct, "
        f"{len(row['wrong_total'])} wrong totals"
        for index, run in enumerate(runs, 1)
        for row in run
        if row["confirmed"] != count
        or row["paid"] != count
        or row["distinct"] != count
        or row["wrong_total"]
        or row["lines"] != count * LINES
        or row["partners"] != customers
    ]
    for failure in failures:
        print(f"CHECK FAILED {failure}")
    if not failures:
        print(
            f"checked: each path confirmed, invoiced and paid the same {count} "
            f"sale orders ({count * LINES} lines, {customers} partners) at the "
            "channel's totals"
        )
    figures.json_line(
        "order_import",
        {
            "orders": count,
            "runs": args.runs,
            "seconds": seconds,
            "ours_to_native": ratio["ours"],
            "oca_to_native": ratio["OCA"],
            "problems": failures,
        },
    )
    return 1 if failures else 0


if __name__ == "__main__":
    main()
