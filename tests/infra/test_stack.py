"""The Pulumi program under mocks, with the real project name and the `dev` stack's config."""

from __future__ import annotations

import ast
import re
from pathlib import PurePosixPath
from xml.etree import ElementTree

import pytest

from core.generator_config import load_config
from core.outputs import STACK_OUTPUTS
from infra.clickhouse_server import CONSOLE_LOG_FILE
from infra.containers import jvm_heap_mb
from infra.kafka_cluster import JVM_OVERHEAD_MB, PROBE_HEAP_MB
from infra.settings import KEYS, KEYS_BY_NAME, KUBERNETES_ONLY, MEMORY_FLOORS_MB, PROJECT, SettingsError
from infra.stack import export_outputs
from testbed.program import (
    CONTAINER,
    FLOATING_TAG,
    SCHEMA,
    TOPIC,
    dev_config,
    image_id,
    is_secret,
    plain_strings,
    run_program,
    unwrap,
)
from testbed.repo import REPO_ROOT
from verify.__main__ import REQUIRED_OUTPUTS

BUILT = "docker:index/image:Image"
SERVICES = {"zookeeper", "kafka-1", "kafka-ui", "clickhouse", "grafana", "generator"}
LONG_RUNNING = SERVICES
POCO_TRUE = {"1", "true", "yes", "on"}  # what Poco's AbstractConfiguration::parseBool reads as true


@pytest.fixture(scope="module")
def dev():
    return run_program()


def environment(container) -> dict[str, str]:
    return dict(line.split("=", 1) for line in unwrap(container.inputs["envs"]))


def test_every_service_is_declared_on_the_stack_network(dev) -> None:
    assert set(dev.containers) == SERVICES
    (network,) = dev.of_type("docker:index/network:Network")
    assert network.inputs["name"] == f"{PROJECT}-dev"
    for container in dev.containers.values():
        assert [net["name"] for net in container.inputs["networksAdvanced"]] == [f"{PROJECT}-dev"]


def test_images_are_pinned_kept_locally_and_referenced_by_id(dev) -> None:
    remote = {image.inputs["name"]: image for image in dev.of_type("docker:index/remoteImage:RemoteImage")}
    for name, image in remote.items():
        repository, _, tag = name.rpartition(":")
        assert repository and tag and tag != FLOATING_TAG, name
        assert image.inputs["keepLocally"] is True
    assert {name.rpartition(":")[0] for name in remote} >= {
        "zookeeper", "confluentinc/cp-kafka", "ghcr.io/kafbat/kafka-ui", "clickhouse/clickhouse-server",
        "grafana/grafana",
    }  # fmt: skip
    ids = {image_id(name) for name in remote} | {image_id(i.inputs["imageName"]) for i in dev.of_type(BUILT)}
    for container in dev.containers.values():
        assert container.inputs["image"] in ids, container.name


def test_long_running_containers_have_health_restart_limits_logs_and_labels(dev) -> None:
    for name in LONG_RUNNING:
        inputs = dev.containers[name].inputs
        assert inputs["healthcheck"]["tests"][0] == "CMD-SHELL", name
        assert inputs["restart"] in ("unless-stopped", "on-failure"), name
        assert inputs["memory"] >= 64, name
        assert inputs["logOpts"]["max-size"] == "10m", name
        labels = {label["label"]: label["value"] for label in inputs["labels"]}
        assert labels["io.pulumi.project"] == PROJECT and labels["io.pulumi.stack"] == "dev", name
    assert dev.containers["generator"].inputs["restart"] == "on-failure"


def test_every_container_has_a_cpu_ceiling_from_its_own_key(dev) -> None:
    """A busy service (or a heavy dashboard query in ClickHouse) cannot take the whole host from the other
    services and the other stacks on it."""
    key = {"zookeeper": "zookeeper", "kafka-1": "kafka", "kafka-ui": "kafkaUi", "clickhouse": "clickhouse",
           "grafana": "grafana", "generator": "generator"}  # fmt: skip
    defaults = {k.name: k.default for k in KEYS}
    for name, container in dev.containers.items():
        assert float(container.inputs["cpus"]) == defaults[f"{key[name]}Cpus"], name
        assert 0 < float(container.inputs["cpus"]) <= 2, name  # sized for a laptop: docs/deploying.md
    program = run_program(config={**dev_config(), "clickhouseCpus": "0.75"})
    assert program.containers["clickhouse"].inputs["cpus"] == "0.75"
    with pytest.raises(SettingsError, match=r"clickhouseCpus='0' is not accepted: expected a number from 0.1 to 64"):
        run_program(config={**dev_config(), "clickhouseCpus": "0"})


