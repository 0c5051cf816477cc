"""Fault injection: what goes wrong, for which API, for how long.

A fault applies to the next `count` requests (or deliveries) of one API, or
to every one of them during `seconds` of the simulator's clock, or both.
Each API takes only the kinds that mean something for it; arming another
one is a ValueError (HTTP 400 on the admin API), never a fault that is
silently consumed.

Requests a client sends, "shopify", "woocommerce", "threepl" (the
warehouse partner), "amazon" (SP-API) and "stripe" (only "429"):

- "latency": answer normally after `delay` seconds;
- "timeout": hang `delay` seconds (default 30, longer than client timeouts),
  then answer 504;
- "5xx" (or "500", "502", "503", "504"): answer that status (`status`,
  default 500);
- "429": answer 429 with `Retry-After: retry_after` (default 2);
- "throttled" (Shopify only: WooCommerce has no cost bucket): drain the
  leaky bucket so the request is THROTTLED.

Deliveries the channel sends, "shopify_webhooks" and "woocommerce_webhooks":
"drop", "duplicate", "out_of_order": lose the delivery; send it twice
(Shopify: same X-Shopify-Event-Id, new X-Shopify-Webhook-Id; WooCommerce: the
same request, headers included, twice); or hold it back until the next
delivery of the same subscription has been sent.
"""

import threading

REQUEST_KINDS = ("latency", "timeout", "5xx", "429")
DELIVERY_KINDS = ("drop", "duplicate", "out_of_order")
API_KINDS = {
    "shopify": (*REQUEST_KINDS, "throttled"),
    "woocommerce": REQUEST_KINDS,
    "threepl": REQUEST_KINDS,
    "amazon": REQUEST_KINDS,
    "stripe": ("429",),
    "shopify_webhooks": DELIVERY_KINDS,
    "woocommerce_webhooks": DELIVERY_KINDS,
}
API_NAMES = tuple(API_KINDS)
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
        check_fault(api, kind)
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


def check_fault(api, kind):
    """ValueError unless `kind` means something for `api`."""
    if api not in API_KINDS:
        msg = f"Unknown fault API {api!r}: use one of {', '.join(API_NAMES)}."
        raise ValueError(msg)
    if kind not in API_KINDS[api]:
        msg = (
            f"Fault {kind!r} has no meaning for {api!r}: use one of "
            f"{', '.join(API_KINDS[api])}."
        )
        raise ValueError(msg)


def _spent(fault, now):
    if fault["until"] is not None and now >= fault["until"]:
        return True
    return fault["remaining"] is not None and fault["remaining"] <= 0
