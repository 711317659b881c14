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
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
)
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from policy.checks import BUILT_IMAGE as BUILT
from policy.checks import CONTAINER, POLICIES, REMOTE_IMAGE, environment, keep_secret_markers
from policy.kubernetes_checks import KUBERNETES_POLICIES
from testbed.program import FLOATING_TAG, SECRET_SIGNATURE, SECRET_SIGNATURE_VALUE, dev_config, run_program
from testbed.repo import REPO_ROOT

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # how the engine sends a value unknown during preview
POLICY = {policy.name: policy for policy in POLICIES}


def violations(policy: str, props: dict[str, Any], typ: str = CONTAINER, config: dict | None = None) -> list[str]:
    found: list[str] = []
    args = ResourceValidationArgs(typ, unknown_checking_proxy(props), f"urn:{typ}::x", "x", None, None, config)
    POLICY[policy].validate(args, lambda message, urn=None: found.append(message))
    return found


def container(**props: Any) -> dict[str, Any]:
    return {"image": "sha256:" + "a" * 64, "envs": [], "ports": [], **props}


KAFKA_UI_IMAGE = "ghcr.io/kafbat/kafka-ui:v1.5.0"


def kafka(address: str, protocols: str = "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT") -> dict[str, Any]:
    envs = ["KAFKA_LISTENERS=INTERNAL://0.0.0.0:9092,EXTERNAL://0.0.0.0:29092",
            f"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP={protocols}"]  # fmt: skip
    return container(envs=envs, ports=[{"internal": 29092, "external": 9092, "ip": address}])


@pytest.mark.parametrize(
    ("typ", "field", "reference", "ok"),
    [
        (REMOTE_IMAGE, "name", "clickhouse/clickhouse-server:26.3.17.4", True),
        (REMOTE_IMAGE, "name", "grafana/grafana@sha256:" + "b" * 64, True),
        (REMOTE_IMAGE, "name", "grafana/grafana:12.4.5@sha256:" + "b" * 64, True),
        (REMOTE_IMAGE, "name", f"grafana/grafana:{FLOATING_TAG}", False),
        (REMOTE_IMAGE, "name", "grafana/grafana:main", False),
        (REMOTE_IMAGE, "name", "grafana/grafana:12", False),
        (REMOTE_IMAGE, "name", "grafana/grafana:12.4", False),
        (REMOTE_IMAGE, "name", "grafana/grafana:latest-ubuntu", False),
        (REMOTE_IMAGE, "name", "grafana/grafana:nightly-12.4.5", False),
        (REMOTE_IMAGE, "name", "grafana/grafana", False),
        (REMOTE_IMAGE, "name", "localhost:5000/grafana", False),
        (CONTAINER, "image", "sha256:" + "c" * 64, True),
        (CONTAINER, "image", "zookeeper", False),
        (CONTAINER, "image", "zookeeper:", False),
        (CONTAINER, "image", "zookeeper@sha256:", False),
        (CONTAINER, "image", "zookeeper@sha256:" + "d" * 63, False),
        (CONTAINER, "image", "localhost:5000/zookeeper@sha256:" + "d" * 64, True),
        (CONTAINER, "image", "localhost:5000/zookeeper:3.9.4", True),
        (CONTAINER, "image", "localhost:5000/zookeeper:3", False),
        (CONTAINER, "image", "sha256:" + "c" * 63, False),
        ("docker:index/image:Image", "imageName", "pipelining-data-generator:1995430acd190983", True),
        ("docker:index/network:Network", "name", "market", True),  # not an image: its name is no reference
    ],
)
def test_pinned_images(typ: str, field: str, reference: str, ok: bool) -> None:
    """Moving tags are refused (mandatory): `latest`, `main`, major-only `:12`, `:latest-ubuntu`."""
    found = violations("pinned-images", {field: reference}, typ)
    assert (found == []) is ok, found


