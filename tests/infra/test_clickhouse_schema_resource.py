"""The Schema resource constructed under Pulumi's mocks: inputs, secrets and the pickled provider."""

from __future__ import annotations

import base64

import dill
import pulumi
import pytest

from ddl.migration import schema_inputs, spec_from
from ddl.spec import SchemaSpec
from infra.clickhouse_schema import Schema, SchemaError, SchemaProvider
from infra.provider_support import DEFAULT_WAIT_TIMEOUT_S
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
        connection = {key: args.inputs[key] for key in ("host", "port", "adminUser", "manageReader",
                                                         "allowDestructiveChanges", "waitTimeoutSeconds")}  # fmt: skip
        assert connection == {"host": "127.0.0.1", "port": 8123, "adminUser": "admin", "manageReader": True,
                              "allowDestructiveChanges": False,
                              "waitTimeoutSeconds": DEFAULT_WAIT_TIMEOUT_S}  # fmt: skip
        assert [args.inputs[k]["value"] for k in ("adminPassword", "readerPassword")] == [
            "admin-password", "reader-password"]  # fmt: skip
        assert args.inputs["objects"] == schema_inputs(SchemaSpec())["objects"]

    return schema.urn.apply(check)


def test_invalid_spec_fails_at_construction(mocks: RecordingMocks) -> None:
    with pytest.raises(SchemaError) as raised:
        Schema("bad", SchemaSpec(retention_days=0, consumers=0), host="h", port=1, admin_user="a",
               admin_password="p", reader_password="r")  # fmt: skip
    assert str(raised.value) == (
        "retention 0 days not accepted: expected 1 to 3650; kafka consumers 0 not accepted: expected 1 to 16"
    )


@pulumi.runtime.test
def test_destructive_changes_and_the_wait_are_the_callers_to_set(mocks: RecordingMocks):
    schema = Schema("schema", SchemaSpec(), host="h", port=1, admin_user="a", admin_password="p",
                    reader_password="r", allow_destructive_changes=True, wait_timeout_seconds=7,
                    opts=pulumi.ResourceOptions(protect=True))  # fmt: skip

    def check(_urn: str) -> None:
        (args,) = mocks.created
        assert (args.inputs["allowDestructiveChanges"], args.inputs["waitTimeoutSeconds"]) == (True, 7)

    return schema.urn.apply(check)
