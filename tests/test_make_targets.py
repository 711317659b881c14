"""`make up` / `make preview` / `make destroy` refuse to start without their tools, in one clear line."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

BASE_TOOLS = ("make", "bash", "sh", "env", "dirname", "head", "base64", "grep", "mkdir")


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
