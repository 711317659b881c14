from __future__ import annotations

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
