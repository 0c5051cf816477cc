"""HTTP for the adapters: timeouts and error mapping in one place.

Channel APIs are only ever reached through `ChannelTransport.request`, so every
call has a timeout and a deadline, a capped answer, no redirect followed, every
failure maps onto `adapters.exceptions`; its log lines go through
`redaction.get_logger`, so no credential or email reaches a log.
"""

import contextlib
import email.utils
import math
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool

from .exceptions import (
    ChannelAuthError,
    ChannelError,
    ChannelPayloadError,
    ChannelRedirectError,
    ChannelResponseTooLargeError,
    ChannelRetryableError,
    ChannelThrottledError,
)
from .redaction import get_logger

_logger = get_logger(__name__)

# Seconds one socket operation (connect, one read) may take.
DEFAULT_TIMEOUT = 20
# Seconds a whole call may take, body included: `requests` timeouts are per
# socket operation, so a channel trickling bytes would hold a worker forever.
DEFAULT_DEADLINE = 120
# Largest answer read (decoded bytes): a page of orders or variants, a stock
# batch's answer stay under a few MiB; past this the body is dropped unread.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
READ_CHUNK_BYTES = 64 * 1024
# Longest wait a Retry-After (or a throttle status) may impose: a channel asks
# for seconds, a broken or hostile one for `inf`; the job retries later anyway.
MAX_RETRY_AFTER = 3600
# Longest a call waits in place (throttling, the shared budget) inside its
# job's transaction: a longer wait ends the job, retried after the delay.
MAX_WAIT_IN_PLACE = 5
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class BucketStatus:
    """A channel's rate-limit bucket as one response reported it: its size,
    what is left, and how much refills per second (in the channel's cost
    units). Given to the shared budget's `after()`."""

    maximum: float
    available: float
    restore_rate: float


def clamp_wait(seconds):
    """`seconds` as a finite wait in 0..MAX_RETRY_AFTER (None if not a number)."""
    try:
        seconds = float(seconds)
    except (TypeError, ValueError, OverflowError):
        return None
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (seconds or HTTP-date form),
    clamped to 0..MAX_RETRY_AFTER; None when absent or unreadable."""
    if value is None:
        return None
    value = str(value).strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is not None:
        return clamp_wait(seconds)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return clamp_wait((moment - (now or datetime.now(UTC))).total_seconds())


class ChannelTransport:
    """Send requests to one channel account with a shared session, a timeout
    per socket operation, a deadline per call and a cap on the answer's size."""

    def __init__(
        self,
        session=None,
        timeout=DEFAULT_TIMEOUT,
        deadline=DEFAULT_DEADLINE,
        max_bytes=MAX_RESPONSE_BYTES,
        clock=time.monotonic,
    ):
        self.session = session or _deadline_session()
        self.timeout = timeout
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.clock = clock

    def request(self, method, url, **kwargs):
        """Send a request and return the response, its body read whole, or
        raise a ChannelError. Redirects are not followed (see
        `_raise_for_redirect`). A watchdog shuts the call's socket at the
        deadline: a read blocked on a trickle never returns to check a clock."""
        kwargs.setdefault("timeout", min(self.timeout, self.deadline))
        kwargs.update(stream=True, allow_redirects=False)
        deadline = self.clock() + self.deadline
        call = _inflight.call = _Call()
        watchdog = threading.Timer(self.deadline, call.abort)
        watchdog.start()
        try:
            response = self._send(method, url, deadline, call, kwargs)
        finally:
            watchdog.cancel()
            _inflight.call = None
        self._raise_for_redirect(method, url, response)
        self._raise_for_status(method, url, response)
        return response

    def _send(self, method, url, deadline, call, kwargs):
        try:
            response = self.session.request(method, url, **kwargs)
            call.connection = call.connection or response.raw.connection
            with response:
                self._read_body(method, url, response, deadline)
        except requests.RequestException as exc:
            if self.clock() > deadline:
                raise self._overrun(method, url) from exc
            if isinstance(exc, requests.Timeout):
                raise ChannelRetryableError(f"{method} {url} timed out") from exc
            if isinstance(exc, requests.ConnectionError):
                msg = f"{method} {url}: connection failed"
                raise ChannelRetryableError(msg) from exc
            raise ChannelError(f"{method} {url}: {exc}") from exc
        return response

    def _read_body(self, method, url, response, deadline):
        """Read the body in chunks into `response.content`: at most
        `max_bytes`, before `deadline`."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_large(method, url)
        chunks, size = [], 0
        for chunk in response.iter_content(READ_CHUNK_BYTES):
            size += len(chunk)
            if size > self.max_bytes:
                raise self._too_large(method, url)
            if self.clock() > deadline:
                raise self._overrun(method, url)
            chunks.append(chunk)
        if self.clock() > deadline:
            # The watchdog's shutdown reads as an end of headers or body.
            raise self._overrun(method, url)
        response._content = b"".join(chunks)

    def _overrun(self, method, url):
        return ChannelRetryableError(
            f"{method} {url} took more than {self.deadline} seconds"
        )

    def _too_large(self, method, url):
        return ChannelResponseTooLargeError(
            f"{method} {url}: the answer is larger than {self.max_bytes} bytes; "
            "it was not read."
        )

    def _raise_for_redirect(self, method, url, response):
        if not 300 <= response.status_code < 400:
            return
        location = response.headers.get("Location")
        raise ChannelRedirectError(
            f"{method} {url} answered HTTP {response.status_code} redirecting to "
            f"{location}. A channel API never redirects an API call, so it was "
            "not followed (that would send the credentials elsewhere): check "
            "the backend's URL (https, exact host)."
        )

    def _raise_for_status(self, method, url, response):
        status = response.status_code
        if status < 400:
            return
        summary = f"{method} {url} answered HTTP {status}"
        if status in (401, 403):
            raise ChannelAuthError(summary)
        if status in RETRYABLE_STATUSES:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            error = ChannelThrottledError if status == 429 else ChannelRetryableError
            raise error(summary, retry_after=retry_after)
        _logger.info("%s: %s", summary, response.text[:500])
        raise ChannelPayloadError(f"{summary}: {response.text[:500]}")


# The call in flight on this thread, so that the pool hands it its connection.
_inflight = threading.local()


class _Call:
    """One request in flight: the connection the watchdog shuts at the
    deadline (shutdown wakes a read blocked in another thread; close does not)."""

    connection = None

    def abort(self):
        sock = getattr(self.connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _track(pool_class):
    """A connection pool that gives the call in flight its connection as
    soon as it takes one, before connecting and sending."""

    class TrackingPool(pool_class):
        def _get_conn(self, timeout=None):
            connection = super()._get_conn(timeout=timeout)
            call = getattr(_inflight, "call", None)
            if call is not None:
                call.connection = connection
            return connection

    return TrackingPool


class _DeadlineAdapter(requests.adapters.HTTPAdapter):
    """Pools whose connections the deadline watchdog can reach."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _track(HTTPConnectionPool),
            "https": _track(HTTPSConnectionPool),
        }


def _deadline_session():
    session = requests.Session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, _DeadlineAdapter())
    return session
