"""The benchmarks' pieces, so that they do not rot between two runs.

A benchmark's full run takes minutes against a prefork server (bench/); these
tests run what each one computes and prints on figures made up here, and the
parts that touch the system (the memory probe on a real child process, the
floor module's manifest and route) for real.
"""

import ast
import json
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tools"), str(ROOT)]
import backfill  # noqa: E402
import end_to_end  # noqa: E402
import figures  # noqa: E402
import harness  # noqa: E402
import order_import  # noqa: E402
import webhook_ack  # noqa: E402


def last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_spread_and_percentile():
    assert figures.spread([3.0, 1.0, 2.0]) == {
        "runs": [3.0, 1.0, 2.0],
        "median": 2.0,
        "spread": 2.0,
    }
    values = list(range(1, 101))
    assert figures.percentile(values, 0.50) == 50
    assert figures.percentile(values, 0.99) == 99
    assert figures.percentile([], 0.5) == 0.0


def test_json_line_carries_commit_date_machine_and_load(capsys):
    figures.json_line("x", {"value": 1})
    line = last_json(capsys)
    assert line["benchmark"] == "x" and line["value"] == 1
    assert {"commit", "date", "machine", "load_average"} <= set(line)


def test_table_aligns_columns(capsys):
    figures.table("T", ["a", "long header"], [["xxxxx", 1.5]])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("xxxxx  1.50")
    assert lines[-3].startswith("a      long header")


def test_first_delivery_of_each_order_is_its_orders_create():
    def delivery(topic, order_id, at):
        body = json.dumps({"id": order_id}).encode()
        return SimpleNamespace(topic=topic, body=body, at=at)

    deliveries = [
        delivery("inventory_levels/update", 1, 0.5),
        delivery("orders/create", 1, 1.0),
        delivery("orders/create", 1, 2.0),  # a retry: the first one counts
        delivery("orders/create", 2, 3.0),
        SimpleNamespace(topic="orders/create", body=b"{not json", at=4.0),
    ]
    assert end_to_end.first_deliveries(deliveries) == {"1": 1.0, "2": 3.0}


def e2e_run(ours_seconds, native_seconds, wrong=0):
    return {
        "ours": {
            "seconds": ours_seconds,
            "latencies": [1.0, 2.0, 70.0],
            "missing": 0,
            "wrong": wrong,
            "failed_jobs": 0,
        },
        "native": {"seconds": native_seconds, "latencies": [0.5, 0.6], "wrong": 0},
    }


def test_end_to_end_report_gives_ratio_slowest_and_fails_on_a_wrong_order(capsys):
    args = SimpleNamespace(orders=3, runs=2)
    assert end_to_end.report(args, [e2e_run(13, 10), e2e_run(15, 10)]) == 0
    output = capsys.readouterr().out
    assert "ours / native: 1.30, 1.50 (median 1.40, target <= 1.3: NOT met)" in output
    assert "slowest order 70.0 s (target < 60 s: NOT met)" in output
    line = json.loads(output.strip().splitlines()[-1])
    assert line["ratio"]["spread"] == 0.2 and line["ours"]["slowest"]["median"] == 70
    assert end_to_end.report(args, [e2e_run(13, 10, wrong=1)]) == 1
    assert "CHECK FAILED run 1 ours: 1 wrong" in capsys.readouterr().out


def test_an_order_is_done_once_bound_confirmed_invoiced_and_paid_once():
    row = (1, "sale", 1, "paid,in_payment", 1)
    assert harness.paid_once(row) and harness.done_once(row)
    assert harness.paid_once((2, *row[1:])) and not harness.done_once((2, *row[1:]))
    for wrong in (
        (1, "draft", 1, "paid", 1),
        (1, "sale", 2, "paid", 1),
        (1, "sale", 1, "paid,not_paid", 1),
        (1, "sale", 1, None, 1),
        (1, "sale", 1, "paid", 2),
    ):
        assert not harness.paid_once(wrong), wrong


def test_sandbox_wiring_reads_each_backend_from_the_shell_output():
    scripts = []

    def shell(script):
        scripts.append(script)
        return "noise\nBACKEND shopify 7 ready\nBACKEND woocommerce 8 ready\n"

    sim = SimpleNamespace(base_url="http://127.0.0.1:1")
    backends = harness.wire_sandbox(
        shell, "http://127.0.0.1:2", sim, 5, export_stock=False
    )
    assert backends == {"shopify": 7, "woocommerce": 8}
    assert "'http://127.0.0.1:1'" in scripts[0] and "if not False:" in scripts[0]
    compile(scripts[0], "setup", "exec")


class QuietBench(end_to_end.Bench):
    """A Bench with no database, simulator or server behind it."""

    def prepare(self):
        self.prepared = True

    def close(self):
        self.closed = True


