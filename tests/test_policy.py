"""The policy pack's checks, called directly with crafted resource properties (its server is not started),
and on what our own program registers."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import PolicyResource, ResourceValidationArgs, Secret, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from policy.checks import CONTAINER, POLICIES, REMOTE_IMAGE, environment, keep_secret_markers
from policy.kubernetes_checks import KUBERNETES_POLICIES
from testbed.program import FLOATING_TAG, SECRET_SIGNATURE, SECRET_SIGNATURE_VALUE, dev_config, run_program
from tests.conftest import REPO_ROOT

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # how the engine sends a value unknown during preview
POLICY = {policy.name: policy for policy in POLICIES}


def violations(policy: str, props: dict[str, Any], typ: str = CONTAINER, config: dict | None = None) -> list[str]:
    found: list[str] = []
    args = ResourceValidationArgs(typ, unknown_checking_proxy(props), f"urn:{typ}::x", "x", None, None, config)
    POLICY[policy].validate(args, lambda message, urn=None: found.append(message))
    return found


def container(**props: Any) -> dict[str, Any]:
    return {"image": "sha256:" + "a" * 64, "envs": [], "ports": [], **props}


@pytest.mark.parametrize(
    ("typ", "field", "reference", "ok"),
    [
        (REMOTE_IMAGE, "name", "clickhouse/clickhouse-server:26.3.17.4", True),
        (REMOTE_IMAGE, "name", "grafana/grafana@sha256:" + "b" * 64, True),
        (REMOTE_IMAGE, "name", f"grafana/grafana:{FLOATING_TAG}", False),
        (REMOTE_IMAGE, "name", "grafana/grafana", False),
        (REMOTE_IMAGE, "name", "localhost:5000/grafana", False),
        (CONTAINER, "image", "sha256:" + "c" * 64, True),
        (CONTAINER, "image", "zookeeper", False),
        (CONTAINER, "image", "zookeeper:", False),
        (CONTAINER, "image", "zookeeper@sha256:", False),
        (CONTAINER, "image", "zookeeper@sha256:" + "d" * 63, False),
        (CONTAINER, "image", "localhost:5000/zookeeper@sha256:" + "d" * 64, True),
        (CONTAINER, "image", "localhost:5000/zookeeper:3.9.4", True),
        (CONTAINER, "image", "sha256:" + "c" * 63, False),
        ("docker:index/image:Image", "imageName", "pipelining-data-generator:1995430acd190983", True),
    ],
)
def test_pinned_images(typ: str, field: str, reference: str, ok: bool) -> None:
    found = violations("pinned-images", {field: reference}, typ)
    assert (found == []) is ok, found


def test_host_ports_on_loopback_unless_the_stack_allows_the_address() -> None:
    loopback = container(ports=[{"internal": 3000, "external": 3000, "ip": "127.0.0.1"}])
    everywhere = container(ports=[{"internal": 3000, "external": 3000, "ip": "0.0.0.0"}])
    default_ip = container(ports=[{"internal": 3000, "external": 3000}])
    assert violations("loopback-host-ports", loopback) == []
    assert violations("loopback-host-ports", everywhere) == [
        "host port 3000 is published on 0.0.0.0: bind it to 127.0.0.1, or let the stack allow the address "
        "(bindAddress; see docs/team-workflow.md, 'Policies')"
    ]
    assert len(violations("loopback-host-ports", default_ip)) == 1  # the provider's default is 0.0.0.0
    assert violations("loopback-host-ports", everywhere, config={"allowedAddresses": ["0.0.0.0"]}) == []


def test_password_like_variables_must_be_secret() -> None:
    plain = container(envs=["GF_SECURITY_ADMIN_PASSWORD=hunter2", "GF_AUTH_ANONYMOUS_ENABLED=false"])
    whole_list_secret = container(envs=Secret(["GF_SECURITY_ADMIN_PASSWORD=hunter2"]))
    entry_secret = container(envs=[Secret("API_TOKEN=abc"), "LOG_LEVEL=INFO"])
    empty = container(envs=["CLICKHOUSE_PASSWORD="])
    assert violations("secret-environment", plain) == [
        "environment variable GF_SECURITY_ADMIN_PASSWORD carries a plain value: build it from a secret Output"
    ]
    assert violations("secret-environment", whole_list_secret) == []
    assert violations("secret-environment", entry_secret) == []
    assert violations("secret-environment", empty) == []
    assert violations("secret-environment", container(envs=["GF_SECURITY_ADMIN_PASSWORD__FILE=/run/p"])) == []


def test_grafana_anonymous_access_is_refused() -> None:
    assert violations("grafana-no-anonymous", container(envs=["GF_AUTH_ANONYMOUS_ENABLED=True"])) == [
        "Grafana allows anonymous access (GF_AUTH_ANONYMOUS_ENABLED=true)"
    ]
    assert violations("grafana-no-anonymous", container(envs=["GF_AUTH_ANONYMOUS_ENABLED=false"])) == []


def test_clickhouse_default_user_is_not_left_open() -> None:
    open_user = container(image="clickhouse/clickhouse-server:26.3.17.4", envs=[])
    skipped = container(envs=Secret(["CLICKHOUSE_PASSWORD=x", "CLICKHOUSE_SKIP_USER_SETUP=1"]))
    closed = container(envs=Secret(["CLICKHOUSE_USER=admin", "CLICKHOUSE_PASSWORD=x"]))
    assert len(violations("clickhouse-default-user-closed", open_user)) == 1
    assert len(violations("clickhouse-default-user-closed", skipped)) == 1
    assert violations("clickhouse-default-user-closed", closed) == []
    assert violations("clickhouse-default-user-closed", container(envs=["ZOO_TICK_TIME=2000"])) == []


def test_values_unknown_during_preview_are_not_violations() -> None:
    for policy, props in [
        ("pinned-images", {"name": UNKNOWN}),
        ("secret-environment", container(envs=UNKNOWN)),
        ("loopback-host-ports", container(ports=[{"internal": 1, "external": 2, "ip": UNKNOWN}])),
    ]:
        typ = REMOTE_IMAGE if policy == "pinned-images" else CONTAINER
        with pytest.raises(UnknownValueError):  # the pack reports "can't run during preview", not a violation
            violations(policy, props, typ)


def stack_resource(name: str, props: dict, dependencies: list[PolicyResource] = (), typ: str = CONTAINER):
    return PolicyResource(typ, props, f"urn:{name}", name, None, None, None, list(dependencies), {})


def stack_violations(resources: list[PolicyResource]) -> list[str]:
    found: list[str] = []
    POLICY["health-checked-dependencies"].validate(StackValidationArgs(resources), lambda m, urn=None: found.append(m))
    return found


def test_containers_others_wait_for_have_health_checks() -> None:
    kafka = stack_resource("kafka", container())
    healthy_kafka = stack_resource("kafka", container(healthcheck={"tests": ["CMD-SHELL", "true"]}))
    job = stack_resource("topic", container(mustRun=False))
    assert stack_violations([kafka, stack_resource("app", container(), [kafka])]) == [
        "container 'kafka' is waited for by other resources but has no health check"
    ]
    assert stack_violations([healthy_kafka, stack_resource("app", container(), [healthy_kafka])]) == []
    assert stack_violations([job, stack_resource("app", container(), [job])]) == []  # a one-shot job
    assert stack_violations([kafka]) == []  # nobody waits for it


def test_secret_markers_survive_deserialization() -> None:
    wire = {"envs": {SECRET_SIGNATURE: SECRET_SIGNATURE_VALUE, "value": ["P_PASSWORD=x"]}, "name": "plain"}
    props = keep_secret_markers(wire)
    assert isinstance(props["envs"], Secret) and props["envs"].value == ["P_PASSWORD=x"]
    assert props["name"] == "plain"


@pytest.mark.parametrize("mode", ["zookeeper", "kraft"])
def test_our_program_passes_every_policy(mode: str) -> None:
    program = run_program(config={**dev_config(), "kafkaMode": mode})
    by_identity: dict[tuple[str, str], PolicyResource] = {}  # names repeat across types
    for resource in (resource for resource in program.resources if resource.custom):
        props = keep_secret_markers(dict(resource.inputs))
        for policy in POLICIES[:-1]:
            found: list[str] = []
            args = ResourceValidationArgs(resource.typ, props, f"urn:{resource.name}", resource.name, None, None, {})
            policy.validate(args, lambda message, urn=None, found=found: found.append(message))
            assert found == [], f"{resource.name}: {found}"
        by_identity[(resource.typ, resource.name)] = stack_resource(resource.name, props, typ=resource.typ)
    for identity, resource in by_identity.items():
        waited_for = program.depends_on.get(identity, [])
        resource.dependencies = [by_identity[d] for d in waited_for if d in by_identity]
    checked = {identity for identity in by_identity if identity[0] == CONTAINER}
    assert (CONTAINER, "clickhouse") in checked  # not shadowed by the datasource of the same name
    assert stack_violations(list(by_identity.values())) == []


@pytest.fixture(scope="module")
def served_pack():
    """The policy pack started through its real entry point, as `pulumi preview --policy-pack policy` starts it:
    it prints the port of its gRPC analyzer on stdout and serves until stopped."""
    # mutmut's stats pass (`make mutate`) cannot count calls made in a child, and fails there outside the repo root
    env = {key: value for key, value in os.environ.items() if (key, value) != ("MUTANT_UNDER_TEST", "stats")}
    process = subprocess.Popen([sys.executable, str(REPO_ROOT / "policy" / "__main__.py")], cwd=REPO_ROOT / "policy",
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        port = int(process.stdout.readline().decode().strip())
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_pack_served_through_its_entry_point_is_mandatory_for_every_policy(served_pack) -> None:
    info = served_pack.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == "pipelining-data-guardrails"
    assert {policy.name for policy in info.policies} == {policy.name for policy in [*POLICIES, *KUBERNETES_POLICIES]}
    mandatory = analyzer_pb2.EnforcementLevel.Value("MANDATORY")
    assert all(policy.enforcementLevel == mandatory for policy in info.policies)


def test_the_served_pack_refuses_a_floating_image_and_a_plain_password(served_pack) -> None:
    properties = struct_pb2.Struct()
    properties.update({"image": f"grafana/grafana:{FLOATING_TAG}", "envs": ["GF_SECURITY_ADMIN_PASSWORD=hunter2"]})
    request = analyzer_pb2.AnalyzeRequest(type="docker:index/container:Container", properties=properties,
                                          urn="urn:pulumi:dev::pipelining-data::docker:index/container:Container::g",
                                          name="g")  # fmt: skip
    found = {d.policyName: d for d in served_pack.Analyze(request, timeout=30).diagnostics}
    assert {"pinned-images", "secret-environment"} <= set(found)
    assert all(d.enforcementLevel == analyzer_pb2.EnforcementLevel.Value("MANDATORY") for d in found.values())


def test_the_served_pack_sees_a_secret_environment_as_secret(served_pack) -> None:
    """The entry point keeps Pulumi's secret markers (keep_secret_markers): a password built from a secret
    Output is not reported."""
    properties = struct_pb2.Struct()
    secret_envs = {SECRET_SIGNATURE: SECRET_SIGNATURE_VALUE, "value": ["GF_SECURITY_ADMIN_PASSWORD=hunter2"]}
    properties.update({"image": "grafana/grafana:12.4.5", "envs": secret_envs})
    request = analyzer_pb2.AnalyzeRequest(type="docker:index/container:Container", properties=properties,
                                          urn="urn:pulumi:dev::pipelining-data::docker:index/container:Container::g",
                                          name="g")  # fmt: skip
    assert not [d.policyName for d in served_pack.Analyze(request, timeout=30).diagnostics]


def test_each_violation_names_what_is_wrong_and_what_to_do() -> None:
    assert violations("pinned-images", {}, REMOTE_IMAGE) == [
        "image '' is not pinned: use a version tag (not latest) or a digest"
    ]
    assert violations("loopback-host-ports", container(ports=[{"internal": 1, "external": 8080}])) == [
        "host port 8080 is published on 0.0.0.0: bind it to 127.0.0.1, or let the stack allow the address "
        "(bindAddress; see docs/team-workflow.md, 'Policies')"
    ]  # the provider's default address, named
    assert violations("clickhouse-default-user-closed", container(envs=["CLICKHOUSE_DB=market"])) == [
        "ClickHouse's default user is left open: set CLICKHOUSE_USER and a CLICKHOUSE_PASSWORD from a secret"
    ]


def test_a_variable_is_named_by_what_comes_before_its_first_equals_sign() -> None:
    flags = container(envs=["JVM_FLAGS=-Dtoken.file=/run/t", "GF_SECURITY_ADMIN_PASSWORD=a=b"])
    assert [(name, value) for name, value, _secret in environment(flags)] == [
        ("JVM_FLAGS", "-Dtoken.file=/run/t"), ("GF_SECURITY_ADMIN_PASSWORD", "a=b")]  # fmt: skip
    assert violations("secret-environment", flags) == [
        "environment variable GF_SECURITY_ADMIN_PASSWORD carries a plain value: build it from a secret Output"
    ]


def test_every_container_others_wait_for_is_checked_whatever_comes_first() -> None:
    kafka, clickhouse = stack_resource("kafka", container()), stack_resource("clickhouse", container())
    job = stack_resource("topic", container(mustRun=False))
    found: list[tuple[str, str | None]] = []
    resources = [stack_resource("app", container(), [job, kafka, clickhouse]), job, kafka, clickhouse]
    POLICY["health-checked-dependencies"].validate(
        StackValidationArgs(resources), lambda message, urn=None: found.append((message, urn))
    )
    assert found == [  # each named with its own URN, so `pulumi preview` points at the container
        ("container 'kafka' is waited for by other resources but has no health check", "urn:kafka"),
        ("container 'clickhouse' is waited for by other resources but has no health check", "urn:clickhouse"),
    ]
