"""Fixtures the tests of `make verify` share: a schema on chdb, a verify that gives up quickly, a Pulumi stand-in."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from core.contract import ReportShape
from ddl.spec import SchemaSpec
from testbed.clickhouse import ChdbClient, apply_schema
from testbed.verify_support import STAND_IN_PULUMI
from verify import kafka_hop


@pytest.fixture
def chdb_spec() -> SchemaSpec:
    spec = SchemaSpec(database=f"v_{uuid.uuid4().hex[:12]}", shape=ReportShape(bid_size=2, ask_size=2))
    apply_schema(ChdbClient(), spec)
    return spec


@pytest.fixture
def quick_to_give_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing answers on a closed port: no need to look for a broker for the full five seconds."""
    monkeypatch.setattr(kafka_hop, "BOOTSTRAP_TIMEOUT_MS", 300)


@pytest.fixture
def pulumi_stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `pulumi` on PATH that records its arguments and answers like the CLI."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text(STAND_IN_PULUMI)
    (bin_dir / "pulumi").chmod(0o755)
    calls = tmp_path / "calls"
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("PULUMI_CALLS", str(calls))
    return calls
