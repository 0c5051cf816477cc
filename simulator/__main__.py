"""python -m simulator [--port 8899] [--seed 1] [--state state.json]
[--retry-time-scale 1.0] [--bucket-size 1000] [--restore-rate 100] [--sandbox S]

Serves until interrupted. With --state, the scenario in the file (see
Scenario.snapshot) is replayed at start, and the file is rewritten with the
scenario as it stands when the simulator stops. With --sandbox, the sandbox
catalogue is seeded and channel traffic runs every S seconds (sandbox.py).
"""

import argparse
import json
import signal
import threading
from pathlib import Path

from .sandbox import SandboxTraffic
from .server import ChannelSimulator


def main(argv=None):
    parser = argparse.ArgumentParser(description="Shopify/WooCommerce simulator")
    parser.add_argument("--port", type=int, default=8899)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--state", type=Path, help="scenario JSON to load/persist")
    parser.add_argument("--retry-time-scale", type=float, default=1.0)
    parser.add_argument(
        "--bucket-size", type=int, default=1000, help="GraphQL bucket (points)"
    )
    parser.add_argument(
        "--restore-rate", type=float, default=100, help="bucket refill (points/s)"
    )
    parser.add_argument(
        "--sandbox", type=float, metavar="SECONDS", help="sandbox traffic interval"
    )
    args = parser.parse_args(argv)
    snapshot = _load(args.state)
    sim = ChannelSimulator(
        seed=snapshot.get("seed", args.seed),
        retry_time_scale=args.retry_time_scale,
        bucket_size=args.bucket_size,
        restore_rate=args.restore_rate,
    )
    sim.start(port=args.port)
    sim.scenario.restore(snapshot)
    traffic = None
    if args.sandbox:
        traffic = SandboxTraffic(sim, interval=args.sandbox)
        traffic.seed_catalogue()
        traffic.start(log=lambda line: print(line, flush=True))
    print(f"channel simulator on {sim.base_url}", flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_args: stopped.set())
    stopped.wait()
    if traffic:
        traffic.stop()
    sim.stop()
    if args.state:
        args.state.write_text(
            json.dumps(sim.scenario.snapshot(), indent=1, default=str)
        )


def _load(path):
    if path and path.exists() and path.read_text().strip():
        return json.loads(path.read_text())
    return {}


if __name__ == "__main__":
    main()
