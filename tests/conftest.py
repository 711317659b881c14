from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed.broker import TansuBroker, free_port
from testbed.tcp_proxy import TcpProxy


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


_exit_status: int | None = None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status  # noqa: PLW0603 -- the one value pytest_unconfigure needs, set once per run
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave without interpreter teardown once pytest has reported: chdb's embedded server can crash (SIGSEGV) in
    its own global shutdown at exit after every test passed ("ShutdownTablesThreadPool is not initialized"),
    which would turn a green run into exit 139. Nothing of ours is left to flush or close by then. Not under
    mutmut (`MUTANT_UNDER_TEST`), which runs pytest inside its own process and goes on afterwards."""
    if _exit_status is not None and "chdb" in sys.modules and "MUTANT_UNDER_TEST" not in os.environ:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status)
