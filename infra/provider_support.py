"""What the dynamic providers share: waiting for a service to answer, and one-line error reasons."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")
DEFAULT_WAIT_TIMEOUT_S = 120  # how long a provider waits for its service to answer, unless told otherwise


def wait_timeout_s(props: Mapping[str, Any]) -> float:
    """The resource's `waitTimeoutSeconds`, or the default."""
    return float(props.get("waitTimeoutSeconds", DEFAULT_WAIT_TIMEOUT_S))


def first_line(error: BaseException) -> str:
    """The first line of an error's message (its type name when it has none)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def first_answer(connect: Callable[[], T], wait_s: float, failure: Callable[[str], Exception]) -> T:
    """`connect()`'s result once it succeeds, retried every second for up to `wait_s` seconds; after that,
    `failure(reason)` is raised with the last error's first line."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return connect()
        except Exception as error:  # any failure to connect is retried until the deadline
            if time.monotonic() >= deadline:
                raise failure(first_line(error)) from None
            time.sleep(1)
