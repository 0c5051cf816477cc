"""Fault injection: what goes wrong, for which API, for how long.

A fault applies to the next `count` requests (or deliveries) of one API, or
to every one of them during `seconds` of the simulator's clock, or both.
APIs: "shopify", "woocommerce" (HTTP requests) and "shopify_webhooks",
"woocommerce_webhooks" (deliveries). Kinds:

- "latency": answer normally after `delay` seconds;
- "timeout": hang `delay` seconds (default 30, longer than client timeouts),
  then answer 504;
- "5xx" (or "500", "502", "503"): answer that status (`status`, default 500);
- "429": answer 429 with `Retry-After: retry_after` (default 2);
- "throttled" (Shopify): drain the leaky bucket so the request is THROTTLED;
- "drop", "duplicate", "out_of_order" (webhooks): lose the delivery, send it
  twice (same X-Shopify-Event-Id, new X-Shopify-Webhook-Id), or hold it back
  until the next delivery of the same subscription has been sent.
"""

import threading

API_NAMES = ("shopify", "woocommerce", "shopify_webhooks", "woocommerce_webhooks")
KINDS = (
    "latency",
    "timeout",
    "5xx",
    "429",
    "throttled",
    "drop",
    "duplicate",
    "out_of_order",
)
STATUS_ALIASES = {"500": 500, "502": 502, "503": 503, "504": 504}


class FaultBook:
    """The faults waiting to happen; thread-safe, first match wins."""

    def __init__(self, clock):
        self.clock = clock
        self.lock = threading.Lock()
        self.faults = []
        self.fired = []

    def add(self, api, kind, count=1, seconds=None, **options):
        """Arm a fault; returns its description (as the admin API shows it)."""
        if kind in STATUS_ALIASES:
            options.setdefault("status", STATUS_ALIASES[kind])
            kind = "5xx"
        if api not in API_NAMES or kind not in KINDS:
            raise ValueError(f"Unknown fault {api}/{kind}")
        fault = {
            "api": api,
            "kind": kind,
            "remaining": count if seconds is None or count else None,
            "until": self.clock() + seconds if seconds is not None else None,
            **options,
        }
        with self.lock:
            self.faults.append(fault)
        return dict(fault)

    def take(self, api):
        """The fault for this request of `api`, consumed; None when all is well."""
        with self.lock:
            now = self.clock()
            self.faults = [f for f in self.faults if not _spent(f, now)]
            for fault in self.faults:
                if fault["api"] == api:
                    if fault["remaining"] is not None:
                        fault["remaining"] -= 1
                    self.fired.append({"api": api, "kind": fault["kind"]})
                    return dict(fault)
        return None

    def clear(self):
        with self.lock:
            self.faults = []

    def pending(self):
        with self.lock:
            now = self.clock()
            return [dict(f) for f in self.faults if not _spent(f, now)]


def _spent(fault, now):
    if fault["until"] is not None and now >= fault["until"]:
        return True
    return fault["remaining"] is not None and fault["remaining"] <= 0
