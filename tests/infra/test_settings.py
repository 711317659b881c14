"""One settings table (infra/settings.py): Pulumi.yaml's config schema and docs/deploying.md's table follow it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from dataclasses import fields

import pytest
import yaml

from core.contract import ReportShape
from core.generator_config import GeneratorConfig
from ddl.spec import SchemaSpec
from infra.settings import KEYS, PROJECT, Config, SettingsError, derived_port_base, settings_from
from testbed.kubernetes import DEFAULT_CONFIG as KUBERNETES_CONFIG
from testbed.modules import rebuilt
from testbed.program import dev_config
from testbed.repo import REPO_ROOT


def test_pulumi_yaml_declares_every_key_with_the_programs_type_and_default() -> None:
    declared = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())["config"]
    keys = rebuilt("infra.settings").KEYS  # the table as its source builds it now
    assert list(declared) == [key.name for key in keys]
    for key in keys:
        entry = declared[key.name]
        assert entry["type"] == key.type, key.name
        assert entry["default"] == key.declared_default, key.name
        assert entry["description"] == key.description, key.name


def test_pulumi_yaml_config_follows_pulumis_project_schema() -> None:
    """Pulumi's project schema (sdk/go/common/workspace/project.json) knows four types; `number` is not one."""
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    assert set(project["runtime"]["options"]) <= {"virtualenv", "toolchain", "typechecker"}
    for name, entry in project["config"].items():
        assert set(entry) <= {"type", "description", "default", "secret", "items"}, name
        assert entry["type"] in ("string", "integer", "boolean", "array"), name
        expected = {"string": str, "integer": int, "boolean": bool}[entry["type"]]
        assert type(entry["default"]) is expected, name


def test_dev_stack_sets_only_known_keys_and_the_well_known_ports() -> None:
    settings = settings_from(dev_config(), PROJECT, "dev")
    ports = settings.host_ports
    assert (ports.grafana, ports.kafka_ui, ports.clickhouse, ports.kafka) == (3000, 8080, 8123, 9092)


def test_readme_documents_every_key() -> None:
    readme = (REPO_ROOT / "docs" / "deploying.md").read_text()
    for key in rebuilt("infra.settings").KEYS:  # the table as its source builds it now
        default = str(key.default).lower() if isinstance(key.default, bool) else key.default
        shown = f"`{default}`" if default != "" else "(empty)"
        row = f"| `{key.name}` | {shown} | {key.accepted} | {key.description} |"
        assert row in readme, f"docs/deploying.md lacks the row: {row}"


