"""Pinned means immutable: `make pin` writes each pulled image's digest into the defaults and the generator's
base image (a docker CLI stand-in answers as `docker buildx imagetools inspect` does); the Python the deploy and
the generator image install is a lock with a hash for every file, installed with `--require-hashes`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.images import pin_level
from infra.settings import KEYS
from testbed.repo import REPO_ROOT

DIGEST = "sha256:" + "e" * 64


def docker_stand_in(directory: Path, answer: str, code: int = 0) -> Path:
    directory.mkdir(exist_ok=True)
    script = directory / "docker"
    stream = ">&2" if code else ""  # shell builtins only: PATH holds nothing else
    script.write_text(f"#!/bin/sh\necho \"$@\" >> {directory}/calls\nprintf '%s\\n' '{answer}' {stream}\nexit {code}\n")
    script.chmod(0o755)
    return directory


def checkout_copy(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    for relative in ("infra/settings.py", "generator/Dockerfile"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / relative, root / relative)
    return root


def run_pin(root: Path, path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{path}:{os.path.dirname(sys.executable)}"}
    return subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "pin_images.py"), "--root", str(root)],
                          env=env, capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def test_make_pin_writes_each_tags_digest_into_the_defaults_and_the_dockerfile(tmp_path: Path) -> None:
    root = checkout_copy(tmp_path)
    index = f'{{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "{DIGEST}"}}'
    path = docker_stand_in(tmp_path / "bin", index)
    result = run_pin(root, path)
    assert result.returncode == 0, result.stderr
    images = [key.default for key in KEYS if key.name.endswith("Image")]
    settings = (root / "infra" / "settings.py").read_text()
    for image in images:
        assert f'_image("{image}@{DIGEST}")' in settings
        assert pin_level(f"{image}@{DIGEST}") == "digest"
    assert (
        re.findall(r"^FROM (\S+)", (root / "generator" / "Dockerfile").read_text(), re.M)
        == [f"python:3.11.14-slim-bookworm@{DIGEST}"] * 2
    )
    calls = (path / "calls").read_text().splitlines()
    assert "buildx imagetools inspect grafana/grafana:12.4.5 --format {{json .Manifest}}" in calls
    assert result.stdout.splitlines()[0].startswith("pin: ")
    again = run_pin(root, path)  # a digest already there is resolved again from its tag, never doubled
    assert again.returncode == 0 and (root / "infra" / "settings.py").read_text() == settings


def test_make_pin_changes_nothing_when_a_tag_cannot_be_resolved(tmp_path: Path) -> None:
    root = checkout_copy(tmp_path)
    before = (root / "infra" / "settings.py").read_text()
    path = docker_stand_in(tmp_path / "bin", "ERROR: failed to authorize: no such host", code=1)
    result = run_pin(root, path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "make pin: could not resolve apache/kafka:4.3.1: ERROR: failed to authorize: no such host; nothing was changed"
    ]
    assert (root / "infra" / "settings.py").read_text() == before


def test_make_pin_without_docker_is_one_line_and_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_pin(checkout_copy(tmp_path), empty)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "make pin: the docker CLI is not on PATH: install Docker (it reads each tag's digest from its registry)"
    ]


@pytest.mark.parametrize(
    ("reference", "level"),
    [
        ("grafana/grafana:12.4.5", "tag"),
        ("localhost:5000/generator:1995430acd190983", "tag"),
        (f"localhost:5000/generator@{DIGEST}", "digest"),
        ("localhost:5000/generator", None),  # the registry's port is not a tag
        ("localhost:5000/generator-1.2.3", None),  # nor is it one when the repository's name holds a version
        (":1.2.3", None),  # a tag without a repository names no image
    ],
)
def test_pin_level_reads_a_tag_only_after_the_repository(reference: str, level: str | None) -> None:
    assert pin_level(reference) == level


def pins(path: Path) -> dict[str, str]:
    """name → version of every `name==version` line (comments and options left out)."""
    found = {}
    for line in path.read_text().splitlines():
        if match := re.match(r"([A-Za-z0-9_.-]+)==([^\s;\\]+)", line):
            found[match[1].lower().replace("_", "-")] = match[2]
    return found


def lock_entries(path: Path) -> list[str]:
    """Each requirement of a lock with its continuation lines joined."""
    text = path.read_text().replace("\\\n", " ")
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize(
    ("requirements", "lock"),
    [("requirements.txt", "requirements.lock"), ("generator/requirements.txt", "generator/requirements.lock")],
)
def test_every_locked_requirement_is_hashed_and_matches_its_pins(requirements: str, lock: str) -> None:
    entries = lock_entries(REPO_ROOT / lock)
    assert entries and all(re.search(r"--hash=sha256:[0-9a-f]{64}", entry) for entry in entries), lock
    locked, wanted = pins(REPO_ROOT / lock), pins(REPO_ROOT / requirements)
    assert {name: locked.get(name) for name in wanted} == wanted  # the lock is requirements.txt, resolved
    assert not any(line.startswith("-e") for line in entries)  # an editable install cannot be hashed


def test_the_deploy_and_the_generator_image_install_with_require_hashes() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    deploy = makefile[makefile.index("$(DEPLOY_STAMP):") :].split("\n\n")[0]
    assert "pip install --disable-pip-version-check --require-hashes -r requirements.lock" in deploy
    assert "--no-deps --no-build-isolation -e ." in deploy  # this repository: no dependency of its own unhashed
    dockerfile = (REPO_ROOT / "generator" / "Dockerfile").read_text()
    assert "--require-hashes --only-binary=:all: -r /tmp/requirements.lock" in dockerfile
    assert "COPY generator/requirements.lock /tmp/requirements.lock" in dockerfile