def test_kafka_ui_asks_for_a_login_with_a_generated_password(dev) -> None:
    """kafbat's default is no login (auth.type DISABLED); loopback is not per user on a shared host."""
    ui = dev.containers["kafka-ui"]
    env = dict(line.split("=", 1) for line in unwrap(ui.inputs["envs"]))
    assert env["AUTH_TYPE"] == "LOGIN_FORM" and env["SPRING_SECURITY_USER_NAME"] == "admin"
    tree = env["SPRING_CONFIG_IMPORT"].removeprefix("configtree:")  # not optional: no file, no start
    assert {upload["file"] for upload in unwrap(ui.inputs["uploads"])} == {f"{tree}spring.security.user.password"}
    assert ui.inputs["healthcheck"]["tests"][1].endswith("/actuator/health")  # open without a login


def test_containers_drop_capabilities_run_as_their_user_and_the_generator_on_a_read_only_root(dev) -> None:
    for name, container in dev.containers.items():
        capabilities = container.inputs["capabilities"]
        assert capabilities["drops"] == ["ALL"], name
        expected = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"] if name == "clickhouse" else []
        assert capabilities.get("adds", []) == expected, name  # ClickHouse's entrypoint chowns, then drops to 101
        assert container.inputs["securityOpts"] == ["no-new-privileges:true"], name
        assert not container.inputs.get("privileged"), name
    assert dev.containers["zookeeper"].inputs["user"] == "1000:1000"  # the entrypoint allows --user
    generator = dev.containers["generator"].inputs
    assert generator["readOnly"] is True and list(generator["tmpfs"]) == ["/tmp"]
    assert generator["healthcheck"]["tests"][1].split()[3].startswith("/tmp/")  # the heartbeat it writes


def test_what_others_wait_for_is_waited_for_until_healthy(dev) -> None:
    for name in ("zookeeper", "kafka-1", "clickhouse", "grafana"):
        inputs = dev.containers[name].inputs
        assert inputs["wait"] is True and inputs["waitTimeout"] >= 60, name


def test_stateful_services_keep_their_data_on_named_volumes(dev) -> None:
    volumes = {volume.inputs["name"] for volume in dev.of_type("docker:index/volume:Volume")}
    expected = {"zookeeper": "/data", "kafka-1": "/var/lib/kafka/data", "clickhouse": "/var/lib/clickhouse",
                "grafana": "/var/lib/grafana"}  # fmt: skip
    for name, path in expected.items():
        mounts = {mount["containerPath"]: mount["volumeName"] for mount in dev.containers[name].inputs["volumes"]}
        assert mounts[path] in volumes, name
    assert environment(dev.containers["kafka-1"])["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"


def test_kafka_runs_in_zookeeper_mode_with_both_listeners(dev) -> None:
    env = environment(dev.containers["kafka-1"])
    assert env["KAFKA_ZOOKEEPER_CONNECT"] == "zookeeper:2181"
    assert "KAFKA_PROCESS_ROLES" not in env and "CLUSTER_ID" not in env
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "INTERNAL://kafka-1:9092,EXTERNAL://127.0.0.1:9092"
    assert env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] == "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT"
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] == "INTERNAL"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert dev.containers["kafka-1"].inputs["ports"] == [{"internal": 29092, "external": 9092, "ip": "127.0.0.1"}]


def test_zookeeper_purges_and_publishes_no_port(dev) -> None:
    zookeeper = dev.containers["zookeeper"]
    assert not zookeeper.inputs.get("ports")
    assert environment(zookeeper)["ZOO_AUTOPURGE_PURGEINTERVAL"] != "0"


