"""Secrets and personal data kept out of the connector's log lines.

Every module of the addon takes its logger from `get_logger(__name__)`, like
Odoo's `payment` loggers: a filter masks credentials and email addresses in
the message, its arguments and its traceback before any handler sees them.
"""

import logging
import re

REDACTED = "[REDACTED]"

# Keys whose values never reach a log line (compared in lower case).
SENSITIVE_KEYS = frozenset(
    {
        "access_token",
        "api_secret",
        "authorization",
        "client_secret",
        "consumer_key",
        "consumer_secret",
        "password",
        "refresh_token",
        "webhook_secret",
        "x-amz-access-token",
        "x-shopify-access-token",
    }
)

_KEYS = "|".join(re.escape(key) for key in sorted(SENSITIVE_KEYS))
# `"key": "value"`, `'key': 'value'`, `key=value`, `Key: [Basic] value`.
_KEY_VALUE = re.compile(
    rf"""(?P<key>["']?(?:{_KEYS})["']?\s*[:=]\s*)"""
    r"""(?:(?P<quote>["'])(?:(?!(?P=quote)).)*(?P=quote)"""
    r"""|(?:(?:basic|bearer|token)\s+)?[^"'\s,;}&]+)""",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Shopify Admin API tokens and Login with Amazon access and refresh tokens
# (Atza|..., Atzr|...), wherever they appear (an error text, a repr).
_SHOPIFY_TOKEN = re.compile(r"\bshp(?:at|ca|pa|ss)_[A-Za-z0-9_]+|\bAtz[ar]\|[\w.|-]+")


def _hide_value(match):
    quote = match["quote"] or ""
    return f"{match['key']}{quote}{REDACTED}{quote}"


def mask(text):
    """`text` with the values of sensitive keys and email addresses hidden."""
    text = _KEY_VALUE.sub(_hide_value, text)
    return _SHOPIFY_TOKEN.sub(REDACTED, _EMAIL.sub(REDACTED, text))


def _mask_value(value):
    if isinstance(value, dict):
        return {
            key: REDACTED if str(key).lower() in SENSITIVE_KEYS else _mask_value(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(_mask_value(item) for item in value)
    return value


class RedactingFilter(logging.Filter):
    """Mask a record's message, arguments and traceback; never drop it."""

    def filter(self, record):
        args = record.args
        if isinstance(args, dict):
            args = _mask_value(args)
        elif args:
            args = tuple(_mask_value(arg) for arg in args)
        try:
            message = str(record.msg) % args if args else str(record.msg)
        except (TypeError, ValueError, KeyError):
            return True  # a broken format: left for logging to report
        record.msg, record.args = mask(message), None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = mask(text)
        return True


LOG_FILTER = RedactingFilter()


def get_logger(name):
    """The logger `name`, masking secrets and personal data (one filter)."""
    logger = logging.getLogger(name)
    if LOG_FILTER not in logger.filters:
        logger.addFilter(LOG_FILTER)
    return logger
