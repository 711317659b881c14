from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed.broker import TansuBroker, free_port
from testbed.tcp_proxy import TcpProxy

REPO_ROOT = Path(__file__).resolve().parent.parent
# the generator's last line: `stopped (<reason>) rate_per_s=… produced=… delivered=… failed=… buffered=… undelivered=…`
SUMMARY = re.compile(
    r"stopped \((?P<reason>[^)]*)\) rate_per_s=\d+ produced=(?P<produced>\d+) delivered=(?P<delivered>\d+) "
    r"failed=(?P<failed>\d+) buffered=(?P<buffered>\d+) undelivered=(?P<undelivered>\d+)"
)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TansuBroker]:
    """One in-memory tansu broker for the session; tests isolate themselves by topic."""
    instance = TansuBroker(tmp_path_factory.mktemp("tansu") / "broker.log").start()
    yield instance
    instance.stop()


@pytest.fixture
def cuttable(tmp_path: Path) -> Iterator[tuple[TansuBroker, TcpProxy]]:
    """A broker of its own that clients reach only through a proxy the test can cut."""
    proxy_port = free_port()
    broker = TansuBroker(tmp_path / "broker.log", advertised_port=proxy_port).start()
    proxy = TcpProxy(proxy_port, broker.port).start()
    yield broker, proxy
    proxy.stop()
    broker.stop()


def run_generator(*args: str, env: dict[str, str] | None = None, **popen: object) -> subprocess.Popen:
    """Start `python -m generator` from the repo root with only the given variables set."""
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1", **(env or {})}
    if os.environ.get("MUTANT_UNDER_TEST", "stats") != "stats":  # `make mutate`: the child runs the mutant too
        environment["MUTANT_UNDER_TEST"] = os.environ["MUTANT_UNDER_TEST"]
    return subprocess.Popen(
        [sys.executable, "-m", "generator", *args],
        cwd=REPO_ROOT,
        env=environment,
        **{"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen},
    )


def look_further(lines: list[str]) -> dict[str, str]:
    """`make verify`'s failed checks, each with the service whose logs its line points at."""
    return {line.split(" (")[0]: line.rsplit("SERVICE=", 1)[1] for line in lines if "look further" in line}
