"""`make up` / `preview` / `destroy` / `stack` / `stacks`: one clear line and exit 2 without their tools; how
the script drives the Pulumi CLI (recorded by a stand-in, as there is no CLI here)."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from infra.check import new_stack_config
from infra.provider_support import FORCE_DELETE_WAIT_S
from infra.settings import KEYS, PORT_KEYS
from testbed.repo import REPO_ROOT

BASE_TOOLS = (
    "make",
    "bash",
    "sh",
    "env",
    "dirname",
    "head",
    "base64",
    "grep",
    "mkdir",
    "cat",
    "test",
    "mktemp",
    "rm",
    "awk",
    "sort",
    "tr",
    "basename",
    "chmod",
)


def bin_dir(tmp_path: Path, fakes: dict[str, int] | None = None) -> Path:
    """A PATH with the basic tools, and `fakes` as commands that exit with the given code (made once per test)."""
    directory = tmp_path / "bin"
    if not directory.exists():
        directory.mkdir()
        for tool in BASE_TOOLS:
            (directory / tool).symlink_to(shutil.which(tool))
    for name, code in (fakes or {}).items():
        (directory / name).write_text(f"#!/bin/sh\nexit {code}\n")
        (directory / name).chmod(0o755)
    return directory


def run_make(target: str, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(path), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(["make", target, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip


def our_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """stderr without make's own closing `make: *** [...] Error 2` line."""
    return [line for line in result.stderr.splitlines() if not line.startswith("make: ***")]


def refusal(result: subprocess.CompletedProcess[str], target: str, *names: str) -> str:
    """What every refusal of ours is: exit 2 and one line, prefixed with its target, that names what was wrong
    and what to do or what is accepted (`names`); the wording around them is free."""
    assert result.returncode == 2, result.stderr
    (line,) = our_lines(result)
    assert line.startswith(f"make {target}: "), line
    assert [name for name in names if name not in line] == [], line
    return line


@pytest.mark.parametrize("target", ["up", "preview", "destroy"])
def test_every_missing_prerequisite_is_named_at_once_one_line_each(tmp_path: Path, target: str) -> None:
    result = run_make(target, bin_dir(tmp_path))  # neither the Pulumi CLI nor docker
    assert result.returncode == 2
    pulumi, docker = our_lines(result)
    assert pulumi.startswith(f"make {target}: the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/")
    assert docker == (
        f"make {target}: the docker CLI is not on PATH: install Docker Engine or Docker Desktop "
        "(https://docs.docker.com/get-docker/)"
    )
    with_docker = run_make(target, bin_dir(tmp_path, {"docker": 1}))  # a CLI, but no engine answering
    assert [line.split(": ", 1)[1].split(":")[0] for line in our_lines(with_docker)] == [
        "the Pulumi CLI is not on PATH",
        "the Docker engine is not reachable",
    ]


def test_without_a_reachable_docker_engine_make_up_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run_make("up", bin_dir(tmp_path, {"pulumi": 0, "docker": 1}))
    refusal(result, "up", "Docker engine is not reachable", "DOCKER_HOST", "'docker info'")


def test_a_bad_stack_name_is_refused(tmp_path: Path) -> None:
    result = run_make("preview", bin_dir(tmp_path, {"pulumi": 0, "docker": 0}), "STACK=../x")
    refusal(result, "preview", "STACK='../x'", "expected letters, digits, '.', '_' or '-'")


SELECT_FAILURE = "error: failed to load checkpoint: incorrect passphrase"


def recording_pulumi(
    tmp_path: Path,
    bind_address: str = "",
    existing: tuple[str, ...] = (),
    select_exit: int = 6,
    not_found_before_exit_6: bool = False,
) -> Path:
    """A stand-in for the Pulumi CLI that records its arguments and the backend it was pointed at: how the
    script drives Pulumi is what is tested here (no engine runs). `stack select` succeeds for `existing`
    stacks only, and fails as the CLI does for any other (exit 6, `no stack named ... found`), or with
    `select_exit` and another reason."""
    directory = bin_dir(tmp_path, {"docker": 0})
    log = tmp_path / "pulumi.log"
    not_found = select_exit == 6 or not_found_before_exit_6  # CLIs before v3.226.0 exit 255 with the same words
    reason = "error: no stack named '$3' found" if not_found else SELECT_FAILURE
    (directory / "pulumi").write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        f'echo "backend=$PULUMI_BACKEND_URL pwd=$PWD" >> {log}.env\n'
        f'[ -n "$PIPELINING_DATA_FORCE_DELETE" ] && echo "force=$PIPELINING_DATA_FORCE_DELETE $*" >> {log}.env\n'
        f'eval last=\\${{$#}}; case "$last" in *pipelining-data-policy*) cat "$last" >> {log} ;; esac\n'
        'case "$1 $2" in\n'
        f'  "stack select") case " {" ".join(existing)} " in *" $3 "*) exit 0 ;; esac\n'
        f'    echo "{reason}" >&2; exit {select_exit} ;;\n'
        f'  "config get") [ -n "{bind_address}" ] && echo "{bind_address}" && exit 0; exit 1 ;;\n'
        "esac\n"
    )
    (directory / "pulumi").chmod(0o755)
    return directory


