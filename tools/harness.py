"""What tools/reliability.py and the benchmarks (bench/) share.

A prefork Odoo server under a supervisor, reads of the outcome straight from
PostgreSQL, `odoo shell` scripts, the channel simulator wired like the sandbox
and the check that an order went through confirmed, invoiced once and paid once.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import devctl

SETUP = """
env["ir.config_parameter"].set_param("web.base.url", %(base_url)r)
backends = env["channel.backend"]._sandbox_prepare(%(sim_url)r, [])
if not %(export_stock)r:
    backends.write({"export_stock": False})
warehouse = env["stock.warehouse"].search([], limit=1)
for product in env["product.product"].search([("default_code", "like", "SIM-")]):
    env["stock.quant"]._update_available_quantity(
        product, warehouse.lot_stock_id, %(stock)d)
env.cr.commit()
for backend in backends:
    print("BACKEND", backend.provider, backend.id, backend.state)
"""


def say(message):
    print(f"[harness] {message}", flush=True)


def odoo_shell(config, database, script):
    """The standard output of `script` run by `odoo-bin shell` on `database`."""
    result = subprocess.run(
        [
            sys.executable,
            str(devctl.ODOO_PATH / "odoo-bin"),
            "shell",
            f"--config={config}",
            f"--database={database}",
            "--log-level=warn",
        ],
        input=script,
        text=True,
        capture_output=True,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"odoo shell failed:\n{result.stderr[-3000:]}")
    return result.stdout


def wire_sandbox(shell, base_url, sim, stock, export_stock=True):
    """Backends wired to the simulator `sim` as the sandbox does, `stock` units
    of every simulated product on hand; returns {provider: backend id}."""
    output = shell(
        SETUP
        % {
            "base_url": base_url,
            "sim_url": sim.base_url,
            "stock": stock,
            "export_stock": export_stock,
        }
    )
    backends = {}
    for line in output.splitlines():
        if line.startswith("BACKEND"):
            _tag, provider, backend_id, _state = line.split()
            backends[provider] = int(backend_id)
    return backends


def wait_quiet(sim, db, deadline, pause):
    """Wait until the simulator has nothing left to deliver and no job is
    waiting, twice in a row, `pause` seconds apart."""
    quiet = 0
    while quiet < 2:
        if time.monotonic() > deadline:
            raise SystemExit("the system did not settle in time")
        sender = sim.sender
        pending = len(sender._heap) + sender._busy  # noqa: SLF001
        quiet = quiet + 1 if not (pending or db.busy_jobs()) else 0
        time.sleep(pause)


def paid_once(row):
    """Whether a row of `Database.orders` is confirmed, invoiced once (posted)
    and paid once."""
    _bindings, state, invoices, payment_states, payments = row
    return (
        state == "sale"
        and invoices == 1
        and payments == 1
        and set((payment_states or "").split(",")) <= {"paid", "in_payment"}
    )


def done_once(row):
    """`paid_once`, and the channel order is bound to one order only."""
    return row[0] == 1 and paid_once(row)


class OdooServer:
    """A prefork Odoo server in its own process group (so SIGKILL takes its
    workers, cron worker and job runner with it), under a supervisor that
    starts it again when it exits on its own, as systemd's Restart=always
    does in production: Odoo's prefork master exits when PostgreSQL is gone
    while it spawns a worker."""

    def __init__(
        self, config, port, *, database, logs, runner=True, name="odoo", **where
    ):
        self.config, self.port, self.runner, self.name = config, port, runner, name
        self.database, self.logs = database, logs
        self.gevent_port = where.get("gevent_port", port + 100)
        self.process = None
        self.starts = 0
        self.supervisor_restarts = 0
        self.wanted = False
        self.lock = threading.RLock()
        self.watcher = threading.Thread(target=self._watch, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _watch(self):
        while True:
            time.sleep(1)
            with self.lock:
                if self.wanted and self.process and self.process.poll() is not None:
                    say(f"{self.name} exited ({self.process.returncode}): restarting")
                    self.supervisor_restarts += 1
                    time.sleep(2)
                    self._start()

    def start(self):
        with self.lock:
            self.wanted = True
            if not self._start():
                self.wanted = False
                raise SystemExit(f"{self.name} did not start: see {self.logs}")
        if not self.watcher.is_alive():
            self.watcher.start()
        return self

    def _start(self):
        self.starts += 1
        self.logs.mkdir(parents=True, exist_ok=True)
        load = "base,rpc,web,queue_job" if self.runner else "base,rpc,web"
        command = devctl.odoo_command(
            self.config,
            "-d",
            self.database,
            f"--db-filter=^{self.database}$",
            "--workers=2",
            f"--http-port={self.port}",
            f"--gevent-port={self.gevent_port}",
            f"--max-cron-threads={1 if self.runner else 0}",
            f"--load={load}",
            "--log-level=warn",
            f"--logfile={self.logs / f'{self.name}-{self.starts}.log'}",
            "--limit-time-real=600",
        )
        self.process = subprocess.Popen(command, start_new_session=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}/web/health", timeout=2):
                    return True
            except OSError:
                time.sleep(0.5)
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
        return False

    def kill(self):
        """SIGKILL to the whole process group: a power cut, no clean-up."""
        with self.lock:
            self.wanted = False
            if self.process and self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(30)

    def stop(self):
        with self.lock:
            self.wanted = False
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(90)
            except subprocess.TimeoutExpired:
                self.kill()


class Database:
    """Reads of the outcome, straight from PostgreSQL."""

    def __init__(self, params, database):
        self.params, self.database = params, database

    def rows(self, query, args=()):
        for attempt in range(30):
            try:
                connection = devctl.connect(self.params, self.database)
                break
            except Exception:  # noqa: BLE001 - the database may be restarting
                if attempt == 29:
                    raise
                time.sleep(1)
        try:
            with connection.cursor() as cr:
                cr.execute(query, args)
                return cr.fetchall()
        finally:
            connection.close()

    def busy_jobs(self):
        return self.rows(
            "SELECT count(*) FROM queue_job WHERE state IN"
            " ('wait_dependencies', 'pending', 'enqueued', 'started')"
        )[0][0]

    def failed_jobs(self, since):
        return self.rows(
            "SELECT name, exc_name, left(exc_message, 200) FROM queue_job"
            " WHERE state = 'failed' AND date_created >= %s",
            [since],
        )

    def waiting_events(self, backend_id):
        return self.rows(
            "SELECT count(*) FROM channel_event WHERE backend_id = %s"
            " AND state IN ('received', 'queued')",
            [backend_id],
        )[0][0]

    def event_keys(self, backend_id):
        rows = self.rows(
            "SELECT dedupe_key FROM channel_event WHERE backend_id = %s",
            [backend_id],
        )
        return {row[0] for row in rows}

    def orders(self, backend_id, refs):
        """{ref: (bindings, sale state, posted invoices, payment states, payments)}."""
        rows = self.rows(
            """
            SELECT b.external_ref, count(*) OVER (PARTITION BY b.external_ref),
                   so.state, invoices.count, invoices.payment_states,
                   (SELECT count(*) FROM account_payment p
                     WHERE p.channel_transaction_key LIKE
                           b.backend_id || ':' || b.external_ref || ':%%'
                       AND p.state != 'canceled')
              FROM channel_order_binding b
              LEFT JOIN sale_order so ON so.id = b.sale_order_id
              LEFT JOIN LATERAL (
                    SELECT count(DISTINCT am.id) AS count,
                           string_agg(DISTINCT am.payment_state, ',') AS payment_states
                      FROM sale_order_line sol
                      JOIN sale_order_line_invoice_rel r ON r.order_line_id = sol.id
                      JOIN account_move_line aml ON aml.id = r.invoice_line_id
                      JOIN account_move am ON am.id = aml.move_id
                     WHERE sol.order_id = so.id AND am.move_type = 'out_invoice'
                       AND am.state = 'posted'
                   ) invoices ON TRUE
             WHERE b.backend_id = %s AND b.external_ref = ANY(%s)
            """,
            [backend_id, list(refs)],
        )
        return {row[0]: row[1:] for row in rows}
