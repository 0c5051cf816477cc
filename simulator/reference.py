"""Where ../shared/reference is, from a clone or from the test copy under .build/."""

import os
from pathlib import Path


def reference_path(*parts):
    if os.environ.get("CHANNEL_REFERENCE_DIR"):
        return Path(os.environ["CHANNEL_REFERENCE_DIR"], *parts)
    for folder in Path(__file__).resolve().parents:
        candidate = folder / "shared" / "reference"
        if candidate.is_dir():
            return candidate.joinpath(*parts)
    raise FileNotFoundError("No shared/reference folder above the simulator.")
