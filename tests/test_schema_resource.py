"""The Schema resource constructed under Pulumi's mocks: inputs, secrets and the pickled provider."""

from __future__ import annotations

import base64

import dill
import pulumi
import pytest

from infra.clickhouse_schema import Schema, SchemaError, SchemaProvider, spec_from
from schema.spec import SchemaSpec
from testbed.program import RecordingMocks, is_secret


@pytest.fixture
def mocks() -> RecordingMocks:
    recording = RecordingMocks()
    pulumi.runtime.set_mocks(recording, project="pipelining-data", stack="test", preview=False)
    return recording


@pulumi.runtime.test
def test_schema_resource_registers_with_a_readable_type_and_a_pickled_provider(mocks: RecordingMocks):
    schema = Schema(
        "schema",
        SchemaSpec(),
        host="127.0.0.1",
        port=8123,
        admin_user="admin",
        admin_password="admin-password",
        reader_password="reader-password",
    )

    def check(_urn: str) -> None:
        (args,) = mocks.created
        assert args.typ == "pulumi-python:dynamic/clickhouse:Schema"
        for secret in ("adminPassword", "readerPassword", "__provider"):
            assert is_secret(args.inputs[secret]), f"{secret} must be secret"
        provider = dill.loads(base64.b64decode(args.inputs["__provider"]["value"]))
        assert isinstance(provider, SchemaProvider)
        # numbers come back from the engine as floats: the provider must still render integers
        assert spec_from(args.inputs).retention_days == 30
        assert set(args.inputs["objects"]) == {
            "market", "metrics", "metrics_queue", "metrics_mv", "metrics_dead_letter", "metrics_dead_letter_mv",
            "metrics_1m",
            "grafana_reader",
        }  # fmt: skip
        assert "reader-password" not in str(args.inputs["objects"])

    return schema.urn.apply(check)


def test_invalid_spec_fails_at_construction(mocks: RecordingMocks) -> None:
    with pytest.raises(SchemaError, match="retention 0 days not accepted"):
        Schema("bad", SchemaSpec(retention_days=0), host="h", port=1, admin_user="a", admin_password="p",
               reader_password="r")  # fmt: skip
