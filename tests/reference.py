"""Where ../shared/reference is, wherever the tests run from."""

import gzip
import json
import os
from functools import cache
from pathlib import Path

from graphql import build_client_schema


def reference_path(*parts):
    """A file of the shared reference data (real channel payloads and schemas).

    `CHANNEL_REFERENCE_DIR` wins; otherwise walk up from this file, which runs
    from a copy of the addon under .build/, to the first ancestor that has
    `shared/reference` inside it or beside it.
    """
    if os.environ.get("CHANNEL_REFERENCE_DIR"):
        return Path(os.environ["CHANNEL_REFERENCE_DIR"], *parts)
    for folder in Path(__file__).resolve().parents:
        for candidate in (
            folder / "shared" / "reference",
            folder.parent / "shared" / "reference",
        ):
            if candidate.is_dir():
                return candidate.joinpath(*parts)
    raise FileNotFoundError("No shared/reference folder above the tests.")


@cache
def admin_schema():
    """Shopify's real Admin API 2026-07 schema, loaded once per test run."""
    with gzip.open(reference_path("shopify", "admin_2026-07.json.gz")) as file:
        return build_client_schema(json.load(file)["data"])