def test_a_tag_without_a_digest_is_advised_against_and_a_digest_is_preferred() -> None:
    assert POLICY["digest-pinned-images"].enforcement_level == EnforcementLevel.ADVISORY
    assert violations("digest-pinned-images", {"name": "grafana/grafana:12.4.5"}, REMOTE_IMAGE) == [
        "image 'grafana/grafana:12.4.5' is pinned by tag only: a tag can be re-pushed; `make pin` adds its digest"
    ]
    for digest in ("grafana/grafana:12.4.5@sha256:" + "b" * 64, "grafana/grafana@sha256:" + "b" * 64):
        assert violations("digest-pinned-images", {"name": digest}, REMOTE_IMAGE) == []
    # our own image is built locally (no registry to hold a digest); containers run images by id
    assert violations("digest-pinned-images", {"imageName": "pipelining-data-generator:1995430acd19"}, BUILT) == []
    assert violations("digest-pinned-images", {"image": "sha256:" + "c" * 64}) == []


def test_host_ports_beyond_loopback_only_for_a_service_that_asks_for_a_login() -> None:
    """No stack setting makes an exception (bindAddress used to be one): the service behind the port is judged."""
    loopback = container(ports=[{"internal": 3000, "external": 3000, "ip": "127.0.0.1"}])
    everywhere = container(ports=[{"internal": 3000, "external": 3000, "ip": "0.0.0.0"}])
    default_ip = container(ports=[{"internal": 3000, "external": 3000}])
    assert violations("loopback-host-ports", loopback) == []
    assert violations("loopback-host-ports", everywhere) == [
        "host port 3000 is published on 0.0.0.0: only a service that asks for a login (Grafana, kafka-ui, "
        "ClickHouse, Kafka with SASL) may listen beyond 127.0.0.1 (docs/security.md)"
    ]
    assert len(violations("loopback-host-ports", default_ip)) == 1  # the provider's default is 0.0.0.0
    both = container(ports=[*loopback["ports"], {"internal": 9000, "external": 9000, "ip": "0.0.0.0"}])
    assert [message.split(":")[0] for message in violations("loopback-host-ports", both)] == [
        "host port 9000 is published on 0.0.0.0"
    ]  # the loopback port is passed over, the next one still judged
    assert len(violations("loopback-host-ports", everywhere, config={"allowedAddresses": ["0.0.0.0"]})) == 1
    grafana = container(envs=["GF_AUTH_ANONYMOUS_ENABLED=false"], ports=everywhere["ports"])
    assert violations("loopback-host-ports", grafana) == []
    open_grafana = container(envs=["GF_AUTH_ANONYMOUS_ENABLED=yes"], ports=everywhere["ports"])
    assert violations("loopback-host-ports", open_grafana) == [
        "host port 3000 is published on 0.0.0.0, but Grafana: Grafana allows anonymous access "
        "(GF_AUTH_ANONYMOUS_ENABLED is 'yes'; Grafana reads 1, t, true, y, yes, on as true)"
    ]
    assert len(violations("loopback-host-ports", kafka("0.0.0.0"))) == 1  # PLAINTEXT: refused
    assert violations("loopback-host-ports", kafka("0.0.0.0", "INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL")) == []
    ui = container(envs=["KAFKA_CLUSTERS_0_NAME=x"], ports=[{"internal": 8080, "external": 8080, "ip": "10.0.0.5"}])
    assert len(violations("loopback-host-ports", ui)) == 1  # no login
    assert violations("loopback-host-ports", {**ui, "envs": ["KAFKA_CLUSTERS_0_NAME=x", "AUTH_TYPE=LOGIN_FORM"]}) == []


@pytest.mark.parametrize(
    ("service", "policy", "open_service", "closed_service"),
    [
        ("Kafka", "kafka-listener-protocols", kafka("0.0.0.0"),
         kafka("0.0.0.0", "INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL")),
        ("kafka-ui", "kafka-ui-login", container(image=KAFKA_UI_IMAGE, envs=["SERVER_PORT=8080"]),
         container(image=KAFKA_UI_IMAGE, envs=["SERVER_PORT=8080", "AUTH_TYPE=LOGIN_FORM"])),  # known by its image
        ("ClickHouse", "clickhouse-default-user-closed", container(envs=["CLICKHOUSE_DB=market"]),
         container(envs=Secret(["CLICKHOUSE_USER=admin", "CLICKHOUSE_PASSWORD=x"]))),
        ("Grafana", "grafana-no-anonymous", container(envs=["GF_AUTH_ANONYMOUS_ENABLED=1"]),
         container(envs=["GF_AUTH_ANONYMOUS_ENABLED=false"])),
    ],
)  # fmt: skip
def test_a_login_service_beyond_loopback_is_judged_by_its_own_policy(
    service: str, policy: str, open_service: dict[str, Any], closed_service: dict[str, Any]
) -> None:
    """The loopback policy names the service it recognised and passes on what that service's own policy finds."""
    published = {"ports": [{"internal": 29092, "external": 9092, "ip": "0.0.0.0"}]}
    own = violations(policy, {**open_service, **published})
    assert own, f"{service}'s own policy finds its login open"
    assert violations("loopback-host-ports", {**open_service, **published}) == [
        f"host port 9092 is published on 0.0.0.0, but {service}: {own[0]}"
    ]
    assert violations("loopback-host-ports", {**closed_service, **published}) == []


