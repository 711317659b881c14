"""What the dynamic providers share: waiting for a service to answer, and one-line error reasons."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")
DEFAULT_WAIT_TIMEOUT_S = 120  # how long a provider waits for its service to answer, unless told otherwise
# `make destroy FORCE=1` sets this for `pulumi destroy`: a delete whose service does not answer leaves the
# service's objects to go with its container and volumes instead of failing the destroy
FORCE_DELETE_ENV = "PIPELINING_DATA_FORCE_DELETE"
FORCE_DELETE_WAIT_S = 5.0  # with FORCE, how long a delete still tries to reach its service


def forced_delete() -> bool:
    """Whether this run is `make destroy FORCE=1`."""
    return os.environ.get(FORCE_DELETE_ENV) == "1"


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
