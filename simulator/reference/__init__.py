"""The third-party reference data kept beside this file (see README.md)."""

from pathlib import Path

FOLDER = Path(__file__).resolve().parent


def reference_path(*parts):
    """A file of the reference data; never a path outside this folder."""
    path = FOLDER.joinpath(*parts).resolve()
    if not path.is_relative_to(FOLDER):
        raise ValueError(f"{path} is outside the reference data.")
    return path
