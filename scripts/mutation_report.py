"""`make mutate`'s last step: score each module from mutmut's results and keep docs/mutation.md true.

Reads `mutmut results --all true` on stdin. Writes the score table into docs/mutation.md (between its markers),
prints it, and fails when the whole scores under its target, an area under its floor, or a surviving mutant is
not explained in the page
(every survivor needs a line naming it: why it is equivalent, or which test now kills it).
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

PAGE = Path(__file__).resolve().parent.parent / "docs" / "mutation.md"
BEGIN, END = "<!-- scores: written by make mutate -->", "<!-- end of scores -->"
TARGET = 0.95  # all mutants together (issue 22)
FLOOR = 0.90  # each area
KILLED = {"killed", "timeout"}  # a mutant that makes the suite hang is caught too
# The areas the target applies to, by module prefix.
AREAS = {
    "core": "core.",
    "generator": "generator.",
    "settings": "infra.settings",
    "schema": "ddl.",
    "schema provider": "infra.clickhouse_schema",
    "policy": "policy.",
    "dashboards": "dashboards.",
    "verify": "verify.",
}
LINE = re.compile(r"\s*(?P<name>[\w.ǁ]+__mutmut_\d+): (?P<status>.+)")


def module_of(mutant: str) -> str:
    """`generator.sinks.xǁKafkaSinkǁsend__mutmut_3` -> `generator.sinks`."""
    return re.split(r"\.x(?:ǁ|_)", mutant, maxsplit=1)[0]


def read_results(text: str) -> dict[str, str]:
    return {match["name"]: match["status"].strip() for match in map(LINE.fullmatch, text.splitlines()) if match}


def score_table(results: dict[str, str]) -> tuple[list[str], list[str]]:
    """The page's rows, and the areas under the target."""
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in results.items():
        by_module[module_of(name)][status] += 1
    rows = ["| area | module | mutants | killed | survived | no test | score |", "|---|---|---|---|---|---|---|"]
    failing = []
    whole_total = whole_killed = 0
    for area, prefix in AREAS.items():
        modules = sorted(module for module in by_module if module.startswith(prefix))
        if not modules:
            continue
        area_total = area_killed = 0
        for module in modules:
            counts = by_module[module]
            total, killed = sum(counts.values()), sum(counts[s] for s in KILLED)
            area_total, area_killed = area_total + total, area_killed + killed
            rows.append(f"| {area} | `{module}` | {total} | {killed} | {counts['survived']} | {counts['no tests']} "
                        f"| {killed / total:.1%} |")  # fmt: skip
        score = area_killed / area_total
        rows.append(f"| **{area}** | all | {area_total} | {area_killed} | | | **{score:.1%}** |")
        whole_total, whole_killed = whole_total + area_total, whole_killed + area_killed
        if score < FLOOR:
            failing.append(f"{area} {score:.1%} is under the {FLOOR:.0%} floor of an area")
    whole = whole_killed / whole_total if whole_total else 0.0
    rows.append(f"| **all** | | {whole_total} | {whole_killed} | | | **{whole:.1%}** |")
    if whole < TARGET:
        failing.append(f"all mutants {whole:.1%} is under the {TARGET:.0%} target")
    return rows, failing


def main() -> int:
    results = read_results(sys.stdin.read())
    if not results:
        print("mutation_report: no mutmut results on stdin (run `make mutate`)", file=sys.stderr)
        return 2
    unchecked = sorted(name for name, status in results.items() if status == "not checked")
    if unchecked:
        print(f"mutation_report: {len(unchecked)} mutants not checked yet (e.g. {unchecked[0]})", file=sys.stderr)
        return 1
    rows, failing = score_table(results)
    page = PAGE.read_text()
    head, _, rest = page.partition(BEGIN)
    _, _, tail = rest.partition(END)
    PAGE.write_text(f"{head}{BEGIN}\n" + "\n".join(rows) + f"\n{END}{tail}")
    print("\n".join(rows))
    survivors = [name for name, status in results.items() if status not in KILLED]
    unexplained = [name for name in survivors if f"`{name}`" not in tail]
    for name in unexplained:
        print(f"mutation_report: {name} survives and docs/mutation.md does not explain it", file=sys.stderr)
    for area in failing:
        print(f"mutation_report: {area}", file=sys.stderr)
    return 1 if unexplained or failing else 0


if __name__ == "__main__":
    sys.exit(main())
