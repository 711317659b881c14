"""bench: program — the whole Pulumi program evaluated under mocks (what a preview's program part costs)."""

from __future__ import annotations

import statistics
import time

from testbed.program import dev_config, run_program

RUNS = 7


def run() -> str:
    started = time.perf_counter()
    run_program()  # the first run also pays for imports (pulumi, the providers' SDKs)
    first_run = time.perf_counter() - started
    seconds = []
    for _ in range(RUNS):
        started = time.perf_counter()
        program = run_program(config=dev_config())
        seconds.append(time.perf_counter() - started)
    return (
        f"bench: program seconds={statistics.median(seconds):.3f} max_seconds={max(seconds):.3f} "
        f"first_run_seconds={first_run:.3f} runs={RUNS} resources={len(program.resources)}"
    )
