"""Run every benchmark, or those named on the command line (`python -m bench generator`)."""

from __future__ import annotations

import sys

from bench import alert_query, dashboard_range, generator_throughput, program_eval, schema_storage

BENCHMARKS = {
    "generator": generator_throughput.run,
    "storage": schema_storage.run_storage,
    "ingest": schema_storage.run_ingest,
    "program": program_eval.run,
    "alert-query": alert_query.run,
    "dashboard-range": dashboard_range.run,
}


def main(names: list[str]) -> int:
    for name in names or list(BENCHMARKS):
        if name not in BENCHMARKS:
            print(f"bench: unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
        print(BENCHMARKS[name](), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