def run_with_state(target: str, path: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`make target` as a user runs it: no PULUMI_BACKEND_URL, so Pulumi.yaml's backend applies."""
    env = {"PATH": str(path), "HOME": str(tmp_path), "PULUMI_CONFIG_PASSPHRASE": "test-only"}
    return subprocess.run(["make", target, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


@pytest.fixture
def new_stack() -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    yield name
    (REPO_ROOT / f"Pulumi.{name}.yaml").unlink(missing_ok=True)


def test_make_stack_needs_a_name(tmp_path: Path) -> None:
    result = run_make("stack", bin_dir(tmp_path))
    refusal(result, "stack", "NAME is required", "make stack NAME=")


def test_make_stacks_without_the_pulumi_cli_exits_2(tmp_path: Path) -> None:
    result = run_make("stacks", bin_dir(tmp_path))
    assert result.returncode == 2
    (line,) = our_lines(result)
    assert line.startswith("make stacks: the Pulumi CLI is not on PATH")


def test_a_new_stack_copies_dev_config_without_its_ports(tmp_path: Path, new_stack: str) -> None:
    result = run_with_state("stack", recording_pulumi(tmp_path), tmp_path, f"NAME={new_stack}")
    assert result.returncode == 0, result.stderr
    config = (REPO_ROOT / f"Pulumi.{new_stack}.yaml").read_text()
    assert "config:" in config
    assert not any(key in config for key in PORT_KEYS)
    assert f"stack init {new_stack}" in (tmp_path / "pulumi.log").read_text()


@pytest.mark.parametrize("bind_address", ["", "0.0.0.0"])
def test_preview_applies_the_policy_pack(tmp_path: Path, new_stack: str, bind_address: str) -> None:
    """With no exception for any address: bindAddress used to be passed to the pack as allowed, so the key was its
    own exception; the pack now judges the service behind each published port."""
    pulumi = recording_pulumi(tmp_path, bind_address, existing=(new_stack,))
    result = run_with_state("preview", pulumi, tmp_path, f"STACK={new_stack}")
    assert result.returncode == 0, result.stderr
    log = (tmp_path / "pulumi.log").read_text().splitlines()
    (preview,) = [line for line in log if line.startswith("preview")]
    assert preview.endswith(f"--stack {new_stack} --diff --policy-pack {REPO_ROOT}/policy")


def test_a_new_stack_config_is_written_by_a_yaml_library(tmp_path: Path, new_stack: str) -> None:
    """dev's values (quoted, nested, commented or not) reach the new stack's file as values, never as edited text."""
    result = run_with_state("stack", recording_pulumi(tmp_path), tmp_path, f"NAME={new_stack}")
    assert result.returncode == 0, result.stderr
    dev = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())
    copied = yaml.safe_load((REPO_ROOT / f"Pulumi.{new_stack}.yaml").read_text())
    ports = {f"pipelining-data:{key}" for key in PORT_KEYS}
    assert copied["config"] == {key: value for key, value in dev["config"].items() if key not in ports}
    assert "encryptionsalt" not in copied


def test_the_generated_passphrase_file_is_always_owner_only(tmp_path: Path) -> None:
    passphrase = REPO_ROOT / ".pulumi-passphrase"
    existed = passphrase.exists()
    if not existed:
        passphrase.write_text("test-only\n")
    mode = passphrase.stat().st_mode & 0o777
    try:
        passphrase.chmod(0o644)  # as a checkout, a copy or a lax umask may leave it
        env = {"PATH": str(recording_pulumi(tmp_path, existing=("dev",))), "HOME": str(tmp_path)}
        result = subprocess.run(["make", "outputs"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                                timeout=120, check=False)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert passphrase.stat().st_mode & 0o777 == 0o600
    finally:
        if existed:
            passphrase.chmod(mode)
        else:
            passphrase.unlink()


@pytest.mark.parametrize("target", ["preview", "destroy", "outputs"])
def test_an_unknown_stack_is_one_line_and_never_created(tmp_path: Path, target: str) -> None:
    result = run_with_state(target, recording_pulumi(tmp_path, existing=("dev",)), tmp_path, "STACK=dve")
    refusal(result, target, "no stack 'dve'", "'make stacks'", "'make stack NAME=dve'")
    assert "stack init" not in (tmp_path / "pulumi.log").read_text()


def test_up_creates_a_missing_stack(tmp_path: Path, new_stack: str) -> None:
    result = run_with_state("up", recording_pulumi(tmp_path), tmp_path, f"STACK={new_stack}")
    assert result.returncode == 0, result.stderr
    log = (tmp_path / "pulumi.log").read_text()
    assert f"stack init {new_stack}" in log and f"up --stack {new_stack} --yes" in log


@pytest.mark.parametrize(("target", "variable"), [("stack", "NAME"), ("outputs", "STACK")])
def test_a_name_with_a_space_is_refused(tmp_path: Path, target: str, variable: str) -> None:
    result = run_with_state(target, recording_pulumi(tmp_path), tmp_path, f"{variable}=a b")
    refusal(result, target, f"{variable}='a b'", "expected letters, digits, '.', '_' or '-'")
    assert not (tmp_path / "pulumi.log").exists()


def test_pulumi_runs_in_the_checkout_with_the_backend_of_pulumi_yaml(tmp_path: Path) -> None:
    """Plain `pulumi` commands in the checkout and `make` reach the same stacks: both use Pulumi.yaml's
    backend (a relative file:// URL is taken from the directory pulumi runs in; docs/upstream.md)."""
    assert yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())["backend"] == {"url": "file://."}
    run_with_state("outputs", recording_pulumi(tmp_path, existing=("dev",)), tmp_path)
    recorded = set((tmp_path / "pulumi.log.env").read_text().splitlines())
    assert recorded == {f"backend= pwd={REPO_ROOT}"}


SERVICES = ("clickhouse", "generator", "grafana", "kafka-1", "kafka-ui", "zookeeper")


def recording_docker(directory: Path, log: Path, services: tuple[str, ...] = SERVICES) -> None:
    """A docker CLI stand-in: answers `info`, lists the stack's containers (label filters honoured for the
    stack), `inspect`s them, and records everything it is asked."""
    rows = "".join(f"{name}\\trunning\\tUp 5 minutes (healthy)\\n" for name in services)
    listed = "".join(f"{name}\\n" for name in services)
    names = " ".join(f"pipelining-data-dev-{name}" for name in services)
    (directory / "docker").unlink(missing_ok=True)
    (directory / "docker").write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        'case "$1" in\n'
        "  info) exit 0 ;;\n"
        '  ps) case "$*" in *io.pulumi.stack=dev*) ;; *) exit 0 ;; esac\n'
        f'      case "$*" in *State*) printf "{rows}" ;; *) printf "{listed}" ;; esac; exit 0 ;;\n'
        f'  inspect) case " {names} " in *" $4 "*) exit 0 ;; esac; exit 1 ;;\n'
        "esac\n"
    )
    (directory / "docker").chmod(0o755)


def docker_make(tmp_path: Path, target: str, *args: str, pulumi_stacks: tuple[str, ...] = ("dev",),
                stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:  # fmt: skip
    path = recording_pulumi(tmp_path, existing=pulumi_stacks)
    recording_docker(path, tmp_path / "docker.log")
    env = {"PATH": str(path), "HOME": str(tmp_path), "PULUMI_CONFIG_PASSPHRASE": "test-only"}
    return subprocess.run(["make", target, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False, stdin=stdin)  # fmt: skip


def test_status_shows_each_service_state_and_health(tmp_path: Path) -> None:
    result = docker_make(tmp_path, "status")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["SERVICE", "STATE", "STATUS"]
    assert [line.split()[0] for line in lines[1:7]] == list(SERVICES)
    assert all("(healthy)" in line for line in lines[1:7])
    assert "stack output --stack dev" in (tmp_path / "pulumi.log").read_text()


def test_status_of_a_stack_without_containers_is_one_line(tmp_path: Path) -> None:
    result = docker_make(tmp_path, "status", "STACK=alice")
    refusal(result, "status", "no containers of stack 'alice'", "make up STACK=alice")


@pytest.mark.parametrize(("follow", "expected"), [("", "logs --tail 200 "), ("1", "logs --tail 200 --follow ")])
def test_logs_of_a_service_by_its_name(tmp_path: Path, follow: str, expected: str) -> None:
    result = docker_make(tmp_path, "logs", "SERVICE=kafka-1", f"FOLLOW={follow}")
    assert result.returncode == 0, result.stderr
    assert f"{expected}pipelining-data-dev-kafka-1" in (tmp_path / "docker.log").read_text().splitlines()


def test_logs_need_a_known_service(tmp_path: Path) -> None:
    refusal(docker_make(tmp_path, "logs"), "logs", "SERVICE is required", "SERVICE=kafka-1", "make status")
    for bad in ("../kafka-1", "kafka-1 --follow", "Kafka"):
        refused = docker_make(tmp_path, "logs", f"SERVICE={bad}")
        refusal(refused, "logs", f"SERVICE='{bad}'", "lowercase letters, digits and '-'", "make status")
    unknown = refusal(docker_make(tmp_path, "logs", "SERVICE=kafka"), "logs", "SERVICE='kafka'")
    assert unknown.split(": ")[-1].split() == list(SERVICES)  # what is accepted: the stack's services
    assert not (tmp_path / "docker.log").exists()  # an argument: refused before Docker is asked anything


def test_logs_checks_its_arguments_before_looking_for_docker(tmp_path: Path) -> None:
    for args, expected in [
        ((), "make logs: SERVICE is required, e.g. make logs SERVICE=kafka-1 (services: make status)"),
        (("SERVICE=nope",), "make logs: SERVICE='nope' is not accepted: expected one of the stack's services: "),
        (("SERVICE=kafka-2", "STACK=a b"), "make logs: STACK='a b' is not accepted: expected letters, digits"),
    ]:
        result = run_make("logs", bin_dir(tmp_path), *args)  # no docker at all
        assert result.returncode == 2
        (line,) = our_lines(result)
        assert line.startswith(expected), line


def test_destroy_without_a_terminal_needs_yes(tmp_path: Path) -> None:
    refusal(docker_make(tmp_path, "destroy"), "destroy", "stack 'dev'", "without a terminal", "YES=1")
    assert "destroy" not in (tmp_path / "pulumi.log").read_text()
    confirmed = docker_make(tmp_path, "destroy", "YES=1")
    assert confirmed.returncode == 0, confirmed.stderr
    assert "destroy --stack dev --yes" in (tmp_path / "pulumi.log").read_text()


@pytest.mark.parametrize(("typed", "destroyed"), [("dev", True), ("yes", False)])
def test_destroy_on_a_terminal_asks_for_the_stack_name(tmp_path: Path, typed: str, destroyed: bool) -> None:
    controller, terminal = pty.openpty()
    os.write(controller, f"{typed}\n".encode())
    try:
        result = docker_make(tmp_path, "destroy", stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)
    assert ("destroy --stack dev --yes" in (tmp_path / "pulumi.log").read_text()) is destroyed
    assert result.returncode == (0 if destroyed else 2), result.stderr
    if not destroyed:
        prompt = "Destroy stack 'dev': every container, volume and row of data? Type its name to confirm: "
        assert our_lines(result)[-1] == prompt + "make destroy: not confirmed; nothing was removed"


def test_verify_runs_the_verify_module_for_an_existing_stack_only(tmp_path: Path) -> None:
    unknown = docker_make(tmp_path, "verify", "STACK=nope")
    assert unknown.returncode == 2
    assert our_lines(unknown)[0].startswith("make verify: no stack 'nope' in this checkout's state")
    known = docker_make(tmp_path, "verify", "ALERT=1")  # the stand-in has no outputs to give
    assert known.returncode == 2
    assert known.stderr.strip().splitlines()[0].startswith("verify: no outputs for stack 'dev'")
    assert "stack output --json --show-secrets --stack dev" in (tmp_path / "pulumi.log").read_text()


def test_a_select_that_fails_for_another_reason_says_what_pulumi_said(tmp_path: Path) -> None:
    pulumi = recording_pulumi(tmp_path, existing=("dev",), select_exit=255)
    for target in ("outputs", "up"):
        result = run_with_state(target, pulumi, tmp_path, "STACK=alice")
        assert result.returncode == 2
        assert our_lines(result) == [f"make {target}: 'pulumi stack select alice' failed (exit 255): {SELECT_FAILURE}"]
    assert "stack init" not in (tmp_path / "pulumi.log").read_text()


@pytest.mark.parametrize("variable", ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"])
def test_an_empty_passphrase_is_refused_before_pulumi_uses_it(tmp_path: Path, variable: str) -> None:
    path = recording_pulumi(tmp_path, existing=("dev",))
    env = {"PATH": str(path), "HOME": str(tmp_path), variable: ""}
    result = subprocess.run(["make", "outputs"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=False)  # fmt: skip
    assert result.returncode == 2
    assert our_lines(result) == [
        f"make outputs: {variable} is set but empty: Pulumi would use the empty value; unset it "
        "(a passphrase is generated into .pulumi-passphrase) or give it a value"
    ]
    assert not (tmp_path / "pulumi.log").exists()


def test_forced_destroy_tells_the_schema_provider_and_says_what_it_does(tmp_path: Path) -> None:
    plain = docker_make(tmp_path, "destroy", "YES=1")
    assert plain.returncode == 0, plain.stderr
    assert "force=" not in (tmp_path / "pulumi.log.env").read_text()
    forced = docker_make(tmp_path, "destroy", "YES=1", "FORCE=1")
    assert forced.returncode == 0, forced.stderr
    assert our_lines(forced) == [
        f"make destroy: FORCE=1: a ClickHouse that does not answer within {FORCE_DELETE_WAIT_S:g} s is not asked "
        "to drop the schema; "
        "its data goes with the stack's volumes"
    ]
    assert "force=1 destroy --stack dev --yes" in (tmp_path / "pulumi.log.env").read_text()


# --- make check: a stack's configuration without the Pulumi CLI or Docker -----------------------------------------


@pytest.fixture
def stack_file(new_stack: str) -> Iterator[tuple[str, Path]]:
    yield new_stack, REPO_ROOT / f"Pulumi.{new_stack}.yaml"


def test_make_check_accepts_the_dev_stack_without_pulumi_or_docker(tmp_path: Path) -> None:
    result = run_make("check", bin_dir(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "make check: Pulumi.dev.yaml: 4 keys set, the rest default: accepted"


def test_make_check_names_every_bad_key_and_suggests_a_close_one(tmp_path: Path, stack_file) -> None:
    name, path = stack_file
    path.write_text(
        "config:\n"
        "  pipelining-data:topicPartiton: 6\n"  # misspelt
        "  pipelining-data:kafkaMemoryMb: 64\n"  # below the broker's floor
        "  pipelining-data:reportIntervalSeconds: 1e12\n"
        "  pipelining-data:alertWebhookUrl:\n"
        "    secure: v1:Zm9vYmFy\n"  # a secret: ciphertext, present, not checkable here
        "  docker:host: unix:///var/run/docker.sock\n"  # a provider's key: not ours to check
    )
    result = run_make("check", bin_dir(tmp_path), f"STACK={name}")
    assert result.returncode == 2
    assert our_lines(result) == [
        "make check: pipelining-data:reportIntervalSeconds='1e12' is not accepted: expected a number from 0 to 10",
        "make check: pipelining-data:kafkaMemoryMb='64' is not accepted: expected an integer from 768 to 65536",
        "make check: pipelining-data:topicPartiton is not a setting of this project; did you mean topicPartitions? "
        "(see docs/deploying.md, 'Configuration')",
    ]


def test_make_check_counts_a_secret_as_set(tmp_path: Path, stack_file) -> None:
    name, path = stack_file
    path.write_text("config:\n  pipelining-data:runbookUrl:\n    secure: v1:Zm9v\n  pipelining-data:kafkaBrokers: 3\n")
    result = run_make("check", bin_dir(tmp_path), f"STACK={name}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        f"make check: Pulumi.{name}.yaml: 2 keys set, the rest default: accepted; "
        "secrets not checked (ciphertext): runbookUrl"
    )


def test_make_check_refuses_a_file_that_is_not_yaml_in_one_line(tmp_path: Path, stack_file) -> None:
    name, path = stack_file
    path.write_text("config: [\n")
    result = run_make("check", bin_dir(tmp_path), f"STACK={name}")
    assert result.returncode == 2
    (line,) = our_lines(result)
    assert line.startswith(f"make check: Pulumi.{name}.yaml: not valid YAML at line 2: ")


def test_make_up_checks_the_config_before_anything_else(tmp_path: Path, stack_file) -> None:
    name, path = stack_file
    path.write_text("config:\n  pipelining-data:kafkaBroker: 2\n")
    result = run_make("up", bin_dir(tmp_path), f"STACK={name}")  # no Pulumi CLI, no docker either
    assert result.returncode == 2
    assert our_lines(result) == [
        "make check: pipelining-data:kafkaBroker is not a setting of this project; did you mean kafkaBrokers? "
        "(see docs/deploying.md, 'Configuration')"
    ]


def test_make_clean_removes_what_make_made_and_keeps_the_state_and_its_passphrase(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy(REPO_ROOT / "Makefile", checkout / "Makefile")
    made = [".venv/bin/python", ".venv-mutate/x", "mutants/x", ".pytest_cache/x", ".ruff_cache/x",
            ".mypy_cache/x", "build/x", "pipelining_data.egg-info/PKG-INFO", "infra/__pycache__/x.pyc"]  # fmt: skip
    kept = [".pulumi/stacks/pipelining-data/dev.json", ".pulumi-passphrase", "infra/settings.py", "Pulumi.alice.yaml"]
    for name in made + kept:
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / name).write_text("x")
    result = subprocess.run(["make", "clean"], cwd=checkout, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert [name for name in made if (checkout / name.split("/")[0]).exists() and name.split("/")[0] != "infra"] == []
    assert not (checkout / "infra" / "__pycache__").exists()
    assert all((checkout / name).exists() for name in kept)
    assert "kept .pulumi/ and .pulumi-passphrase" in result.stdout


@pytest.mark.parametrize(("version", "system", "warned"), [
    ("27.5.1", "Ubuntu 24.04.1 LTS", True), ("28.3.2", "Ubuntu 24.04.1 LTS", True),
    ("28.3.3", "Ubuntu 24.04.1 LTS", False), ("29.0.0", "Fedora Linux 42", False), ("", "Ubuntu 24.04.1 LTS", False),
    ("27.5.1", "Docker Desktop", False),
])  # fmt: skip
def test_make_up_warns_about_a_docker_that_leaks_loopback_ports(
    tmp_path: Path, version: str, system: str, warned: bool
) -> None:
    """Before Engine 28.0 (moby/moby#45610) and, after a firewalld reload, before 28.3.3 (CVE-2025-54388) a port
    published on 127.0.0.1 is reachable from the local network (docs/upstream.md): the Linux host's own firewall
    rules, which Docker Desktop's VM does not touch."""
    path = recording_pulumi(tmp_path, existing=("dev",))
    (path / "docker").write_text(
        f'#!/bin/sh\ncase "$1" in version) echo "{version}" ;; info) echo "{system}" ;; esac\nexit 0\n'
    )
    env = {"PATH": str(path), "HOME": str(tmp_path), "PULUMI_CONFIG_PASSPHRASE": "test-only"}
    result = subprocess.run(["make", "up"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
                            check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == ([
        f"make up: warning: Docker Engine {version} is older than 28.3.3: ports published on 127.0.0.1 can be "
        "reached from the local network (docs/security.md); upgrade Docker"
    ] if warned else [])  # fmt: skip


def test_a_kubernetes_stack_gets_its_platform_and_kraft_and_no_ports(tmp_path: Path, new_stack: str) -> None:
    """`make stack NAME=… PLATFORM=kubernetes`: a config the program accepts on kubernetes once a registry is set."""
    from infra.settings import SettingsError, settings_from  # noqa: PLC0415
    from testbed.program import PROJECT  # noqa: PLC0415

    result = run_with_state("stack", recording_pulumi(tmp_path), tmp_path, f"NAME={new_stack}", "PLATFORM=kubernetes")
    assert result.returncode == 0, result.stderr
    stored = yaml.safe_load((REPO_ROOT / f"Pulumi.{new_stack}.yaml").read_text())["config"]
    config = {key.removeprefix(f"{PROJECT}:"): str(value) for key, value in stored.items()}
    assert config == {"platform": "kubernetes", "kafkaMode": "kraft"}
    with pytest.raises(SettingsError, match=r"^pipelining-data:imageRegistry is required on platform kubernetes"):
        settings_from(config, PROJECT, new_stack)
    assert settings_from({**config, "imageRegistry": "ghcr.io/team"}, PROJECT, new_stack).namespace == f"pd-{new_stack}"


def test_a_platform_other_than_the_stack_file_s_is_refused(tmp_path: Path, new_stack: str) -> None:
    """`make stack NAME=x PLATFORM=…` for a stack whose file exists: the file decides, and a PLATFORM that says
    otherwise is refused rather than silently ignored."""
    created = run_with_state("stack", recording_pulumi(tmp_path), tmp_path, f"NAME={new_stack}", "PLATFORM=kubernetes")
    assert created.returncode == 0, created.stderr
    pulumi = recording_pulumi(tmp_path, existing=(new_stack,))
    other = run_with_state("stack", pulumi, tmp_path, f"NAME={new_stack}", "PLATFORM=docker")
    refusal(other, "stack", "PLATFORM='docker'", f"Pulumi.{new_stack}.yaml", "platform kubernetes")
    same = run_with_state("stack", pulumi, tmp_path, f"NAME={new_stack}", "PLATFORM=kubernetes")
    assert same.returncode == 0, same.stderr


def test_a_bad_platform_is_one_line(tmp_path: Path, new_stack: str) -> None:
    result = run_with_state("stack", recording_pulumi(tmp_path), tmp_path, f"NAME={new_stack}", "PLATFORM=k8s")
    assert result.returncode == 2
    assert our_lines(result) == ["make stack: PLATFORM='k8s' is not accepted: expected docker or kubernetes"]
    assert not (REPO_ROOT / f"Pulumi.{new_stack}.yaml").exists()


def test_platform_up_drives_the_platform_project_without_docker(tmp_path: Path) -> None:
    pulumi = recording_pulumi(tmp_path)
    (pulumi / "docker").unlink()
    result = run_with_state("platform-up", pulumi, tmp_path)
    assert result.returncode == 0, result.stderr
    log = (tmp_path / "pulumi.log").read_text().splitlines()
    assert log[0] == "-C platform stack select --create platform"
    assert log[1].startswith("-C platform up --stack platform --yes --policy-pack ")


def test_every_port_key_is_one_a_new_stack_leaves_out() -> None:
    """`make stack` drops dev's host ports by the program's own list: a port key missing from it would be copied,
    and the two stacks would publish on the same port."""
    assert {key.name for key in KEYS if key.name.endswith("Port")} == set(PORT_KEYS)


def test_a_cli_older_than_exit_code_6_still_creates_a_missing_stack(tmp_path: Path, new_stack: str) -> None:
    pulumi = recording_pulumi(tmp_path, select_exit=255, not_found_before_exit_6=True)
    result = run_with_state("up", pulumi, tmp_path, f"STACK={new_stack}")
    assert result.returncode == 0, result.stderr
    assert f"stack init {new_stack}" in (tmp_path / "pulumi.log").read_text()


def test_a_new_stack_leaves_out_dev_s_ports_and_secrets_and_says_which() -> None:
    """dev's secrets are ciphertext under dev's key: copied, the new stack could not decrypt them."""
    dev = {"encryptionsalt": "v1:salt", "config": {
        "pipelining-data:kafkaBrokers": 3, "pipelining-data:grafanaPort": 3000,
        "pipelining-data:alertWebhookUrl": {"secure": "v1:Zm9v"}, "docker:host": "unix:///x"}}  # fmt: skip
    document, secrets = new_stack_config(dev, "docker")
    assert document == {"config": {"pipelining-data:kafkaBrokers": 3, "docker:host": "unix:///x"}}
    assert secrets == ["alertWebhookUrl"]
    kubernetes, _ = new_stack_config(dev, "kubernetes")
    assert kubernetes["config"]["pipelining-data:platform"] == "kubernetes"
    assert kubernetes["config"]["pipelining-data:kafkaMode"] == "kraft"


def test_make_help_lists_every_target_a_user_runs() -> None:
    help_command = ["make", "--no-print-directory", "help"]
    listed = subprocess.run(help_command, cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    phony = (REPO_ROOT / "Makefile").read_text().split(".PHONY:", 1)[1].splitlines()[0].split()
    assert {line.split()[1] for line in listed.splitlines()} == set(phony) - {"deploy-venv"}