def test_services_get_what_their_images_need(dev) -> None:
    clickhouse = environment(dev.containers["clickhouse"])
    assert clickhouse["CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT"] == "1" and clickhouse["CLICKHOUSE_USER"]
    ulimits = dev.containers["clickhouse"].inputs["ulimits"]
    assert ulimits == [{"name": "nofile", "soft": 262144, "hard": 262144}]
    grafana = environment(dev.containers["grafana"])
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert grafana["GF_PLUGINS_PREINSTALL_SYNC"].startswith("grafana-clickhouse-datasource@4.")
    ui = environment(dev.containers["kafka-ui"])
    assert ui["KAFKA_CLUSTERS_0_READONLY"] == "true" and ui["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == "kafka-1:9092"
    generator = environment(dev.containers["generator"])
    assert generator["KAFKA_BOOTSTRAP_SERVERS"] == "kafka-1:9092" and generator["BID_SIZE"] == "50"


def test_dev_keeps_the_well_known_host_ports_on_loopback(dev) -> None:
    published = {
        name: [(port["external"], port["ip"]) for port in container.inputs.get("ports") or []]
        for name, container in dev.containers.items()
    }
    assert published == {
        "zookeeper": [], "generator": [],
        "kafka-1": [(9092, "127.0.0.1")], "kafka-ui": [(8080, "127.0.0.1")],
        "clickhouse": [(8123, "127.0.0.1")], "grafana": [(3000, "127.0.0.1")],
    }  # fmt: skip


def test_bind_address_exposes_only_services_that_ask_for_a_login() -> None:
    """Grafana, kafka-ui and ClickHouse's HTTP port follow bindAddress (each asks for a login); Kafka's PLAINTEXT
    listeners never leave loopback, and the topic resource reaches them there."""
    program = run_program(config={**dev_config(), "bindAddress": "0.0.0.0"})
    published = {name: {port["ip"] for port in c.inputs.get("ports") or []} for name, c in program.containers.items()}
    assert published == {"zookeeper": set(), "generator": set(), "kafka-1": {"127.0.0.1"},
                         "kafka-ui": {"0.0.0.0"}, "clickhouse": {"0.0.0.0"}, "grafana": {"0.0.0.0"}}  # fmt: skip
    assert program.named("topic").inputs["bootstrapServers"] == "127.0.0.1:9092"


def docker_names(program) -> set[str]:
    kinds = ("container:Container", "network:Network", "volume:Volume")
    return {r.inputs["name"] for kind in kinds for r in program.of_type(f"docker:index/{kind}")}


def host_ports(program) -> set[int]:
    return {port["external"] for c in program.containers.values() for port in c.inputs.get("ports") or []}


def test_a_developer_stack_collides_with_dev_in_nothing(dev) -> None:
    alice = run_program(stack="alice", config=dev_config(without_ports=True))
    assert docker_names(alice).isdisjoint(docker_names(dev))
    assert host_ports(alice).isdisjoint(host_ports(dev))
    assert all(name.startswith(f"{PROJECT}-alice") for name in docker_names(alice))
    assert host_ports(alice) == host_ports(run_program(stack="alice", config=dev_config(without_ports=True)))
    bob = run_program(stack="bob", config=dev_config(without_ports=True))
    assert host_ports(bob).isdisjoint(host_ports(alice))


def test_explicit_ports_win_over_derived_ones() -> None:
    alice = run_program(stack="alice", config={"grafanaPort": "3300"})
    assert [port["external"] for port in alice.containers["grafana"].inputs["ports"]] == [3300]


@pytest.mark.parametrize("brokers", [1, 3])
def test_broker_count_sets_brokers_and_replication(brokers: int) -> None:
    program = run_program(config={**dev_config(), "kafkaBrokers": str(brokers)})
    names = {f"kafka-{index}" for index in range(1, brokers + 1)}
    assert {name for name in program.containers if name.startswith("kafka-") and name[-1].isdigit()} == names
    for index in range(1, brokers + 1):
        env = environment(program.containers[f"kafka-{index}"])
        assert env["KAFKA_BROKER_ID"] == str(index)
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == str(brokers)
        assert program.containers[f"kafka-{index}"].inputs["ports"][0]["external"] == 9092 + index - 1
    (topic,) = program.of_type("pulumi-python:dynamic/kafka:Topic")
    assert (topic.inputs["partitions"], topic.inputs["replicationFactor"]) == (3, brokers)
    assert topic.inputs["bootstrapServers"] == ",".join(f"127.0.0.1:{9092 + i}" for i in range(brokers))
    assert program.waits_for(TOPIC, "topic") == names


def test_passwords_are_generated_and_only_ever_secret(dev) -> None:
    passwords = {f"generated-{p.name}" for p in dev.of_type("random:index/randomPassword:RandomPassword")}
    assert len(passwords) == 5  # ClickHouse admin and reader, Grafana admin and secret_key, kafka-ui
    for resource in dev.resources:
        leaked = [text for text in plain_strings(resource.inputs) if any(p in text for p in passwords)]
        assert not leaked, f"{resource.name} carries a password in plain text"
    schema = dev.named("schema")
    assert is_secret(schema.inputs["adminPassword"]) and is_secret(schema.inputs["readerPassword"])


def test_no_secret_is_in_a_containers_environment_only_in_files_the_image_reads(dev) -> None:
    """`docker inspect` and /proc/<pid>/environ show a container's env: secrets go in uploaded files, read through
    each image's file variant (ClickHouse's CLICKHOUSE_PASSWORD_FILE, Grafana's GF_*__FILE; docs/upstream.md)."""
    passwords = {f"generated-{p.name}" for p in dev.of_type("random:index/randomPassword:RandomPassword")}
    files, configuration = {}, set()
    for name, container in dev.containers.items():
        env = dict(line.split("=", 1) for line in unwrap(container.inputs["envs"]))
        assert not [key for key, value in env.items() if value in passwords], name
        uploads = container.inputs.get("uploads") or []
        for upload in unwrap(uploads):
            if not upload["file"].startswith("/run/secrets/"):
                configuration.add((name, upload["file"]))  # a configuration file: no secret in it
                assert not is_secret(upload["content"]) and upload["content"] not in passwords, name
                continue
            assert is_secret(uploads) or is_secret(upload["content"]), name
            files[name, upload["file"]] = unwrap(upload["content"])
    assert configuration == {("clickhouse", CONSOLE_LOG_FILE)}
    assert files == {
        ("clickhouse", "/run/secrets/clickhouse/admin_password"): "generated-clickhouse-admin-password",
        ("grafana", "/run/secrets/grafana/admin_password"): "generated-grafana-admin-password",
        ("grafana", "/run/secrets/grafana/secret_key"): "generated-grafana-secret-key",
        ("kafka-ui", "/run/secrets/kafka-ui/spring.security.user.password"): "generated-kafka-ui-password",
    }
    clickhouse = dict(line.split("=", 1) for line in unwrap(dev.containers["clickhouse"].inputs["envs"]))
    grafana = dict(line.split("=", 1) for line in unwrap(dev.containers["grafana"].inputs["envs"]))
    assert clickhouse["CLICKHOUSE_PASSWORD_FILE"] == "/run/secrets/clickhouse/admin_password"
    assert grafana["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana/admin_password"
    assert grafana["GF_SECURITY_SECRET_KEY__FILE"] == "/run/secrets/grafana/secret_key"


def test_ordering_schema_after_clickhouse_generator_after_topic() -> None:
    dev = run_program()  # its own run: `make mutate` runs only the tests that reach a changed function
    assert {"clickhouse", "topic"} <= dev.waits_for(SCHEMA, "schema")
    assert "topic" in dev.waits_for(CONTAINER, "generator")
    assert "zookeeper" in dev.waits_for(CONTAINER, "kafka-1")
    assert {"kafka-1"} <= dev.waits_for(CONTAINER, "clickhouse")  # the container, not the datasource of that name


def test_schema_and_generator_share_one_shape() -> None:
    program = run_program(config={**dev_config(), "bidLevels": "7", "askLevels": "4", "priceDecimals": "2"})
    schema = program.named("schema")
    columns = {name for name, _type in schema.inputs["targetColumns"]}
    assert {"bid_7", "ask_4"} <= columns and "bid_8" not in columns and "ask_5" not in columns
    env = environment(program.containers["generator"])
    assert (env["BID_SIZE"], env["ASK_SIZE"], env["RANDOM_DECIMAL"]) == ("7", "4", "2")


def test_bad_values_fail_with_one_clear_line_each() -> None:
    config = {
        **dev_config(),
        "kafkaBrokers": "4",
        "grafanaImage": f"grafana/grafana:{FLOATING_TAG}",
        "kafkaBroker": "2",
    }
    with pytest.raises(SettingsError) as failure:
        run_program(config=config)
    assert str(failure.value).splitlines() == [
        f"{PROJECT}:kafkaBrokers='4' is not accepted: expected an integer from 1 to 3",
        f"{PROJECT}:grafanaImage='grafana/grafana:{FLOATING_TAG}' is not accepted: "
        "expected an image by digest (repo:tag@sha256:…, preferred: make pin) or by a full version tag (repo:x.y.z…), "
        "not a moving tag (latest, main, a major-only :12)",
        f"{PROJECT}:kafkaBroker is not a setting of this project; did you mean kafkaBrokers? "
        "(see docs/deploying.md, 'Configuration')",
    ]


def test_every_key_has_a_default_the_program_accepts() -> None:
    for key in KEYS:
        assert key.parse(str(key.default).lower() if isinstance(key.default, bool) else str(key.default)) == key.default


def test_kafka_env_is_what_cp_kafka_scripts_require_and_accept(dev) -> None:
    """cp-kafka 7.9 `configure`: ZooKeeper mode unless KAFKA_PROCESS_ROLES; these two are `dub ensure`d;
    the KAFKA_PORT/HOST family makes it exit 1 (docs/upstream.md)."""
    env = environment(dev.containers["kafka-1"])
    assert env["KAFKA_ZOOKEEPER_CONNECT"] and env["KAFKA_ADVERTISED_LISTENERS"]
    refused = {"KAFKA_PORT", "KAFKA_HOST", "KAFKA_ADVERTISED_PORT", "KAFKA_ADVERTISED_HOST", "KAFKA_PROCESS_ROLES"}
    assert refused.isdisjoint(env)
    assert env["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"  # the image's VOLUME, owned by its user


def test_kafka_probe_runs_an_installed_tool_in_a_small_jvm_that_fits_beside_the_broker(dev) -> None:
    broker = dev.containers["kafka-1"]
    probe = broker.inputs["healthcheck"]["tests"][1]
    assert probe.startswith(f"KAFKA_HEAP_OPTS=-Xmx{PROBE_HEAP_MB}m KAFKA_OPTS= ")  # not the broker's heap
    assert "/usr/bin/kafka-broker-api-versions --bootstrap-server localhost:9092" in probe  # no .sh in cp-kafka
    heap = int(environment(broker)["KAFKA_HEAP_OPTS"].split("-Xmx")[1].rstrip("m"))
    assert heap == jvm_heap_mb(broker.inputs["memory"])
    assert heap + JVM_OVERHEAD_MB + PROBE_HEAP_MB + JVM_OVERHEAD_MB <= broker.inputs["memory"]


def test_generator_runs_the_built_image_by_id_and_outlives_its_flush_on_stop(dev) -> None:
    generator = dev.containers["generator"]
    (built,) = dev.of_type(BUILT)
    assert generator.inputs["image"] == image_id(built.inputs["imageName"])
    assert not [i for i in dev.of_type("docker:index/remoteImage:RemoteImage") if "generator" in i.inputs["name"]]
    shutdown = float(environment(generator)["SHUTDOWN_TIMEOUT"])
    assert generator.inputs["stopTimeout"] > shutdown and generator.inputs["destroyGraceSeconds"] > shutdown


def test_clickhouse_errors_reach_docker_logs(dev) -> None:
    """ClickHouse writes to the console only with `logger.console` true or a terminal attached, and the image
    leaves it off (docs/upstream.md): the container gets a config.d file that turns it on for warnings and errors,
    so `make logs SERVICE=clickhouse` and the e2e log artifact show the Kafka engine's errors."""
    uploads = unwrap(dev.containers["clickhouse"].inputs["uploads"])  # a list holding a secret is secret whole
    (upload,) = [u for u in uploads if u["file"] == CONSOLE_LOG_FILE]
    path = PurePosixPath(upload["file"])
    assert path.parent == PurePosixPath("/etc/clickhouse-server/config.d") and path.suffix == ".xml"
    root = ElementTree.fromstring(upload["content"])
    assert root.tag == "clickhouse"
    console, level = root.findtext("logger/console"), root.findtext("logger/console_log_level")
    assert console is not None and console.strip().lower() in POCO_TRUE
    assert level in ("warning", "error")  # errors included; the files keep the full trace
    assert root.find("logger/level") is None  # the files' level is the image's own


# --- issue 23: the smallest and the largest accepted value of every numeric key must run --------------------------

NUMERIC_RULE = re.compile(r"an? (?:integer|number) from (\S+) to (\S+)|a number > 0, at most (\S+)")


def numeric_ends(end: int) -> dict[str, str]:
    """Every numeric key of the Docker platform at its smallest (end 0) or its largest (end 1) accepted value
    (tests/infra/kubernetes/test_stack.py covers the Kubernetes-only keys)."""
    values = {}
    for key in KEYS:
        match = NUMERIC_RULE.fullmatch(key.accepted) if key.name not in KUBERNETES_ONLY else None
        if match and match[3]:
            values[key.name] = "0.001" if end == 0 else match[3]
        elif match:
            values[key.name] = match[1 + end]
    return values


@pytest.mark.parametrize("end", [0, 1], ids=["smallest", "largest"])
def test_the_program_runs_with_every_numeric_key_at_either_end_and_the_generator_takes_its_env(end: int) -> None:
    ends = numeric_ends(end)
    assert {"reportIntervalSeconds", "kafkaMemoryMb", "midPriceThreshold", "topicPartitions"} <= set(ends)
    program = run_program(config={**dev_config(), **ends})
    env = environment(program.containers["generator"])
    config = load_config(env)  # what the container is handed, the generator accepts (exit 2 otherwise)
    assert config.interval_s == float(ends["reportIntervalSeconds"])
    for service in MEMORY_FLOORS_MB:
        name = "kafka-1" if service == "kafka" else {"kafkaUi": "kafka-ui"}.get(service, service)
        assert program.containers[name].inputs["memory"] == int(ends[f"{service}MemoryMb"])


def test_no_memory_limit_below_what_each_image_needs_is_accepted() -> None:
    for service, floor in MEMORY_FLOORS_MB.items():
        key = KEYS_BY_NAME[f"{service}MemoryMb"]
        with pytest.raises(ValueError):
            key.parse(str(floor - 1))
        assert key.parse(str(floor)) == floor and floor <= key.default
    with pytest.raises(SettingsError, match=r"kafkaMemoryMb='64' is not accepted: expected an integer from 768"):
        run_program(config={**dev_config(), "kafkaMemoryMb": "64", "clickhouseMemoryMb": "64"})
    # at its floor, the broker's heap (half the limit), the health probe's JVM and both JVMs' own overhead fit
    floor = MEMORY_FLOORS_MB["kafka"]
    assert jvm_heap_mb(floor) + JVM_OVERHEAD_MB + PROBE_HEAP_MB + JVM_OVERHEAD_MB <= floor


def test_each_memory_floor_is_cited_in_docs_upstream() -> None:
    upstream = (REPO_ROOT / "docs" / "upstream.md").read_text()
    section = upstream.split("## Memory floors", 1)[1].split("\n## ", 1)[0]
    for service, floor in MEMORY_FLOORS_MB.items():
        assert f"| `{service}MemoryMb` | {floor} |" in section, service


def outputs_read_by_verify() -> tuple[set[str], set[str]]:
    """The stack outputs verify's code reads: `outputs["…"]` (required) and `outputs.get("…")` (optional). Mutation
    testing's copies of a function (`…__mutmut_<n>`) are not the code as written: skipped."""
    required, optional = set(), set()
    for path in sorted((REPO_ROOT / "verify").glob("*.py")):
        module = ast.parse(path.read_text())
        defined = [*module.body, *(n for c in module.body if isinstance(c, ast.ClassDef) for n in c.body)]
        for function in defined:  # module and class level: a nested function belongs to its enclosing one
            if not isinstance(function, ast.FunctionDef) or re.search(r"__mutmut_\d+$", function.name):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Subscript) and getattr(node.value, "id", "") == "outputs":
                    required.add(getattr(node.slice, "value", ""))
                elif isinstance(node, ast.Call) and ast.unparse(node.func) == "outputs.get":
                    optional.add(getattr(node.args[0], "value", ""))
    return required, optional


def test_the_stack_exports_exactly_what_core_outputs_lists_and_verify_reads_from_it(dev) -> None:
    """One list: a new output, or one verify starts to read, is named in core.outputs or the program fails (the
    `dev` fixture's run exported them all). verify requires exactly the outputs it reads without a default."""
    required, optional = outputs_read_by_verify()
    assert required == set(REQUIRED_OUTPUTS)
    assert required | optional <= {output.name for output in STACK_OUTPUTS}
    with pytest.raises(ValueError, match=r"stack outputs differ from core.outputs: \['kafkaUiUrl', 'surplus'\]"):
        export_outputs({**{output.name: 1 for output in STACK_OUTPUTS if output.name != "kafkaUiUrl"}, "surplus": 1})
