"""The catalogue publishing benchmark's pieces (bench/catalogue_publish.py):
its minimum of calls, its report and its checks, on a small catalogue of
figures made up here."""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tools"), str(ROOT)]
import catalogue_publish  # noqa: E402


def test_minimum_is_one_call_per_product_and_batch():
    # 3 products: 100, 260 and 0 changed variants.
    changed = [100, 260, 0]
    assert catalogue_publish.minimum_calls("shopify", changed) == 1 + 2
    assert catalogue_publish.minimum_calls("woocommerce", changed) == 1 + 3


def run(provider, calls, seconds, products=2, refused=0):
    return {
        "seconds": seconds,
        "calls": calls,
        "reads": 1 if provider == "shopify" else 2,
        "minimum": catalogue_publish.minimum_calls(provider, [10] * products),
        "products": products,
        "result": f"calls {calls}, prices {products}, refused {refused}",
    }


def result(**runs):
    return {
        "seed_s": 1.0,
        "initial": {"shopify": {"seconds": 2.0, "result": "published 2"}},
        "runs": runs,
    }


def test_report_prints_runs_spread_and_minimum_then_one_json_line(capsys):
    args = SimpleNamespace(variants=20, per_product=10, runs=2)
    figures = result(
        shopify=[run("shopify", 2, 1.0), run("shopify", 2, 1.5)],
        woocommerce=[run("woocommerce", 2, 2.0), run("woocommerce", 2, 2.0)],
    )
    assert catalogue_publish.report(args, figures) == 0
    output = capsys.readouterr().out
    assert "Price list change on 20 variants (2 products of 10), 2 runs" in output
    shopify_row = next(line for line in output.splitlines() if line.startswith("shop"))
    assert shopify_row.split()[:8] == [
        "shopify",
        "1.0",
        "/",
        "1.5",
        "1.25",
        "0.50",
        "2",
        "2",
    ]
    line = json.loads(output.strip().splitlines()[-1])
    assert line["benchmark"] == "catalogue_publish"
    assert line["channels"]["woocommerce"]["minimum"] == 2
    assert line["channels"]["shopify"]["seconds"]["spread"] == 0.5
    assert line["failed"] == []


def test_report_fails_above_the_minimum_or_on_a_refusal(capsys):
    args = SimpleNamespace(variants=20, per_product=10, runs=1)
    figures = result(
        shopify=[run("shopify", 3, 1.0)],
        woocommerce=[run("woocommerce", 2, 1.0, refused=1)],
    )
    assert catalogue_publish.report(args, figures) == 1
    output = capsys.readouterr().out
    assert "CHECK FAILED run 1 shopify: calls 3" in output
    assert "CHECK FAILED run 1 woocommerce" in output