def test_bench_runs_each_run_then_closes_even_when_a_run_fails():
    args = end_to_end.arguments("doc", orders=5, timeout=60, seed=1).parse_args(
        ["--runs", "2"]
    )
    assert (args.orders, args.runs, args.timeout, args.keep) == (5, 2, 60, False)
    bench = QuietBench()
    assert bench.run(args, lambda index: {"run": index}) == [{"run": 0}, {"run": 1}]
    assert bench.prepared and bench.closed

    def failing(index):
        raise RuntimeError(index)

    bench = QuietBench()
    with pytest.raises(RuntimeError):
        bench.run(args, failing)
    assert bench.closed


def test_memory_probe_sees_a_child_grow():
    """A real child process allocating 60 MB: the probe sees it grow."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys; subprocess.run([sys.executable, '-c', "
            "'import time; time.sleep(1); x = bytearray(60 * 2**20); "
            'x[::4096] = b"1" * len(x[::4096]); time.sleep(1.5)\'])',
        ]
    )
    try:
        deadline = time.monotonic() + 10
        while not backfill.MemoryProbe.children(parent.pid):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        probe = backfill.MemoryProbe(parent.pid, interval=0.1).start()
        parent.wait(20)
        probe.stop()
    finally:
        parent.kill()
    growth = [g for _first, _peak, g in probe.growth_mb().values()]
    assert growth and 55 < max(growth) < 120


def test_backfill_report_checks_every_order(capsys):
    args = SimpleNamespace(orders=10, runs=1)
    run = {
        "seconds": 5.0,
        "imported": 10,
        "wrong": 0,
        "growth": {42: (100.0, 130.0, 30.0)},
        "peak_growth_mb": 30.0,
        "workers_started_during": 0,
    }
    assert backfill.report(args, [run]) == 0
    output = capsys.readouterr().out
    assert "30 MB (target < 200 MB: met)" in output
    assert (
        json.loads(output.strip().splitlines()[-1])["peak_rss_growth_mb"]["median"]
        == 30.0
    )
    assert backfill.report(args, [{**run, "imported": 9}]) == 1


def route(rps, p99=10.0, statuses=None):
    return {"rps": rps, "p50_ms": 5.0, "p99_ms": p99, "statuses": statuses or {200: 4}}


def test_webhook_report_sets_ours_against_bare_and_floor(capsys):
    args = SimpleNamespace(requests=4, concurrency=2, rounds=1, runs=2)
    ours = [
        {"bare": route(100), "floor": route(80), "ours": route(64)},
        {"bare": route(100), "floor": route(80), "ours": route(60)},
    ]
    oca = [{"bare": route(100), "oca": route(50, p99=20.0)}] * 2
    assert webhook_ack.report(args, ours, oca) == 0
    line = last_json(capsys)
    assert line["ours_to_bare"]["runs"] == [0.64, 0.6]
    assert line["ours_to_floor"]["median"] == 0.775
    assert line["floor_to_bare"]["median"] == 0.8
    assert line["oca_p99_ms"] == 20.0
    ours[0]["floor"] = route(80, statuses={500: 4})
    assert webhook_ack.report(args, ours, []) == 1


def test_floor_module_is_a_benchmark_module_with_its_route():
    folder = ROOT / "bench" / "addons" / webhook_ack.FLOOR_MODULE
    manifest = ast.literal_eval((folder / "__manifest__.py").read_text())
    assert manifest["depends"] == ["web"] and manifest["installable"]
    assert webhook_ack.FLOOR_ROUTE in (folder / "controllers" / "floor.py").read_text()
    # Not shipped: the wheel leaves bench/ out.
    sys.path.insert(0, str(ROOT / "tools"))
    import devctl

    assert "bench" in devctl.WHEEL_EXCLUDED


def test_order_import_report_compares_the_order_to_cash(capsys):
    data = {"orders": [{"ours": {"customer": {"id": "c1"}}}] * 2}
    args = SimpleNamespace(orders=2, runs=1)

    def row(label, seconds, paid=2):
        return {
            "label": label,
            "seconds": seconds,
            "median_ms": 1.0,
            "confirmed": 2,
            "paid": paid,
            "distinct": 2,
            "lines": 2 * order_import.LINES,
            "partners": 1,
            "wrong_total": [],
            "amount": 10.0,
        }

    runs = [[row("native", 1.0), row("ours", 1.2), row("OCA", 1.5)]]
    assert order_import.report(args, runs, data) == 0
    line = last_json(capsys)
    assert line["ours_to_native"]["median"] == 1.2
    assert line["oca_to_native"]["median"] == 1.5
    runs = [[row("native", 1.0), row("ours", 1.2, paid=1), row("OCA", 1.5)]]
    assert order_import.report(args, runs, data) == 1
