"""`python -m simulator` as a process: flags, admin API, SIGTERM, --state."""

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

import simulator
from simulator.testing import TOKEN

ROOT = Path(simulator.__file__).resolve().parent.parent


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(state_file, log, *flags):
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator",
            "--port",
            str(port),
            "--state",
            str(state_file),
            *flags,
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        assert process.poll() is None, "the simulator exited at start"
        try:
            requests.get(f"{base}/_sim/faults", timeout=1)
            return process, base
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("the simulator did not answer within 5 s")


def stop(process):
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=5) == 0


def shopify(base, query, variables=None):
    return requests.post(
        f"{base}/admin/api/2026-07/graphql.json",
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": TOKEN},
        timeout=10,
    ).json()


def steps(snapshot):
    return [{k: v for k, v in s.items() if k != "notify"} for s in snapshot["steps"]]


def test_process_persists_its_scenario_across_sigterm_and_restart(tmp_path):
    state_file, log_path = tmp_path / "state.json", tmp_path / "simulator.log"
    with log_path.open("w") as log:
        process, base = start(
            state_file,
            log,
            "--seed",
            "3",
            "--bucket-size",
            "100",
            "--restore-rate",
            "10",
        )
        try:
            requests.post(f"{base}/_sim/catalogue", json={"count": 3}, timeout=10)
            order = requests.post(
                f"{base}/_sim/orders",
                json={"channel": "shopify", "lines": [["SIM-000002", 2]]},
                timeout=10,
            ).json()
            returned = requests.post(
                f"{base}/_sim/orders/shopify/{order['id']}/returns",
                json={"lines": [["SIM-000002", 1]], "status": "CLOSED"},
                timeout=10,
            ).json()
            requests.post(
                f"{base}/_sim/inventory",
                json={"variant": "SIM-000003", "available": 9},
                timeout=10,
            )
            cost = shopify(base, "{ shop { name } }")["extensions"]["cost"]
            assert cost["throttleStatus"]["maximumAvailable"] == 100.0
            assert cost["throttleStatus"]["restoreRate"] == 10.0
            before = requests.get(f"{base}/_sim/snapshot", timeout=10).json()
        finally:
            stop(process)
        saved = json.loads(state_file.read_text())
        assert saved["seed"] == 3
        assert [s["action"] for s in saved["steps"]] == [
            "seed_catalogue",
            "create_order",
            "create_return",
            "set_inventory",
        ]
        process, base = start(state_file, log)
        try:
            after = requests.get(f"{base}/_sim/snapshot", timeout=10).json()
            assert after["levels"] == before["levels"]
            assert after["woo_stock"] == before["woo_stock"]
            assert steps(after) == steps(before), "replayed (without webhooks)"
            again = requests.get(
                f"{base}/_sim/orders/shopify/{order['id']}", timeout=10
            ).json()
            assert again["name"] == order["name"]
            assert again["total_price"] == order["total"]
            node = shopify(
                base,
                "query($id: ID!) { return(id: $id) { name status } }",
                {"id": returned["gid"]},
            )["data"]["return"]
            assert node == {"name": returned["name"], "status": "CLOSED"}
        finally:
            stop(process)
