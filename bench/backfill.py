"""Memory of a backfill: N historical Shopify orders imported, the workers' RSS.

Run with `make bench-backfill` (bench/README.rst). The same set-up as
bench/end_to_end.py (prefork Odoo, 2 HTTP workers, cron worker, queue_job
runner, the simulator wired like the sandbox: confirm, invoice, pay); the
simulator holds N orders created without webhooks (3 lines, tax, shipping,
one new customer for three repeat ones), then a backfill of the orders
created since the run started is launched as the Backfill button does
(`channel.backend._start_backfill`): one job per page of 50, one import job
per order. Every child process of the Odoo server (HTTP workers, cron
worker, job runner, gevent) is sampled every 0.5 s from /proc: its RSS when
first seen before the backfill, its peak (VmHWM) by the end; the growth of
the worst is the figure (target < 200 MB). Also the time, orders/s and the
check that every order was imported once, confirmed, invoiced and paid.
"""

import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tools"), str(ROOT)]
import figures  # noqa: E402
from end_to_end import Bench, arguments, say  # noqa: E402
from harness import done_once  # noqa: E402

TARGET_MB = 200
START = """
backend = env["channel.backend"].browse(%(backend)d)
backend.backfill_since = %(since)r
backfill = backend._start_backfill()
env.cr.commit()
print("BACKFILL", backfill.id, backfill.total)
"""
IMPORTED = """
SELECT count(DISTINCT b.external_ref), count(*)
  FROM channel_order_binding b
 WHERE b.backend_id = %s AND b.external_ref = ANY(%s)
"""


class MemoryProbe:
    """Samples the RSS of a process's children until stopped."""

    def __init__(self, parent_pid, interval=0.5):
        self.parent_pid, self.interval = parent_pid, interval
        self.first, self.peak = {}, {}
        self.started_late = set()
        self.sampling = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @staticmethod
    def children(parent_pid):
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent_pid:
                pids.append(int(stat.parent.name))
        return pids

    @staticmethod
    def status(pid):
        """(VmRSS, VmHWM) in kB, or None when the process is gone."""
        try:
            text = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return None
        values = {}
        for line in text.splitlines():
            key, _sep, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
        return values.get("VmRSS", 0), values.get("VmHWM", 0)

    def sample(self):
        for pid in self.children(self.parent_pid):
            figures_ = self.status(pid)
            if figures_ is None:
                continue
            rss, hwm = figures_
            if pid not in self.first:
                self.first[pid] = rss
                if self.sampling:
                    self.started_late.add(pid)
            self.peak[pid] = max(self.peak.get(pid, 0), hwm, rss)

    def start(self):
        self.sample()
        self.sampling = True
        self._thread.start()
        return self

    def _loop(self):
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self):
        self._stop.set()
        self._thread.join(10)
        self.sample()

    def growth_mb(self):
        """{pid: (first MB, peak MB, growth MB)}."""
        return {
            pid: (
                self.first[pid] / 1024,
                self.peak[pid] / 1024,
                (self.peak[pid] - self.first[pid]) / 1024,
            )
            for pid in self.first
        }


def run_backfill(bench, count, timeout):
    backend = bench.backends["shopify"]
    since = bench.db.rows(
        "SELECT to_char(now() AT TIME ZONE 'utc' - interval '2 seconds',"
        " 'YYYY-MM-DD HH24:MI:SS')"
    )[0][0]
    time.sleep(2)
    refs = bench.create_orders(count, notify=False)
    probe = MemoryProbe(bench.server.process.pid).start()
    started = time.monotonic()
    output = bench.shell(START % {"backend": backend, "since": since})
    say(output.strip().splitlines()[-1] if output.strip() else "no backfill")
    deadline = started + timeout
    imported = 0
    while time.monotonic() < deadline:
        imported = bench.db.rows(IMPORTED, [backend, refs])[0][0]
        if imported >= len(refs) and not bench.db.busy_jobs():
            break
        time.sleep(2)
    seconds = time.monotonic() - started
    probe.stop()
    bench.settle()
    outcome = bench.db.orders(backend, refs)
    wrong = [ref for ref, row in outcome.items() if not done_once(row)]
    growth = probe.growth_mb()
    return {
        "seconds": seconds,
        "imported": imported,
        "wrong": len(wrong) + len(set(refs) - set(outcome)),
        "growth": growth,
        "peak_growth_mb": max((g for _f, _p, g in growth.values()), default=0.0),
        "workers_started_during": len(probe.started_late),
    }


def report(args, runs):
    rows = []
    for index, run in enumerate(runs, 1):
        for pid, (first, peak, growth) in sorted(run["growth"].items()):
            rows.append([index, pid, f"{first:.0f}", f"{peak:.0f}", f"{growth:.0f}"])
    figures.table(
        "Backfill memory: every child process of the Odoo server (MB)",
        ["run", "pid", "RSS before", "peak", "growth"],
        rows,
    )
    seconds = figures.spread([run["seconds"] for run in runs])
    rates = figures.spread([args.orders / run["seconds"] for run in runs])
    growth = figures.spread([run["peak_growth_mb"] for run in runs])
    figures.table(
        f"Backfill: {args.orders} Shopify orders (3 lines, tax, shipping) "
        f"imported, confirmed, invoiced and paid; prefork Odoo, 2 workers; "
        f"{args.runs} run(s)",
        ["figure", "runs", "median", "spread"],
        [
            [
                name,
                ", ".join(f"{v:.1f}" for v in data["runs"]),
                data["median"],
                data["spread"],
            ]
            for name, data in (
                ("seconds", seconds),
                ("orders/s", rates),
                ("peak RSS growth MB", growth),
            )
        ],
    )
    worst = max(growth["runs"], default=0.0)
    print(
        f"\npeak RSS growth of the worst worker: {worst:.0f} MB (target < "
        f"{TARGET_MB} MB: {'met' if worst < TARGET_MB else 'NOT met'})"
    )
    problems = [
        f"run {i}: {run['imported']} of {args.orders} imported, {run['wrong']} wrong"
        for i, run in enumerate(runs, 1)
        if run["imported"] != args.orders or run["wrong"]
    ]
    for problem in problems:
        print(f"CHECK FAILED {problem}")
    figures.json_line(
        "backfill",
        {
            "orders": args.orders,
            "runs": args.runs,
            "seconds": seconds,
            "orders_per_second": rates,
            "peak_rss_growth_mb": growth,
            "workers_started_during": [r["workers_started_during"] for r in runs],
            "problems": problems,
        },
    )
    return 1 if problems else 0


def main():
    args = arguments(__doc__, orders=10000, timeout=4 * 3600, seed=13).parse_args()

    def one_run(index):
        say(f"run {index + 1}: backfill of {args.orders} orders")
        run = run_backfill(bench, args.orders, args.timeout)
        say(
            f"run {index + 1}: {run['seconds']:.1f} s, peak RSS growth "
            f"{run['peak_growth_mb']:.0f} MB"
        )
        return run

    bench = Bench(seed=args.seed)
    sys.exit(report(args, bench.run(args, one_run)))


if __name__ == "__main__":
    main()