def test_our_program_with_a_network_bind_address_passes_every_policy() -> None:
    program = run_program(config={**dev_config(), "bindAddress": "0.0.0.0"})
    for resource in program.containers.values():
        props = keep_secret_markers(dict(resource.inputs))
        args = ResourceValidationArgs(CONTAINER, props, f"urn:{resource.name}", resource.name, None, None, {})
        found: list[str] = []
        POLICY["loopback-host-ports"].validate(args, lambda message, urn=None, found=found: found.append(message))
        assert found == [], f"{resource.name}: {found}"


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


@pytest.mark.parametrize("value", ["true", "True", "1", "yes", "on", "t", "y", " ON "])
@pytest.mark.parametrize(("policy", "name"), [("grafana-no-anonymous", "GF_AUTH_ANONYMOUS_ENABLED"),
                                              ("grafana-no-sign-up", "GF_USERS_ALLOW_SIGN_UP")])  # fmt: skip
def test_every_value_grafanas_ini_parser_reads_as_true_is_refused(policy: str, name: str, value: str) -> None:
    """go-ini's parseBool (Grafana's ini and env overrides) reads 1, t, true, yes, on … as true; the image's run.sh
    reads a GF_*__FILE variable from the file it names (docs/upstream.md)."""
    assert len(violations(policy, container(envs=[f"{name}={value}"]))) == 1
    from_file = container(
        envs=[f"{name}__FILE=/run/secrets/g/x"], uploads=[{"file": "/run/secrets/g/x", "content": value}]
    )
    assert len(violations(policy, from_file)) == 1
    assert violations(policy, container(envs=[f"{name}=false"])) == []
    assert violations(policy, container(envs=[f"{name}__FILE=/run/secrets/g/x"],
                                        uploads=[{"file": "/run/secrets/g/x", "content": "0"}])) == []  # fmt: skip


def test_grafana_anonymous_access_is_refused() -> None:
    assert violations("grafana-no-anonymous", container(envs=["GF_AUTH_ANONYMOUS_ENABLED=True"])) == [
        "Grafana allows anonymous access (GF_AUTH_ANONYMOUS_ENABLED is 'True'; Grafana reads 1, t, true, y, yes, on "
        "as true)"
    ]
    unverifiable = container(envs=["GF_AUTH_ANONYMOUS_ENABLED__FILE=/elsewhere"])  # a file the pack cannot read
    assert violations("grafana-no-anonymous", unverifiable) == [
        "Grafana allows anonymous access (GF_AUTH_ANONYMOUS_ENABLED is a file that is not uploaded; Grafana reads 1, "
        "t, true, y, yes, on as true)"
    ]
    assert violations("grafana-no-anonymous", container(envs=["GF_AUTH_ANONYMOUS_ENABLED=false"])) == []
    assert violations("grafana-no-anonymous", container(envs=["GF_SECURITY_ADMIN_USER=admin"])) == []  # unset: off


def test_grafana_sign_up_is_refused() -> None:
    assert violations("grafana-no-sign-up", container(envs=["GF_USERS_ALLOW_SIGN_UP=on"])) == [
        "Grafana lets anyone sign up (GF_USERS_ALLOW_SIGN_UP is 'on'; Grafana reads 1, t, true, y, yes, on as true)"
    ]
    assert violations("grafana-no-sign-up", container(envs=["GF_USERS_ALLOW_SIGN_UP=off"])) == []
    assert violations("grafana-no-sign-up", container(envs=["GF_SECURITY_ADMIN_USER=admin"])) == []  # unset: off


