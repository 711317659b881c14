"""Running the generator as a user does (`python -m generator`), and reading its closing line."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from testbed.repo import REPO_ROOT

# the generator's last line: `stopped (<reason>) rate_per_s=… produced=… delivered=… failed=… buffered=… undelivered=…`
SUMMARY = re.compile(
    r"stopped \((?P<reason>[^)]*)\) rate_per_s=\d+ produced=(?P<produced>\d+) delivered=(?P<delivered>\d+) "
    r"failed=(?P<failed>\d+) buffered=(?P<buffered>\d+) undelivered=(?P<undelivered>\d+)"
)


def run_generator(*args: str, env: dict[str, str] | None = None, **popen: object) -> subprocess.Popen:
    """Start `python -m generator` from the repo root with only the given variables set."""
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1", **(env or {})}
    if os.environ.get("MUTANT_UNDER_TEST", "stats") != "stats":  # `make mutate`: the child runs the mutant too
        environment["MUTANT_UNDER_TEST"] = os.environ["MUTANT_UNDER_TEST"]
    return subprocess.Popen(
        [sys.executable, "-m", "generator", *args],
        cwd=REPO_ROOT,
        env=environment,
        **{"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen},
    )
