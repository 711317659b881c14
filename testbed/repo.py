"""Where the checkout is: the root every test, benchmark and helper resolves the project's files from."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