def test_kafka_ui_without_a_login_is_refused() -> None:
    ui = container(image=KAFKA_UI_IMAGE, envs=["KAFKA_CLUSTERS_0_NAME=x"])
    assert violations("kafka-ui-login", ui) == [
        "kafka-ui has no login (AUTH_TYPE=DISABLED): set AUTH_TYPE=LOGIN_FORM with a generated password"
    ]
    assert len(violations("kafka-ui-login", container(envs=["KAFKA_CLUSTERS_0_NAME=x", "AUTH_TYPE=disabled"]))) == 1
    assert violations("kafka-ui-login", container(envs=["KAFKA_CLUSTERS_0_NAME=x", "AUTH_TYPE=LOGIN_FORM"])) == []
    assert violations("kafka-ui-login", container(envs=["ZOO_TICK_TIME=2000"])) == []
    # its clusters configured in a file instead (DYNAMIC_CONFIG_ENABLED): still kafka-ui by its image
    by_image = container(image=KAFKA_UI_IMAGE, envs=["DYNAMIC_CONFIG_ENABLED=true"])
    assert len(violations("kafka-ui-login", by_image)) == 1
    assert violations("kafka-ui-login", {**by_image, "image": "zookeeper:3.9.4"}) == []


def test_a_kafka_listener_beyond_loopback_must_authenticate() -> None:
    """The policy judges the service behind a non-loopback port, whatever the stack's bindAddress says."""
    assert violations("kafka-listener-protocols", kafka("127.0.0.1")) == []
    assert violations("kafka-listener-protocols", kafka("0.0.0.0")) == [
        "Kafka listener EXTERNAL (PLAINTEXT) is published on 0.0.0.0:9092: anyone who reaches it can produce, "
        "delete topics and move consumer offsets; publish it on 127.0.0.1"
    ]
    sasl = kafka("10.0.0.5", "INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL")
    assert violations("kafka-listener-protocols", sasl) == []
    assert violations("kafka-listener-protocols", kafka("127.0.0.1", "INTERNAL:PLAINTEXT,EXTERNAL:BOGUS")) == [
        "Kafka listener EXTERNAL has protocol BOGUS: expected one of ['PLAINTEXT', 'SASL_PLAINTEXT', 'SASL_SSL', 'SSL']"
    ]


def test_a_malformed_kafka_protocol_is_reported_under_its_listener() -> None:
    """Only the first colon separates a listener from its protocol: `SASL:SSL` is an unknown protocol, not a
    listener `EXTERNAL:SASL` with protocol SSL."""
    assert violations("kafka-listener-protocols", kafka("127.0.0.1", "INTERNAL:PLAINTEXT,EXTERNAL:SASL:SSL")) == [
        "Kafka listener EXTERNAL has protocol SASL:SSL: expected one of "
        "['PLAINTEXT', 'SASL_PLAINTEXT', 'SASL_SSL', 'SSL']"
    ]


def test_a_kafka_listener_with_ssl_only_encrypts_and_is_refused_beyond_loopback() -> None:
    found = violations("kafka-listener-protocols", kafka("0.0.0.0", "INTERNAL:PLAINTEXT,EXTERNAL:SSL"))
    assert [message.split(":")[0] for message in found] == ["Kafka listener EXTERNAL (SSL) is published on 0.0.0.0"]


def test_a_published_port_no_kafka_listener_names_is_refused_as_plaintext() -> None:
    """A port the broker's KAFKA_LISTENERS do not name (or none set: the image derives them) cannot be shown to
    authenticate, even when every named listener does."""
    all_sasl = kafka("0.0.0.0", "INTERNAL:SASL_PLAINTEXT,EXTERNAL:SASL_SSL")
    assert violations("kafka-listener-protocols", all_sasl) == []
    unnamed_port = {**all_sasl, "ports": [{"internal": 7071, "external": 7071, "ip": "0.0.0.0"}]}
    assert [m.split(":")[0] for m in violations("kafka-listener-protocols", unnamed_port)] == [
        "Kafka listener ? (PLAINTEXT) is published on 0.0.0.0"
    ]
    no_listeners = {**all_sasl, "envs": [e for e in all_sasl["envs"] if not e.startswith("KAFKA_LISTENERS=")]}
    assert len(violations("kafka-listener-protocols", no_listeners)) == 1
    assert violations("kafka-listener-protocols", {**no_listeners, "ports": kafka("127.0.0.1")["ports"]}) == []


