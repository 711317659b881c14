"""What a configuration value may be: one small framework for the generator's environment variables and the
Pulumi program's config keys (`infra/settings.py` builds on it too). A rule says in words what it accepts and
parses a raw string, raising ValueError for anything else; the caller turns that into its one-line error."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    accepted: str  # completes "… is not accepted: expected <accepted>"
    parse: Callable[[str], Any]


# Every numeric rule has both bounds: a value a rule accepts must also run (the largest as well as the smallest),
# and an open-ended rule let through values that overflowed a timer or a timestamp far from where they were read.


def integer(low: int, high: int) -> Rule:
    return Rule(f"an integer from {low} to {high}", _ranged(int, low, high))


def number(low: float, high: float) -> Rule:
    return Rule(f"a number from {low:g} to {high:g}", _ranged(float, low, high))


def positive_number(high: float) -> Rule:
    def parse(raw: str) -> float:
        value = float(raw.strip())
        if not 0 < value <= high:
            raise ValueError  # the caller names the key, the value and what is accepted
        return value

    return Rule(f"a number > 0, at most {high:g}", parse)


def choice(options: tuple[str, ...]) -> Rule:
    def parse(raw: str) -> str:
        if raw.strip() not in options:
            raise ValueError
        return raw.strip()

    return Rule("one of " + ", ".join(options), parse)


def matching(pattern: re.Pattern[str], accepted: str) -> Rule:
    def parse(raw: str) -> str:
        if not pattern.fullmatch(raw):
            raise ValueError
        return raw

    return Rule(accepted, parse)


def _ranged(convert: Callable[[str], Any], low: float, high: float) -> Callable[[str], Any]:
    def parse(raw: str) -> Any:
        value = convert(raw.strip())
        if not low <= value <= high:  # NaN compares false both ways: refused too
            raise ValueError
        return value

    return parse
