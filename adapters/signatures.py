"""HMAC signatures of webhook deliveries, always over the raw body bytes."""

import base64
import hashlib
import hmac

from .exceptions import ChannelSignatureError


def hmac_sha256(secret, body):
    """Raw HMAC-SHA256 digest of `body` (bytes) keyed with `secret` (str).

    An empty key is refused: anyone can compute a signature with it.
    """
    if not secret:
        raise ChannelSignatureError("No webhook signing secret is configured.")
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def sign_base64(secret, body):
    """Shopify's and WooCommerce's form: base64 of the digest."""
    return base64.b64encode(hmac_sha256(secret, body)).decode()


def sign_hex(secret, body):
    """The generic channel's form: lower-case hex of the digest."""
    return hmac_sha256(secret, body).hex()


def matches(expected, received):
    """Constant-time comparison of two signatures; a missing one never matches."""
    if not expected or not received:
        return False
    try:
        received = received.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected.encode(), received)
