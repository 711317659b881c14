"""Reading `make verify`'s output as a person does."""

from __future__ import annotations


def look_further(lines: list[str]) -> dict[str, str]:
    """`make verify`'s failed checks, each with the service whose logs its line points at."""
    return {line.split(" (")[0]: line.rsplit("SERVICE=", 1)[1] for line in lines if "look further" in line}
