"""Running checks: one line each with its timing, a failure says what was expected, what was seen, and
where to look further."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO


class Failed(Exception):
    """A check's expectation was not met: `expected`, what was `seen`."""

    def __init__(self, expected: str, seen: str) -> None:
        super().__init__(f"expected {expected}, saw {seen}")


@dataclass
class Checks:
    """Runs checks in order and remembers whether all passed."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    failures: int = 0

    def run(self, hop: str, name: str, check: Callable[[], str], look_further: str) -> bool:
        """Run `check` (it returns a short description of what it found); print one line; True if it passed."""
        started = time.monotonic()
        try:
            found = check()
        except Exception as error:  # every failure, expected or not, is one line naming the hop
            self.failures += 1
            self._line("FAIL", hop, name, started, f"{_first_line(error)}; look further: {look_further}")
            return False
        self._line("ok", hop, name, started, found)
        return True

    def skip(self, hop: str, name: str, reason: str) -> None:
        self.failures += 1
        print(f"verify: FAIL {hop}: {name} (not run: {reason})", file=self.out, flush=True)

    @property
    def passed(self) -> bool:
        return self.failures == 0

    def _line(self, status: str, hop: str, name: str, started: float, text: str) -> None:
        took = time.monotonic() - started
        print(f"verify: {status:<4} {hop}: {name} ({took:.2f} s): {text}", file=self.out, flush=True)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def wait_for(condition: Callable[[], bool], timeout_s: float, poll_s: float = 0.2) -> bool:
    """Poll `condition` until it holds or `timeout_s` passes; True if it held."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)
