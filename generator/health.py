"""`python -m generator.health FILE MAX_AGE_S`: the container's health check.

Healthy (exit 0) when the generator touched FILE (its HEARTBEAT_FILE) within MAX_AGE_S seconds, which it
does only while reports are being delivered; unhealthy (exit 1) otherwise.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def is_fresh(heartbeat: Path, max_age_s: float) -> bool:
    try:
        return time.time() - heartbeat.stat().st_mtime <= max_age_s
    except FileNotFoundError:
        return False


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m generator.health HEARTBEAT_FILE MAX_AGE_SECONDS", file=sys.stderr)
        return 2
    heartbeat, max_age_s = Path(argv[0]), float(argv[1])
    if is_fresh(heartbeat, max_age_s):
        return 0
    print(f"generator: no report delivered in the last {max_age_s:g}s ({heartbeat} is stale or missing)")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