def test_no_privileged_container_host_namespace_or_docker_socket() -> None:
    assert violations("container-isolated", container()) == []
    assert violations("container-isolated", container(privileged=True)) == [
        "container is privileged: it is root on the host"
    ]
    assert violations("container-isolated", container(networkMode="host", pidMode="host")) == [
        "container shares the host's namespace (networkMode=host)",
        "container shares the host's namespace (pidMode=host)",
    ]
    socket = container(volumes=[{"hostPath": "/var/run/docker.sock", "containerPath": "/var/run/docker.sock"}])
    assert violations("container-isolated", socket) == [
        "container mounts the Docker socket (/var/run/docker.sock): that is root on the host"
    ]
    bind = {"type": "bind", "source": "/run/docker.sock", "target": "/var/run/docker.sock"}
    assert violations("container-isolated", container(mounts=[bind])) == [
        "container mounts the Docker socket (/run/docker.sock): that is root on the host"
    ]
    data = container(volumes=[{"hostPath": "/srv/market", "containerPath": "/data"}, {"volumeName": "kafka-data"}],
                     mounts=[{**bind, "source": "/srv/conf"}, {"type": "tmpfs", "target": "/tmp"}])  # fmt: skip
    assert violations("container-isolated", data) == []


@pytest.mark.parametrize(
    ("field", "own"),
    [("networkMode", "bridge"), ("pidMode", "container:kafka"), ("ipcMode", "private"), ("usernsMode", "")],
)
def test_each_host_namespace_is_refused(field: str, own: str) -> None:
    assert violations("container-isolated", container(**{field: "host"})) == [
        f"container shares the host's namespace ({field}=host)"
    ]
    assert violations("container-isolated", container(**{field: own})) == []


def test_capabilities_are_dropped_and_only_an_entrypoints_few_added_back() -> None:
    hardened = {"capabilities": {"drops": ["ALL"], "adds": ["SETUID", "SETGID"]},
                "securityOpts": ["no-new-privileges:true"]}  # fmt: skip
    assert violations("dropped-capabilities", container(**hardened)) == []
    assert violations("dropped-capabilities", container()) == [
        "container keeps Docker's default capabilities: drop ALL, add back only what it needs",
        "container lacks security option no-new-privileges:true",
    ]
    admin = {**hardened, "capabilities": {"drops": ["ALL"], "adds": ["SYS_ADMIN", "CAP_NET_ADMIN"]}}
    assert violations("dropped-capabilities", container(**admin)) == [
        "container adds capabilities ['NET_ADMIN', 'SYS_ADMIN']: allowed are "
        "['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID']"
    ]


def test_every_container_has_a_cpu_limit() -> None:
    assert violations("cpu-limits", container(cpus="1.5")) == []
    assert violations("cpu-limits", container(cpus="0.5")) == []  # half a core is a limit too
    assert violations("cpu-limits", container(cpuQuota=50000)) == []
    assert violations("cpu-limits", container(cpuQuota=1)) == []  # any positive quota limits (1 µs per period)
    assert len(violations("cpu-limits", container(cpuQuota=-1))) == 1  # Docker's "no quota"
    for unlimited in (container(), container(cpus="0"), container(cpus="lots")):
        assert violations("cpu-limits", unlimited) == [
            "container has no CPU limit: one busy container could take every core of the host (cpus)"
        ]


def test_secret_files_and_secret_outputs_stay_secret() -> None:
    plain_file = container(uploads=[{"file": "/run/secrets/x/password", "content": "hunter2"}])
    assert violations("secret-files", plain_file) == [
        "file /run/secrets/x/password carries a plain value: build it from a secret Output"
    ]
    assert violations("secret-files", container(uploads=[{"file": "/run/secrets/x/p", "content": Secret("h")}])) == []
    assert violations("secret-files", container(uploads=Secret(plain_file["uploads"]))) == []  # the whole list secret
    found: list[tuple[str, str | None]] = []
    outputs = {"grafanaAdminPassword": "hunter2", "kafkaUiPassword": Secret("x"), "grafanaUrl": "http://h"}
    stack = PolicyResource("pulumi:pulumi:Stack", outputs, "urn:stack", "dev", None, None, None, [], {})
    # the stack's outputs are found among all the resources, whatever comes first; a container's env is not one
    grafana = stack_resource("grafana", container(envs=["GF_SECURITY_ADMIN_PASSWORD=hunter2"]))
    POLICY["secret-outputs"].validate(StackValidationArgs([grafana, stack]), lambda m, urn=None: found.append((m, urn)))
    assert found == [  # named with the stack's URN, so `pulumi preview` points at the outputs
        ("stack output grafanaAdminPassword is not secret: export it from a secret Output", "urn:stack")
    ]


