"""HTTP load generator for the benchmarks, run as its own process.

python bench/load.py URL REQUESTS CONCURRENCY [REQUEST_FILE]

REQUEST_FILE is JSON {"body_file": path, "headers": {...}, "unique_headers": [...]}
(POST; each request gets its own value of the unique headers, as a channel
sends a new delivery id each time). Without it, GET. Prints one JSON line:
every latency in ms, the wall time, the status counts (`summary` turns runs
of one endpoint into p50/p99 and requests per second).
"""

import http.client
import json
import sys
import threading
import time
import uuid
from collections import Counter
from urllib.parse import urlsplit


def percentile(values, fraction):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def worker(url, spec, count, results):
    latencies, statuses, lock = results
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    for _ in range(count):
        headers = dict(spec["headers"]) if spec else {}
        for name in spec.get("unique_headers", ()) if spec else ():
            headers[name] = str(uuid.uuid4())
        started = time.perf_counter()
        if spec:
            connection.request("POST", path, body=spec["body"], headers=headers)
        else:
            connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
        with lock:
            latencies.append(elapsed)
            statuses[response.status] += 1
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            connection = http.client.HTTPConnection(
                parts.hostname, parts.port, timeout=30
            )
    connection.close()


def run(url, requests, concurrency, spec):
    latencies, statuses, lock = [], Counter(), threading.Lock()
    share, rest = divmod(requests, concurrency)
    threads = [
        threading.Thread(
            target=worker,
            args=(url, spec, share + (i < rest), (latencies, statuses, lock)),
        )
        for i in range(concurrency)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "latencies_ms": [round(x * 1000, 2) for x in latencies],
        "wall_s": time.perf_counter() - started,
        "statuses": dict(statuses),
    }


def summary(runs):
    """p50/p99 over every request of `runs`, requests per second of their
    wall time together, status counts."""
    latencies = [x for run in runs for x in run["latencies_ms"]]
    statuses = Counter()
    for run in runs:
        statuses.update(run["statuses"])
    return {
        "requests": len(latencies),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "rps": round(len(latencies) / sum(run["wall_s"] for run in runs), 1),
        "statuses": dict(statuses),
    }


def main():
    url, requests, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    spec = None
    if len(sys.argv) > 4:
        with open(sys.argv[4]) as file:
            spec = json.load(file)
        with open(spec["body_file"], "rb") as file:
            spec["body"] = file.read()
    print(json.dumps(run(url, requests, concurrency, spec)))


if __name__ == "__main__":
    main()