def test_derived_ports_stay_clear_of_well_known_and_ephemeral_ports() -> None:
    bases = {derived_port_base(PROJECT, f"dev{n}") for n in range(500)}
    assert min(bases) >= 10_000 and max(bases) + 8 <= 32_768
    assert all(isinstance(base, int) and (base - 10_000) % 8 == 0 for base in bases)  # whole blocks: none overlap
    assert len(bases) > 450  # stacks rarely share a block; explicit ports resolve the rare clash


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"topicPartitions": "2", "clickhouseConsumers": "3"},
         "clickhouseConsumers=3 is not accepted: expected at most topicPartitions (2)"),
        ({"grafanaPort": "9000", "clickhousePort": "9000"}, "host ports [9000] are not accepted"),
        ({"grafanaPort": "80"}, "grafanaPort='80' is not accepted: expected 0 (derive from the stack name) or 1024"),
        ({"bindAddress": "localhost"}, "bindAddress='localhost' is not accepted: expected an IPv4 address"),
        ({"kafkaImage": "apache/kafka"}, "kafkaImage='apache/kafka' is not accepted"),
        ({"allowDestructiveSchemaChanges": "yes"}, "allowDestructiveSchemaChanges='yes' is not accepted"),
        ({"bidLevels": "0"}, "bidLevels='0' is not accepted: expected an integer from 1 to 1000"),
        ({"clickhousePlugin": "grafana-clickhouse-datasource"}, "expected plugin-id@x.y.z"),
    ],
)  # fmt: skip
def test_bad_values_are_named_with_what_is_accepted(raw: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        settings_from(raw, PROJECT, "dev")


def test_an_unknown_key_is_named_with_the_closest_key_if_there_is_one() -> None:
    with pytest.raises(SettingsError) as raised:
        settings_from({"KAFKABROKERS": "2", "colour": "blue"}, PROJECT, "dev")
    assert str(raised.value).splitlines() == [
        f"{PROJECT}:KAFKABROKERS is not a setting of this project; did you mean kafkaBrokers? "
        "(see docs/deploying.md, 'Configuration')",
        f"{PROJECT}:colour is not a setting of this project (see docs/deploying.md, 'Configuration')",
    ]


@pytest.mark.parametrize(
    ("ranges", "accepted"),
    [
        ("203.0.113.0/24", True),
        ("203.0.113.7/32,2001:db8::/32", True),
        ("203.0.113.7/24", False),  # host bits set: the whole /24, or only .7? Kubernetes warns it is ambiguous
        ("2001:db8::1/32", False),
        ("10.0.0.0/33", False),
    ],
)
def test_load_balancer_source_ranges_are_networks(ranges: str, accepted: bool) -> None:
    config = {**KUBERNETES_CONFIG, "exposure": "loadBalancer", "loadBalancerSourceRanges": ranges}
    if accepted:
        assert settings_from(config, PROJECT, "alice").config.loadBalancerSourceRanges == ranges
    else:
        with pytest.raises(SettingsError) as raised:
            settings_from(config, PROJECT, "alice")
        assert str(raised.value) == (
            f"{PROJECT}:loadBalancerSourceRanges={ranges!r} is not accepted: expected empty, or comma-separated CIDRs"
        )


def test_every_default_image_is_one_whose_sources_docs_upstream_cites() -> None:
    """A new pin must come with a fresh reading of that image's scripts (docs/upstream.md)."""
    cited = (REPO_ROOT / "docs" / "upstream.md").read_text()
    for key in KEYS:
        if key.name.endswith("Image"):
            assert f"`{key.default}`" in cited, f"docs/upstream.md does not cite the sources of {key.default}"


def test_generated_docs_are_up_to_date() -> None:
    """Pulumi.yaml's config block and the tables in docs/ are generated (`make docs`): never hand-edited copies."""
    result = subprocess.run([sys.executable, "scripts/render_docs.py", "--check"], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_each_generated_file_is_what_the_code_renders_now() -> None:
    """The same check in this process, file by file, so a change to what renders them is caught by name."""
    spec = importlib.util.spec_from_file_location("render_docs", REPO_ROOT / "scripts" / "render_docs.py")
    assert spec is not None and spec.loader is not None
    render_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render_docs)
    for name, render in render_docs.GENERATED:
        current = (REPO_ROOT / name).read_text()
        assert render(current) == current, f"{name} differs from what `make docs` renders"


def test_a_misspelt_key_in_a_component_fails_the_type_check() -> None:
    """Components read typed fields of `Config` (a key's name is the field's): `make lint` runs mypy."""
    snippet = "from infra.settings import Config\nprint(Config().topicPartitons)\n"
    result = subprocess.run([sys.executable, "-m", "mypy", "--config-file", "/dev/null", "--ignore-missing-imports",
                             "-c", snippet], cwd=REPO_ROOT, capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 1
    assert '"Config" has no attribute "topicPartitons"; maybe "topicPartitions"?' in result.stdout
    assert [key.name for key in KEYS] == [f.name for f in fields(Config)]


def test_what_the_schema_and_the_generator_get_follows_the_config() -> None:
    config = {"topic": "ticks", "reportIntervalSeconds": "0.5", "clickhouseConsumers": "2", "topicPartitions": "4",
              "kafkaFlushIntervalMs": "2500", "retentionDays": "7", "kafkaBrokers": "2", "bidLevels": "3",
              "askLevels": "4", "priceDecimals": "2", "randomStart": "0.5"}  # fmt: skip
    settings = settings_from(config, PROJECT, "dev")
    shape = ReportShape(bid_size=3, ask_size=4, random_start=0.5, random_decimal=2)
    assert settings.schema_spec() == SchemaSpec(shape=shape, topic="ticks", broker_list="kafka-1:9092,kafka-2:9092",
                                                consumers=2, flush_interval_ms=2500, retention_days=7)  # fmt: skip
    brokers = ("kafka-1:9092", "kafka-2:9092")
    assert settings.generator_config() == GeneratorConfig(shape, 0.5, brokers, "ticks")


@pytest.mark.parametrize(
    ("config", "refused"),
    [
        ({"clickhouseConsumers": "3", "topicPartitions": "3"}, None),
        ({"kafkaPort": "65535", "kafkaBrokers": "1"}, None),
        ({"kafkaPort": "65535", "kafkaBrokers": "2"},
         "pipelining-data: host ports [65536] are not accepted: expected distinct ports up to 65535 (grafanaPort, "
         "kafkaUiPort, clickhousePort, and kafkaPort … kafkaPort+kafkaBrokers-1)"),
    ],
)  # fmt: skip
def test_limits_across_keys_are_inclusive(config: dict[str, str], refused: str | None) -> None:
    if refused is None:
        settings_from(config, PROJECT, "dev")
    else:
        with pytest.raises(SettingsError) as raised:
            settings_from(config, PROJECT, "dev")
        assert str(raised.value) == refused


def test_booleans_read_as_booleans() -> None:
    key = rebuilt("infra.settings").KEYS_BY_NAME["allowDestructiveSchemaChanges"]
    assert key.parse(" True ") is True and key.parse("false") is False


def test_a_config_built_without_values_holds_every_keys_default() -> None:
    settings = rebuilt("infra.settings")  # the class as its source builds it now
    config = settings.Config()
    assert {key.name: getattr(config, key.name) for key in settings.KEYS} == {
        key.name: key.default for key in settings.KEYS
    }
