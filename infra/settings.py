"""The stack's settings: every config key the program reads, its default, what it accepts.

`Config` is the one table: each field is a config key, typed, with its default, rule and description. `KEYS`
lists them; `Pulumi.yaml`'s `config:` schema and docs/deploying.md's table are generated from it (`make docs`).
The program applies the defaults itself because Pulumi's mocks (and older CLIs) do not read `Pulumi.yaml`.
Keys shared with the generator take their default and rule from the generator's own table, and both tables
build on `core.rules`, so the container and the schema can never disagree about the report shape.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import zlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env, is_config_secret

from core import rules
from core.contract import LEVEL_PRICE_STEP, ReportShape
from core.generator_config import MAX_LEVELS, GeneratorConfig
from core.generator_config import SETTINGS as GENERATOR_SETTINGS
from core.images import IMAGE_PATTERN, is_pinned
from ddl.spec import MAX_CONSUMERS, MAX_RETENTION_DAYS, SchemaSpec

PROJECT = "pipelining-data"
MAX_BROKERS = 3
KAFKA_MODES = ("zookeeper", "kraft")
PLATFORMS = ("docker", "kubernetes")  # docker: one Docker host; kubernetes: a cluster (docs/kubernetes.md)
EXPOSURES = ("tunnel", "loadBalancer")
# every host port a stack publishes, in the order of its derived block: a new stack never copies dev's (`make stack`)
PORT_KEYS = ("grafanaPort", "kafkaUiPort", "clickhousePort", "kafkaPort")
# The keys that mean something on one platform only; any other key means the same on both.
DOCKER_ONLY = ("bindAddress", *PORT_KEYS, "zookeeperImage", "kafkaImage", "kafkaKraftImage", "zookeeperMemoryMb")
KUBERNETES_ONLY = ("kubeContext", "namespace", "platformStack", "storageClass", "kafkaStorageGi", "imageRegistry",
                   "exposure", "loadBalancerSourceRanges")  # fmt: skip
# Strimzi names the in-cluster bootstrap service of a Kafka resource `<name>-kafka-bootstrap` (docs/upstream.md)
KUBERNETES_KAFKA_CLUSTER = "kafka"
DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?")
REGISTRY_PATTERN = re.compile(r"[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*")
STACK_REFERENCE_PATTERN = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
CIDR_LIST_PATTERN = re.compile(r"[0-9a-fA-F.:/]+(,[0-9a-fA-F.:/]+)*")
# A stack without host ports of its own gets a block of PORTS_PER_STACK ports derived from its name, in a
# range below Linux's ephemeral ports (32768+) and above the well-known ones the `dev` stack uses.
DERIVED_PORT_BASE = 10_000
DERIVED_PORT_SLOTS = 2_750
PORTS_PER_STACK = 8
PLUGIN_PATTERN = re.compile(r"[a-z0-9-]+@\d+\.\d+\.\d+")
WEBHOOK_PATTERN = re.compile(r"https?://[^\s/]+(/\S*)?")
# The highest price any report can carry (level i draws up to LEVEL_PRICE_STEP * i): a threshold above it
# could never fire.
MAX_PRICE = LEVEL_PRICE_STEP * MAX_LEVELS


class SettingsError(pulumi.RunError):
    """Bad configuration: one line per bad value; Pulumi prints it without a traceback."""


@dataclass(frozen=True)
class Key:
    """One config key: its Pulumi.yaml type, default, the rule it must follow and what it is for."""

    type: str  # the Pulumi.yaml type: integer | string | boolean (Pulumi has no number type: decimals are strings)
    default: Any
    accepted: str
    parse: Callable[[str], Any]  # raises ValueError for a value outside `accepted`
    description: str
    name: str = ""  # the `Config` field it describes, filled in when `KEYS` is built
    secret: bool = False  # must be set with `pulumi config set --secret`; its value is never shown in an error

    @property
    def declared_default(self) -> Any:
        """The default as Pulumi.yaml declares it (a decimal number is declared as a string)."""
        return str(self.default) if self.type == "string" else self.default


def _integer(default: int, low: int, high: int, description: str) -> Key:
    rule = rules.integer(low, high)
    return Key("integer", default, rule.accepted, rule.parse, description)


def _port(description: str) -> Key:
    def parse(raw: str) -> int:
        value = int(raw.strip())
        if value != 0 and not 1024 <= value <= 65535:
            raise ValueError  # the caller names the key, the value and what is accepted
        return value

    return Key("integer", 0, "0 (derive from the stack name) or 1024-65535", parse, description)


# The smallest memory limit each service starts and runs in with its image's defaults and what this program
# sets (the JVMs get half the limit as heap, infra/containers.py): the evidence is in docs/upstream.md,
# "Memory floors". A limit below it is refused here, not found out as an OOM-killed container after `make up`.
MEMORY_FLOORS_MB = {
    "zookeeper": 256,
    "kafka": 768,
    "kafkaUi": 384,
    "clickhouse": 1024,
    "grafana": 512,
    "generator": 128,
}
MAX_MEMORY_MB = 65536


def _memory(service: str, default: int) -> Key:
    return _integer(default, MEMORY_FLOORS_MB[service], MAX_MEMORY_MB, "memory limit of the {service} container, MiB")


def _cpus(default: float) -> Key:
    rule = rules.number(0.1, 64)
    return Key("string", default, rule.accepted, rule.parse, "CPU limit of the {service} container, CPUs (a ceiling)")


def _boolean(default: bool, description: str) -> Key:
    def parse(raw: str) -> bool:
        value = raw.strip().lower()
        if value not in ("true", "false"):
            raise ValueError
        return value == "true"

    return Key("boolean", default, "true or false", parse, description)


def _pinned_image(raw: str) -> str:
    if not IMAGE_PATTERN.fullmatch(raw) or not is_pinned(raw):
        raise ValueError
    return raw


def _choice(default: str, options: tuple[str, ...], description: str) -> Key:
    rule = rules.choice(options)
    return Key("string", default, rule.accepted, rule.parse, description)


def _image(default: str) -> Key:
    accepted = (
        "an image by digest (repo:tag@sha256:…, preferred: make pin) or by a full version tag (repo:x.y.z…), "
        "not a moving tag (latest, main, a major-only :12)"
    )
    return Key("string", default, accepted, _pinned_image, "{service} image, pinned")


def _webhook_url(raw: str) -> str:
    if raw and not WEBHOOK_PATTERN.fullmatch(raw):
        raise ValueError
    return raw


HTTP_URL_OR_EMPTY = rules.Rule("empty, or an http(s):// URL", _webhook_url)


def _bind_address(raw: str) -> str:
    ipaddress.IPv4Address(raw.strip())  # raises ValueError (AddressValueError) for anything else
    return raw.strip()


def _optional(pattern: re.Pattern[str], what: str, description: str) -> Key:
    """A string key that may be empty (= the platform's default), else matches `pattern`."""

    def parse(raw: str) -> str:
        if raw and not pattern.fullmatch(raw):
            raise ValueError
        return raw

    return Key("string", "", f"empty, or {what}", parse, description)


def _cidr_list(raw: str) -> str:
    if raw:
        if not CIDR_LIST_PATTERN.fullmatch(raw):
            raise ValueError
        for cidr in raw.split(","):
            # raises ValueError, also for host bits set (203.0.113.7/24: the /24, or one address?), a range
            # Kubernetes warns is ambiguous (KEP-4858, to refuse it later)
            ipaddress.ip_network(cidr)
    return raw


def _string(default: Any, rule: rules.Rule, description: str) -> Key:
    return Key("string", default, rule.accepted, rule.parse, description)


def _shared(env: str) -> Key:
    """A key the generator also reads: default, rule and description come from the generator's table."""
    setting = next(setting for setting in GENERATOR_SETTINGS if setting.env == env)
    default = setting.parse(setting.default)
    kind = "integer" if isinstance(default, int) else "string"
    return Key(kind, default, setting.accepted, setting.parse, f"{setting.description} (generator {env})")


def _setting(key: Key) -> Any:
    """A field of `Config`: its default, and the key that describes, parses and documents it."""
    return field(default=key.default, metadata={"key": key})


# fmt: off
@dataclass(frozen=True)
class Config:
    """Every config key the program reads, typed: a field's name is the key (`pulumi config set topicPartitions`),
    so a misspelt key in a component is a type-check error, and `KEYS` (Pulumi.yaml, docs) derives from here."""

    bidLevels: int = _setting(_shared("BID_SIZE"))
    askLevels: int = _setting(_shared("ASK_SIZE"))
    priceDecimals: int = _setting(_shared("RANDOM_DECIMAL"))
    randomStart: float = _setting(_shared("RANDOM_START"))
    reportIntervalSeconds: float = _setting(_shared("CREATE_REPORT_INTERVAL"))
    topic: str = _setting(_shared("KAFKA_TOPIC"))
    topicPartitions: int = _setting(
        _integer(3, 1, 1000, "partitions of the topic (can only grow; at least clickhouseConsumers)"))
    kafkaMode: str = _setting(_choice("zookeeper", KAFKA_MODES,
        "zookeeper: Kafka 3.9 (cp-kafka 7.9) with ZooKeeper; kraft: Kafka 4 (apache/kafka), no ZooKeeper"))
    kafkaBrokers: int = _setting(
        _integer(1, 1, MAX_BROKERS, "Kafka brokers; the topic's replication factor is min(brokers, 3)"))
    clickhouseConsumers: int = _setting(
        _integer(1, 1, MAX_CONSUMERS, "Kafka-engine consumers in ClickHouse (at most topicPartitions)"))
    kafkaFlushIntervalMs: int = _setting(
        _integer(1000, 100, 60_000, "how often ClickHouse flushes what it consumed, ms"))
    retentionDays: int = _setting(_integer(30, 1, MAX_RETENTION_DAYS, "days of rows kept in the target table"))
    allowDestructiveSchemaChanges: bool = _setting(_boolean(False,
        "let `pulumi up` drop data: columns or tables, or the Kafka cluster when kafkaMode changes"))
    bindAddress: str = _setting(_string("127.0.0.1", rules.Rule("an IPv4 address", _bind_address),
        "host address Grafana, kafka-ui and ClickHouse's HTTP port bind to (each asks for a login); Kafka's "
        "ports stay on 127.0.0.1: its listeners have no authentication (docs/security.md)"))
    grafanaPort: int = _setting(_port("host port of Grafana; 0 = derived from the stack name"))
    kafkaUiPort: int = _setting(_port("host port of kafka-ui; 0 = derived from the stack name"))
    clickhousePort: int = _setting(_port("host port of ClickHouse's HTTP interface; 0 = derived from the stack name"))
    kafkaPort: int = _setting(
        _port("host port of the first broker (the next brokers take the next ports); 0 = derived"))
    zookeeperImage: str = _setting(_image("zookeeper:3.9.4"))
    kafkaImage: str = _setting(_image("confluentinc/cp-kafka:7.9.6"))
    kafkaKraftImage: str = _setting(_image("apache/kafka:4.3.1"))
    kafkaUiImage: str = _setting(_image("ghcr.io/kafbat/kafka-ui:v1.5.0"))
    clickhouseImage: str = _setting(_image("clickhouse/clickhouse-server:26.3.17.4"))
    grafanaImage: str = _setting(_image("grafana/grafana:12.4.5"))
    clickhousePlugin: str = _setting(_string("grafana-clickhouse-datasource@4.20.0",
        rules.matching(PLUGIN_PATTERN, "plugin-id@x.y.z"), "Grafana ClickHouse plugin installed at start, pinned"))
    midPriceThreshold: float = _setting(_string(9.9, rules.positive_number(MAX_PRICE),
        "the alert fires when the level-1 mid price (ask_1 + bid_1) / 2 rises above this"))
    freshnessMinutes: int = _setting(
        _integer(5, 1, 1440, "the freshness alert fires when the newest row is older than this"))
    runbookUrl: str = _setting(_string("", HTTP_URL_OR_EMPTY,
        "where the dashboard's links and the alert rules point for what to do: your copy of docs/runbook.md"))
    alertWebhookUrl: str = _setting(replace(_string("", HTTP_URL_OR_EMPTY,
        "where alerts are sent (a secret: set it with --secret); empty = no contact point and Grafana's "
        "notification policy left alone"), secret=True))
    zookeeperMemoryMb: int = _setting(_memory("zookeeper", 512))
    kafkaMemoryMb: int = _setting(_memory("kafka", 1024))
    kafkaUiMemoryMb: int = _setting(_memory("kafkaUi", 512))
    clickhouseMemoryMb: int = _setting(_memory("clickhouse", 2048))
    grafanaMemoryMb: int = _setting(_memory("grafana", 512))
    generatorMemoryMb: int = _setting(_memory("generator", 256))
    # CPU ceilings (docs/deploying.md, "Resources"): a busy service, or a heavy dashboard query, slows itself
    # down, not the host and the other stacks on it. ClickHouse's reader is bounded further by its profile.
    zookeeperCpus: float = _setting(_cpus(0.5))
    kafkaCpus: float = _setting(_cpus(1.0))
    kafkaUiCpus: float = _setting(_cpus(0.5))
    clickhouseCpus: float = _setting(_cpus(1.5))
    grafanaCpus: float = _setting(_cpus(1.0))
    generatorCpus: float = _setting(_cpus(0.5))
    platform: str = _setting(_choice("docker", PLATFORMS,
        "where the pipeline runs: docker (one Docker host) or kubernetes (a cluster; docs/kubernetes.md)"))
    kubeContext: str = _setting(_optional(re.compile(r"\S+"), "a kubeconfig context name",
        "kubeconfig context of the cluster; empty = the current context"))
    namespace: str = _setting(_optional(DNS_LABEL, "a DNS-1123 label (a-z, 0-9, '-', at most 63)",
        "the stack's namespace, created and owned by it; empty = pd-<stack>"))
    platformStack: str = _setting(_string("organization/pipelining-data-platform/platform",
        rules.matching(STACK_REFERENCE_PATTERN, "organization/project/stack"),
        "the cluster's platform stack (the Strimzi operator), read through a StackReference"))
    storageClass: str = _setting(_optional(DNS_SUBDOMAIN, "a storage class name",
        "storage class of Kafka's volumes; empty = the cluster's default"))
    kafkaStorageGi: int = _setting(_integer(10, 0, 10_000, "size of each Kafka node's volume, GiB; 0 = ephemeral (CI)"))
    imageRegistry: str = _setting(_optional(REGISTRY_PATTERN, "a registry host[:port][/path]",
        "where the generator image is pushed and the cluster pulls it from (required on kubernetes)"))
    exposure: str = _setting(_choice("tunnel", EXPOSURES,
        "how kafka-ui is reached: tunnel (kubectl port-forward) or loadBalancer (needs loadBalancerSourceRanges)"))
    loadBalancerSourceRanges: str = _setting(_string("", rules.Rule("empty, or comma-separated CIDRs", _cidr_list),
        "who may reach a LoadBalancer service, e.g. 203.0.113.0/24"))
# fmt: on


def _named(name: str, key: Key) -> Key:
    service = name.removesuffix("MemoryMb").removesuffix("Cpus").removesuffix("Image")
    description = key.description.replace("{service}", service)
    only = "docker" if name in DOCKER_ONLY else "kubernetes" if name in KUBERNETES_ONLY else ""
    return replace(key, name=name, description=f"{description} ({only} only)" if only else description)


KEYS: tuple[Key, ...] = tuple(_named(f.name, f.metadata["key"]) for f in fields(Config))
KEYS_BY_NAME = {key.name: key for key in KEYS}


@dataclass(frozen=True)
class HostPorts:
    grafana: int
    kafka_ui: int
    clickhouse: int
    kafka: int  # the first broker's; broker i (1-based) publishes kafka + i - 1

    def broker(self, index: int) -> int:
        return self.kafka + index - 1


@dataclass(frozen=True)
class Settings:
    """Everything the program builds from: one object, validated, defaults applied."""

    project: str
    stack: str
    config: Config  # every key, parsed and typed

    @property
    def prefix(self) -> str:
        """Prefix of every Docker name, so two stacks on one host never collide."""
        return f"{self.project}-{self.stack}"

    @property
    def shape(self) -> ReportShape:
        config = self.config
        return ReportShape(config.bidLevels, config.askLevels, config.randomStart, config.priceDecimals)

    @property
    def replication_factor(self) -> int:
        return min(self.config.kafkaBrokers, 3)

    @property
    def min_insync_replicas(self) -> int:
        """Acknowledged by two replicas wherever there are two: one broker may fail without losing a write."""
        return min(self.replication_factor, 2)

    @property
    def broker_names(self) -> list[str]:
        return [broker_name(index) for index in range(1, self.config.kafkaBrokers + 1)]

    @property
    def bootstrap_servers(self) -> tuple[str, ...]:
        """The brokers' internal listeners, as containers on the stack's network (or pods in its namespace)
        reach them."""
        if self.config.platform == "kubernetes":
            return (f"{KUBERNETES_KAFKA_CLUSTER}-kafka-bootstrap:{INTERNAL_KAFKA_PORT}",)
        return tuple(f"{name}:{INTERNAL_KAFKA_PORT}" for name in self.broker_names)

    @property
    def namespace(self) -> str:
        """The stack's Kubernetes namespace: `namespace`, else pd-<stack> made a DNS-1123 label."""
        derived = re.sub(r"[^a-z0-9-]+", "-", f"pd-{self.stack}".lower())[:63].rstrip("-")
        return self.config.namespace or derived

    @property
    def host_ports(self) -> HostPorts:
        base = derived_port_base(self.project, self.stack)
        return HostPorts(*(getattr(self.config, name) or base + offset for offset, name in enumerate(PORT_KEYS)))

    @property
    def broker_host_ports(self) -> list[int]:
        return [self.host_ports.broker(index) for index in range(1, self.config.kafkaBrokers + 1)]

    @property
    def kafka_host(self) -> str:
        """Where the brokers' EXTERNAL listeners are published and advertised: always loopback. They are PLAINTEXT
        without an authorizer, so no `bindAddress` puts them on a network (docs/security.md)."""
        return KAFKA_HOST

    @property
    def client_host(self) -> str:
        """The address a program on this machine uses to reach a published port."""
        return "127.0.0.1" if self.config.bindAddress == "0.0.0.0" else self.config.bindAddress

    def schema_spec(self) -> SchemaSpec:
        return SchemaSpec(
            shape=self.shape,
            topic=self.config.topic,
            broker_list=",".join(self.bootstrap_servers),
            consumers=self.config.clickhouseConsumers,
            flush_interval_ms=self.config.kafkaFlushIntervalMs,
            retention_days=self.config.retentionDays,
        )

    def generator_config(self) -> GeneratorConfig:
        return GeneratorConfig(
            shape=self.shape,
            interval_s=self.config.reportIntervalSeconds,
            bootstrap_servers=self.bootstrap_servers,
            topic=self.config.topic,
        )


INTERNAL_KAFKA_PORT = 9092
KAFKA_HOST = "127.0.0.1"


def broker_name(index: int) -> str:
    """A Kafka node's host name on the stack's network (1-based), and its container's service name."""
    return f"kafka-{index}"


def derived_port_base(project: str, stack: str) -> int:
    slot = zlib.crc32(f"{project}/{stack}".encode()) % DERIVED_PORT_SLOTS
    return DERIVED_PORT_BASE + slot * PORTS_PER_STACK


def settings_from(
    raw: Mapping[str, str | None], project: str, stack: str, secret_names: Collection[str] = ()
) -> Settings:
    """Parse and check `raw` (config key → string or None; `secret_names`: the keys set as secrets); raise
    SettingsError listing every bad value. A secret key's value is never repeated in an error."""
    values: dict[str, Any] = {}
    problems = []
    for key in KEYS:
        text = raw.get(key.name)
        shown = " (secret, not shown)" if key.secret else f"={text!r}"
        try:
            values[key.name] = key.default if text is None else key.parse(text)
        except ValueError:
            problems.append(f"{project}:{key.name}{shown} is not accepted: expected {key.accepted}")
            continue
        if key.secret and text and key.name not in secret_names:
            problems.append(
                f"{project}:{key.name} is set as plain text: expected a secret "
                f"(pulumi config set --secret {key.name} … --stack {stack})"
            )
    unknown = sorted(set(raw) - set(KEYS_BY_NAME))
    problems += [
        f"{project}:{name} is not a setting of this project{_suggestion(name)} (see docs/deploying.md, 'Configuration')"
        for name in unknown
    ]
    if not problems:
        settings = Settings(project, stack, Config(**values))
        problems += _cross_checks(settings)
        if not problems:
            return settings
    raise SettingsError("\n".join(problems))


def _suggestion(name: str) -> str:
    """'; did you mean <key>?' for the config key closest to a misspelt one (case aside), or nothing."""
    lowered = {key.lower(): key for key in KEYS_BY_NAME}
    close = difflib.get_close_matches(name.lower(), lowered)  # best first
    return f"; did you mean {lowered[close[0]]}?" if close else ""


def _platform_checks(settings: Settings) -> list[str]:
    """Keys of the other platform left at their defaults; what Kubernetes requires or refuses."""
    config, project = settings.config, settings.project
    foreign = DOCKER_ONLY if config.platform == "kubernetes" else KUBERNETES_ONLY
    problems = [
        f"{project}:{name}={getattr(config, name)!r} is not accepted on platform {config.platform}: "
        f"expected it unset ({name} applies to platform {'docker' if name in DOCKER_ONLY else 'kubernetes'} only)"
        for name in foreign
        if getattr(config, name) != KEYS_BY_NAME[name].default
    ]
    if config.platform != "kubernetes":
        return problems
    if config.kafkaMode != "kraft":
        problems.append(f"{project}:kafkaMode={config.kafkaMode!r} is not accepted on platform kubernetes: "
                        "expected kraft (Strimzi runs KRaft only): pulumi config set kafkaMode kraft")  # fmt: skip
    if not config.imageRegistry:
        problems.append(f"{project}:imageRegistry is required on platform kubernetes: expected a registry "
                        "host[:port][/path] the cluster pulls from, e.g. ghcr.io/you")  # fmt: skip
    if config.kafkaStorageGi == 0 and not config.allowDestructiveSchemaChanges:
        problems.append(
            f"{project}:kafkaStorageGi=0 is not accepted without allowDestructiveSchemaChanges=true: "
            "an ephemeral volume loses Kafka's data at every pod restart; expected a size in GiB"
        )
    if config.exposure == "loadBalancer" and not config.loadBalancerSourceRanges:
        problems.append(f"{project}:loadBalancerSourceRanges is required with exposure=loadBalancer: expected "
                        "comma-separated CIDRs of who may reach it")  # fmt: skip
    if "@" in config.kafkaUiImage and ":" not in config.kafkaUiImage.partition("@")[0].rpartition("/")[2]:
        problems.append(f"{project}:kafkaUiImage={config.kafkaUiImage!r} is not accepted on platform kubernetes: "
                        "expected repo:tag or repo:tag@sha256:… (the kafka-ui chart needs a tag)")  # fmt: skip
    return problems


def _cross_checks(settings: Settings) -> list[str]:
    problems = _platform_checks(settings)
    config = settings.config
    if config.clickhouseConsumers > config.topicPartitions:
        problems.append(
            f"{settings.project}:clickhouseConsumers={config.clickhouseConsumers} is not accepted: "
            f"expected at most topicPartitions ({config.topicPartitions})"
        )
    ports = settings.host_ports
    published = [ports.grafana, ports.kafka_ui, ports.clickhouse, *settings.broker_host_ports]
    clashing = sorted({port for port in published if published.count(port) > 1 or port > 65535})
    if clashing and config.platform == "docker":  # a Kubernetes stack publishes no host port
        problems.append(
            f"{settings.project}: host ports {clashing} are not accepted: expected distinct ports up to 65535 "
            "(grafanaPort, kafkaUiPort, clickhousePort, and kafkaPort … kafkaPort+kafkaBrokers-1)"
        )
    return problems


def load_settings() -> Settings:
    """The running stack's settings, read from its Pulumi config."""
    project = pulumi.get_project()
    config = pulumi.Config()
    names = {*KEYS_BY_NAME, *_configured_names(project)}
    raw = {name: config.get(name) for name in names}
    secret = {name for name in names if is_config_secret(f"{project}:{name}")}
    return settings_from(raw, project, pulumi.get_stack(), secret)


def _configured_names(project: str) -> set[str]:
    """The project's keys the stack sets, so that a misspelt key is reported instead of ignored."""
    configured = {**get_config_env(), **CONFIG.get()}
    prefix = f"{project}:"
    return {key.removeprefix(prefix) for key in configured if key.startswith(prefix)}
