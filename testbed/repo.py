"""Where the checkout is: the root every test, benchmark and helper resolves the project's files from."""

import importlib
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[1]


def script(name: str) -> ModuleType:
    """One of `scripts/*.py`, imported as a module (they are scripts, not a package)."""
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(REPO_ROOT / "scripts"))
