"""HTTP for the adapters: timeouts, error mapping and redaction in one place.

Channel APIs are only ever reached through `ChannelTransport.request`, so every
call has a timeout, every failure maps onto `adapters.exceptions` and no
credential reaches a log line.
"""

import logging

import requests

from .exceptions import (
    ChannelAuthError,
    ChannelError,
    ChannelPayloadError,
    ChannelRetryableError,
    ChannelThrottledError,
)

_logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 20
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
REDACTED = "REDACTED"


def redact(mapping, sensitive_keys):
    """Return a copy of `mapping` with the values of sensitive keys hidden."""
    return {
        key: REDACTED if key.lower() in sensitive_keys else value
        for key, value in mapping.items()
    }


def parse_retry_after(value):
    """Seconds to wait from a Retry-After header (seconds form), else None."""
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return None


class ChannelTransport:
    """Send requests to one channel account with a shared session and timeout."""

    def __init__(self, session=None, timeout=DEFAULT_TIMEOUT):
        self.session = session or requests.Session()
        self.timeout = timeout

    def request(self, method, url, **kwargs):
        """Send a request and return the response, or raise a ChannelError."""
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.Timeout as exc:
            raise ChannelRetryableError(f"{method} {url} timed out") from exc
        except requests.ConnectionError as exc:
            raise ChannelRetryableError(f"{method} {url}: connection failed") from exc
        except requests.RequestException as exc:
            raise ChannelError(f"{method} {url}: {exc}") from exc
        self._raise_for_status(method, url, response)
        return response

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
