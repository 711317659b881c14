"""`make mutate`'s gate (scripts/mutation_report.py): the whole under 95 % or an area under 90 % fails it."""

from __future__ import annotations

from typing import Any

from testbed.repo import script


def report_module() -> Any:
    return script("mutation_report")


def results(module: str, killed: int, survived: int, timeout: int = 0) -> dict[str, str]:
    statuses = ["killed"] * killed + ["timeout"] * timeout + ["survived"] * survived
    return {f"{module}.x_f__mutmut_{n}": status for n, status in enumerate(statuses, 1)}


def test_results_are_read_from_mutmut_s_lines() -> None:
    text = "    core.rules.x__ranged__mutmut_4: killed\n    verify.kafka_hop.xǁKafkaHopǁproduce__mutmut_3: survived\n"
    assert report_module().read_results(text) == {
        "core.rules.x__ranged__mutmut_4": "killed",
        "verify.kafka_hop.xǁKafkaHopǁproduce__mutmut_3": "survived",
    }


def test_every_mutated_package_has_an_area() -> None:
    """A module no area claims would drop out of the score without a word."""
    mutated = {
        "core",
        "generator",
        "infra.settings",
        "infra.clickhouse_schema",
        "policy",
        "dashboards",
        "ddl",
        "verify",
    }
    prefixes = report_module().AREAS.values()
    assert all(any(f"{package}.".startswith(prefix) or package == prefix for prefix in prefixes) for package in mutated)


def test_the_whole_must_reach_95_and_each_area_90() -> None:
    score_table = report_module().score_table
    passing = {**results("core.rules", 96, 4), **results("verify.kafka_hop", 95, 5)}
    rows, failing = score_table(passing)
    assert failing == [] and rows[-1] == "| **all** | | 200 | 191 | | | **95.5%** |"
    _, failing = score_table({**results("core.rules", 300, 0), **results("verify.kafka_hop", 89, 11)})
    assert failing == ["verify 89.0% is under the 90% floor of an area"]
    _, failing = score_table({**results("core.rules", 93, 7), **results("verify.kafka_hop", 93, 6, timeout=1)})
    assert failing == ["all mutants 93.5% is under the 95% target"]
