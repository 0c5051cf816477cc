"""Hypothesis strategies and settings shared by the fuzzing tests.

`make test` runs a fixed, reproducible set of examples per property
(`CHANNEL_FUZZ_EXAMPLES`, 60 by default, derandomized); `make reliability`
runs many more, random ones (README.rst, "Reliability"). Every property
counts the inputs it tried in `TRIED`, which the tests print.
"""

import copy
import os
from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("CHANNEL_FUZZ_EXAMPLES", "60"))
RANDOM = os.environ.get("CHANNEL_FUZZ_RANDOM") == "1"
TRIED = Counter()
UNHANDLED = Counter()

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)

# Values a channel (or an attacker) puts where a number, a date or an id is
# expected: what broke parsers in other connectors.
NASTY_TEXT = (
    "",
    " ",
    "0",
    "-0",
    "-1",
    "1e400",
    "-1e400",
    "1e-400",
    "NaN",
    "Infinity",
    "sNaN",
    "9" * 60,
    "1,50",
    "1 000.00",
    "١٢٣",
    "0x1F",
    "\x00",
    "\u202e",
    "💥" * 3,
    "null",
    "true",
    "[]",
    "{}",
    "2026-13-45T25:61:61Z",
    "9999-12-31T23:59:59-23:59",
    "0000-00-00T00:00:00Z",
    "gid://shopify/Order/",
    "gid://shopify/Order/abc",
    "gid://shopify//1",
)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=24),
    st.sampled_from(NASTY_TEXT),
)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=12), children, max_size=3)
    ),
    max_leaves=8,
)


def json_paths(value, prefix=()):
    """Every path (tuple of keys and indexes) into a JSON value, root first."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from json_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from json_paths(child, (*prefix, index))


def _apply(document, path, action, value):
    if not path:
        return value if action == "replace" else document
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if action == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == "delete":
        parent.pop(path[-1])
    else:
        parent[path[-1]] = value
    return document


@st.composite
def mutations_of(draw, seed, max_mutations=4):
    """`seed` (a real payload) with 1 to `max_mutations` of its values
    replaced by hostile JSON or deleted; now and then the whole document."""
    document = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = list(json_paths(document))
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(("replace", "replace", "delete")))
        value = draw(JSON_VALUES) if action == "replace" else None
        document = _apply(document, path, action, value)
    return document
