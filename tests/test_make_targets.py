"""`make up` / `preview` / `destroy` / `stack` / `stacks`: one clear line and exit 2 without their tools; how
the script drives the Pulumi CLI (recorded by a stand-in, as there is no CLI here)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

BASE_TOOLS = ("make", "bash", "sh", "env", "dirname", "head", "base64", "grep", "mkdir", "cat", "test", "mktemp", "rm")


def bin_dir(tmp_path: Path, fakes: dict[str, int] | None = None) -> Path:
    """A PATH with the basic tools, and `fakes` as commands that exit with the given code."""
    directory = tmp_path / "bin"
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


@pytest.mark.parametrize("target", ["up", "preview", "destroy"])
def test_without_the_pulumi_cli_make_exits_2_with_one_line(tmp_path: Path, target: str) -> None:
    result = run_make(target, bin_dir(tmp_path))
    assert result.returncode == 2
    (line,) = our_lines(result)
    assert line.startswith(f"make {target}: the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/")


def test_without_a_reachable_docker_engine_make_up_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run_make("up", bin_dir(tmp_path, {"pulumi": 0, "docker": 1}))
    assert result.returncode == 2
    assert our_lines(result) == [
        "make up: the Docker engine is not reachable: start Docker (or set DOCKER_HOST) and check with 'docker info'"
    ]


def test_a_bad_stack_name_is_refused(tmp_path: Path) -> None:
    result = run_make("preview", bin_dir(tmp_path, {"pulumi": 0, "docker": 0}), "STACK=../x")
    assert result.returncode == 2
    assert our_lines(result) == [
        "make preview: STACK='../x' is not accepted: expected letters, digits, '.', '_' or '-'"
    ]


def recording_pulumi(tmp_path: Path, bind_address: str = "", existing: tuple[str, ...] = ()) -> Path:
    """A stand-in for the Pulumi CLI that records its arguments and the backend it was pointed at: how the
    script drives Pulumi is what is tested here (no engine runs). `stack select` succeeds for `existing`
    stacks only, and fails as the CLI does for any other (`no stack named ... found`)."""
    directory = bin_dir(tmp_path, {"docker": 0})
    log = tmp_path / "pulumi.log"
    (directory / "pulumi").write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        f'echo "backend=$PULUMI_BACKEND_URL pwd=$PWD" >> {log}.env\n'
        f'eval last=\\${{$#}}; case "$last" in *pipelining-data-policy*) cat "$last" >> {log} ;; esac\n'
        'case "$1 $2" in\n'
        f'  "stack select") case " {" ".join(existing)} " in *" $3 "*) exit 0 ;; esac; exit 255 ;;\n'
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
    assert result.returncode == 2
    assert our_lines(result) == ["make stack: NAME is required, e.g. make stack NAME=alice"]


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
    assert not any(key in config for key in ("grafanaPort", "kafkaUiPort", "clickhousePort", "kafkaPort"))
    assert f"stack init {new_stack}" in (tmp_path / "pulumi.log").read_text()


@pytest.mark.parametrize("bind_address", ["", "0.0.0.0"])
def test_preview_applies_the_policy_pack(tmp_path: Path, new_stack: str, bind_address: str) -> None:
    pulumi = recording_pulumi(tmp_path, bind_address, existing=(new_stack,))
    result = run_with_state("preview", pulumi, tmp_path, f"STACK={new_stack}")
    assert result.returncode == 0, result.stderr
    log = (tmp_path / "pulumi.log").read_text().splitlines()
    (preview,) = [line for line in log if line.startswith("preview")]
    assert f"--stack {new_stack} --diff --policy-pack {REPO_ROOT}/policy" in preview
    if bind_address:
        pack_config = json.loads(log[log.index(preview) + 1])  # what the file held when Pulumi ran
        assert pack_config == {"loopback-host-ports": {"allowedAddresses": ["0.0.0.0"]}}
        assert not Path(preview.split("--policy-pack-config ")[1]).exists()  # removed afterwards
    else:
        assert "--policy-pack-config" not in preview


@pytest.mark.parametrize("target", ["preview", "destroy", "outputs"])
def test_an_unknown_stack_is_one_line_and_never_created(tmp_path: Path, target: str) -> None:
    result = run_with_state(target, recording_pulumi(tmp_path, existing=("dev",)), tmp_path, "STACK=dve")
    assert result.returncode == 2
    assert our_lines(result) == [
        f"make {target}: no stack 'dve' in this checkout's state: 'make stacks' lists them, "
        "'make stack NAME=dve' creates it"
    ]
    assert "stack init" not in (tmp_path / "pulumi.log").read_text()


def test_up_creates_a_missing_stack(tmp_path: Path, new_stack: str) -> None:
    result = run_with_state("up", recording_pulumi(tmp_path), tmp_path, f"STACK={new_stack}")
    assert result.returncode == 0, result.stderr
    log = (tmp_path / "pulumi.log").read_text()
    assert f"stack init {new_stack}" in log and f"up --stack {new_stack} --yes" in log


@pytest.mark.parametrize(("target", "variable"), [("stack", "NAME"), ("outputs", "STACK")])
def test_a_name_with_a_space_is_refused(tmp_path: Path, target: str, variable: str) -> None:
    result = run_with_state(target, recording_pulumi(tmp_path), tmp_path, f"{variable}=a b")
    assert result.returncode == 2
    assert our_lines(result) == [
        f"make {target}: {variable}='a b' is not accepted: expected letters, digits, '.', '_' or '-'"
    ]
    assert not (tmp_path / "pulumi.log").exists()


def test_pulumi_runs_in_the_checkout_with_the_backend_of_pulumi_yaml(tmp_path: Path) -> None:
    """Plain `pulumi` commands in the checkout and `make` reach the same stacks: both use Pulumi.yaml's
    backend (a relative file:// URL is taken from the directory pulumi runs in; docs/upstream.md)."""
    assert yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())["backend"] == {"url": "file://."}
    run_with_state("outputs", recording_pulumi(tmp_path, existing=("dev",)), tmp_path)
    recorded = set((tmp_path / "pulumi.log.env").read_text().splitlines())
    assert recorded == {f"backend= pwd={REPO_ROOT}"}
