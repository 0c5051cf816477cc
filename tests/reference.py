"""Where ../shared/reference is, wherever the tests run from."""

import os
from pathlib import Path


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
