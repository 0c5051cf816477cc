"""Ids, money and time helpers shared by every part of the simulator."""

import uuid
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def gid(kind, ref):
    """Shopify global id, e.g. gid://shopify/ProductVariant/100001."""
    return f"gid://shopify/{kind}/{ref}"


def number(global_id):
    """The numeric part of a global id (also accepts a bare number)."""
    return str(global_id).rsplit("/", 1)[-1].split("?", 1)[0]


def cents(amount):
    """Round to the cent the way both channels do (half up)."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def money(amount):
    """Amounts travel as strings with two decimals on both channels."""
    return str(cents(amount))


def seeded_uuid(rng):
    """A version-4 UUID drawn from the seeded generator, so runs repeat."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def utc_now():
    """Default wall clock (timestamps in payloads); tests may inject theirs."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso_z(moment):
    """GraphQL DateTime: 2026-07-01T12:00:00Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_offset(moment):
    """Shopify REST/webhook style: 2026-07-01T12:00:00+00:00."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def wc_date(moment):
    """WooCommerce dates carry no zone: 2026-07-01T12:00:00 (site is UTC)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def parse_when(text):
    """Parse the timestamps clients put in filters (with or without zone)."""
    text = text.strip().strip("'\"")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment
