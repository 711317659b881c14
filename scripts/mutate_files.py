"""`make mutate-files`: mutation testing where mutmut cannot reach — the SQL templates, the shell scripts and the
workflows, whose behaviour no Python function body holds.

Each operator changes one occurrence of one pattern in one file (drop a `WHERE`, flip a comparison, swap an
engine, drop a `GRANT`, negate a shell test, skip a `fail`, …); the tests that read that kind of file run
against the change, and a mutant they do not notice survives. The scores and every survivor go to
docs/mutation.md between the markers below; a survivor is either killed by a new test or named there with its
reason (an equivalent change), like mutmut's.

    python scripts/mutate_files.py [--kind sql|shell|workflow] [--write]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "mutation.md"
BEGIN, END = "<!-- mutate-files: begin -->", "<!-- mutate-files: end -->"
TIMEOUT_S = 600


@dataclass(frozen=True)
class Operator:
    name: str
    pattern: str  # a regular expression (multiline); each match is one mutant
    replacement: str


@dataclass(frozen=True)
class Kind:
    files: tuple[str, ...]  # globs under the repository root
    tests: tuple[str, ...]  # what reads these files
    operators: tuple[Operator, ...]
    comment: str  # a line starting with it is a comment: changing it changes nothing


KINDS = {
    "sql": Kind(
        files=("sql/*.sql",),
        tests=("tests/ddl/test_render.py", "tests/infra/test_clickhouse_schema.py", "tests/dashboards/test_panels.py"),
        operators=(
            Operator("drop-where", r"\n\s*WHERE [^\n;]*", ""),
            Operator("flip->=", r">=", "<"),
            Operator("flip-<=", r"<=", ">"),
            Operator("flip-=", r"(?<=[^<>!=]) = (?=[^=])", " != "),
            Operator("and-to-or", r"\bAND\b", "OR"),
            Operator("swap-engine", r"\bReplacingMergeTree\b", "MergeTree"),
            Operator("swap-engine", r"\bAggregatingMergeTree\b", "MergeTree"),
            Operator("drop-grant", r"^GRANT [^\n;]*;?\n?", ""),
            Operator("drop-ttl", r"\nTTL [^\n]*", ""),
            Operator("drop-order-key", r", _offset\b", ""),
        ),
        comment="--",
    ),
    "shell": Kind(
        files=("scripts/*.sh",),
        tests=("tests/project/test_make_targets.py", "tests/project/test_workflows.py"),
        operators=(
            Operator("negate-==", r" == ", " != "),
            Operator("negate-!=", r" != ", " == "),
            Operator("swap--z", r"\[\[ -z ", "[[ -n "),
            Operator("swap--n", r"\[\[ -n ", "[[ -z "),
            Operator("skip-fail", r"\bfail \"", 'true "'),
            Operator("exit-0", r"\bexit [1-9]\b", "exit 0"),
            Operator("drop-export", r"\bexport [A-Z_]+=[^\n]*", "true"),
        ),
        comment="#",
    ),
    "workflow": Kind(
        files=(".github/workflows/*.yml",),
        tests=("tests/project/test_workflows.py",),
        operators=(
            Operator("false-to-true", r": false\b", ": true"),
            Operator("always-to-success", r"always\(\)", "success()"),
            Operator("drop-env-line", r"\n +[A-Z_]+: \$\{\{[^\n]*", ""),
            Operator("drop-permission", r"\n +pull-requests: write[^\n]*", ""),
        ),
        comment="#",
    ),
}


@dataclass(frozen=True)
class Mutant:
    path: Path
    operator: Operator
    start: int
    end: int
    line: int

    @property
    def label(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} {self.operator.name}"


def mutants(kind: Kind) -> list[Mutant]:
    found = []
    for glob in kind.files:
        for path in sorted(ROOT.glob(glob)):
            text = path.read_text()
            for operator in kind.operators:
                for match in re.finditer(operator.pattern, text, re.MULTILINE):
                    line = text.count("\n", 0, match.start()) + 1 + (match.group(0).startswith("\n"))
                    if not text.splitlines()[line - 1].lstrip().startswith(kind.comment):
                        found.append(Mutant(path, operator, match.start(), match.end(), line))
    return found


def killed(mutant: Mutant, tests: tuple[str, ...]) -> bool:
    original = mutant.path.read_text()
    mutated = original[: mutant.start] + mutant.operator.replacement + original[mutant.end :]
    try:
        mutant.path.write_text(mutated)
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return True
    finally:
        mutant.path.write_text(original)
    return result.returncode != 0


def run(kinds: list[str]) -> dict[str, tuple[int, list[str]]]:
    results = {}
    for name in kinds:
        kind, survivors = KINDS[name], []
        found = mutants(kind)
        for index, mutant in enumerate(found, 1):
            started = time.monotonic()
            verdict = killed(mutant, kind.tests)
            print(f"{name} {index}/{len(found)} {mutant.label}: {'killed' if verdict else 'SURVIVED'} "
                  f"({time.monotonic() - started:.0f} s)", flush=True)  # fmt: skip
            if not verdict:
                survivors.append(mutant.label)
        results[name] = (len(found), survivors)
    return results


def report(results: dict[str, tuple[int, list[str]]]) -> str:
    rows = ["| kind | mutants | killed | score |", "|---|---|---|---|"]
    for name, (total, survivors) in results.items():
        score = 100 * (total - len(survivors)) / total if total else 100.0
        rows.append(f"| {name} | {total} | {total - len(survivors)} | {score:.1f} % |")
    lines = [BEGIN, *rows, ""]
    for name, (_, survivors) in results.items():
        lines += [f"- {name} survivor: `{label}`" for label in survivors]
    return "\n".join([*lines, END])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="mutation testing of the SQL templates, shell and workflows")
    parser.add_argument("--kind", choices=sorted(KINDS), action="append", help="only this kind (repeatable)")
    parser.add_argument("--write", action="store_true", help="write the scores into docs/mutation.md")
    args = parser.parse_args(argv)
    results = run(args.kind or list(KINDS))
    table = report(results)
    print(table)
    if args.write:
        text = REPORT.read_text()
        REPORT.write_text(re.sub(f"{re.escape(BEGIN)}.*?{re.escape(END)}", lambda _: table, text, flags=re.DOTALL))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
