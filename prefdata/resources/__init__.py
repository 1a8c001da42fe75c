"""Files shipped inside the package: Great Expectations suites and training recipes.

They live here (and not only in the checkout's top-level ``expectations/`` and ``train/``, which are
links to these folders) so that an installed wheel finds its default suite and recipes.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def resource_path(*parts: str) -> Path:
    """Path of a shipped file, e.g. ``resource_path("expectations", "canonical.json")``."""
    path = Path(str(files(__name__).joinpath(*parts)))
    if not path.exists():
        raise FileNotFoundError(f"prefdata resource not found: {'/'.join(parts)} (looked in {path})")
    return path