def test_clickhouse_default_user_is_not_left_open() -> None:
    open_user = container(image="clickhouse/clickhouse-server:26.3.17.4", envs=[])
    skipped = container(envs=Secret(["CLICKHOUSE_PASSWORD=x", "CLICKHOUSE_SKIP_USER_SETUP=1"]))
    closed = container(envs=Secret(["CLICKHOUSE_USER=admin", "CLICKHOUSE_PASSWORD=x"]))
    assert len(violations("clickhouse-default-user-closed", open_user)) == 1
    assert len(violations("clickhouse-default-user-closed", skipped)) == 1
    assert violations("clickhouse-default-user-closed", closed) == []
    assert violations("clickhouse-default-user-closed", container(envs=["ZOO_TICK_TIME=2000"])) == []
    from_file = ["CLICKHOUSE_USER=admin", "CLICKHOUSE_PASSWORD_FILE=/run/secrets/clickhouse/admin_password"]
    uploaded = [{"file": "/run/secrets/clickhouse/admin_password", "content": Secret("x")}]
    assert violations("clickhouse-default-user-closed", container(envs=from_file, uploads=uploaded)) == []
    assert len(violations("clickhouse-default-user-closed", container(envs=from_file))) == 1  # no such file
    assert violations("secret-environment", container(envs=from_file)) == []  # a path, not the password


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
        resource_policies = [p for p in POLICIES if isinstance(p, ResourceValidationPolicy)]
        for policy in (p for p in resource_policies if p.enforcement_level != EnforcementLevel.ADVISORY):
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
    levels = {policy.name: analyzer_pb2.EnforcementLevel.Name(policy.enforcementLevel) for policy in info.policies}
    assert levels == {policy.name: "ADVISORY" if policy.name == "digest-pinned-images" else "MANDATORY"
                      for policy in [*POLICIES, *KUBERNETES_POLICIES]}  # fmt: skip


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
    properties.update({"image": "grafana/grafana:12.4.5@sha256:" + "b" * 64, "envs": secret_envs})
    request = analyzer_pb2.AnalyzeRequest(type="docker:index/container:Container", properties=properties,
                                          urn="urn:pulumi:dev::pipelining-data::docker:index/container:Container::g",
                                          name="g")  # fmt: skip
    found = {d.policyName for d in served_pack.Analyze(request, timeout=30).diagnostics}
    assert "secret-environment" not in found and "pinned-images" not in found, found


def test_each_violation_names_what_is_wrong_and_what_to_do() -> None:
    assert violations("pinned-images", {}, REMOTE_IMAGE) == [
        "image '' is not pinned: use a digest (repo:tag@sha256:…; make pin) or a full version tag, never a tag "
        "that moves (latest, main, a major-only :12)"
    ]
    assert violations("loopback-host-ports", container(ports=[{"internal": 1, "external": 8080}])) == [
        "host port 8080 is published on 0.0.0.0: only a service that asks for a login (Grafana, kafka-ui, "
        "ClickHouse, Kafka with SASL) may listen beyond 127.0.0.1 (docs/security.md)"
    ]  # the provider's default address, named
    assert violations("loopback-host-ports", container(ports=[{"internal": 8080}]))[0].startswith(
        "host port 0 is published on 0.0.0.0:"
    )  # no external port: Docker picks a free one (port 0, "any", as in its API)
    assert violations("clickhouse-default-user-closed", container(envs=["CLICKHOUSE_DB=market"])) == [
        "ClickHouse's default user is left open: set CLICKHOUSE_USER and a CLICKHOUSE_PASSWORD from a secret "
        "(or CLICKHOUSE_PASSWORD_FILE naming an uploaded file)"
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
