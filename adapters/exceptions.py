"""Errors raised by the adapters; the ORM layer decides what each one means.

`ChannelRetryableError` becomes a queue_job retry, `ChannelAuthError` puts the
backend in error, `ChannelPayloadError` becomes a `channel.exception`.
"""

from contextlib import contextmanager


class ChannelError(Exception):
    """Any failure talking to a channel."""


class ChannelRetryableError(ChannelError):
    """A transient failure (timeout, 5xx, throttling): try again later.

    `retry_after` is the number of seconds the channel asked us to wait, when it
    said so (Retry-After header, Shopify throttle status).
    """

    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


class ChannelThrottledError(ChannelRetryableError):
    """The channel said "slow down" (HTTP 429, Shopify THROTTLED): the account
    is fine, only busy. Waiting is always the answer; it is no failure."""


class ChannelBudgetWaitError(ChannelThrottledError):
    """The account's shared rate-limit budget needs a longer wait than a call
    may spend in place: the job retries after `retry_after` seconds."""


class ChannelAuthError(ChannelError):
    """The channel rejected our credentials (401/403): retrying will not help."""


class ChannelPayloadError(ChannelError):
    """The channel sent, or refused, data we cannot use as it is."""


class ChannelSignatureError(ChannelError):
    """A webhook delivery's signature is missing or does not match."""


class ChannelRedirectError(ChannelPayloadError):
    """The channel answered an API call with a redirect (3xx). A channel API
    never redirects one: the base URL is wrong (http instead of https, another
    host), and following it would send our credentials elsewhere."""


class ChannelResponseTooLargeError(ChannelPayloadError):
    """The channel's answer is larger than `transport.MAX_RESPONSE_BYTES`: it
    is dropped unread rather than held in a worker's memory."""


@contextmanager
def malformed(what, ref, errors=(AttributeError, TypeError)):
    """Let a parser read a payload as it should be: `errors` raised by data
    of another shape (a list where an object was due) become a
    ChannelPayloadError naming `what` and `ref`."""
    try:
        yield
    except errors as exc:
        msg = f"The {what} {ref} is malformed: {exc}"
        raise ChannelPayloadError(msg) from exc
