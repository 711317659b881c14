"""What a new user reads and runs first (issue 23): help texts that say what a command does, docs that agree with
what the commands print."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

from testbed.repo import REPO_ROOT, script


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_schema_render_help_prints_usage_not_the_ddl() -> None:
    result = run(sys.executable, "-m", "ddl.render", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m ddl.render [-h]")
    assert "CREATE" not in result.stdout
    assert run(sys.executable, "-m", "ddl.render").stdout.startswith("CREATE DATABASE")  # `make sql` still does


def _render_docs() -> Any:
    return script("render_docs")


def test_make_docs_says_so_when_nothing_changed(capsys: pytest.CaptureFixture[str]) -> None:
    render_docs = _render_docs()
    assert render_docs.main([]) == 0  # the checkout is current (tests/infra/test_settings.py)
    assert capsys.readouterr().out == f"make docs: nothing changed ({len(render_docs.GENERATED)} files up to date)\n"


def make_help() -> dict[str, str]:
    """`make help`'s lines by target: `  make <target>  <what it does>`."""
    lines = run("make", "--no-print-directory", "help").stdout.splitlines()
    return {line.split()[1]: line.split(None, 2)[2] for line in lines}


def phony_targets() -> set[str]:
    (declared,) = re.findall(r"^\.PHONY: (.*)$", (REPO_ROOT / "Makefile").read_text(), re.MULTILINE)
    return set(declared.split()) - {"deploy-venv"}  # an internal step of the deploy targets, not a command


def test_make_help_lists_every_target_with_what_it_does() -> None:
    described = make_help()
    assert set(described) == phony_targets()
    assert all(len(text.split()) >= 3 for text in described.values()), described


def test_make_help_names_the_folders_make_docs_writes() -> None:
    """Whatever `make docs` rewrites (render_docs.GENERATED and the Kubernetes goldens) lies under a place its
    help line names: a user can tell what a `make docs` diff will touch."""
    render_docs = _render_docs()
    written = [name for name, _ in render_docs.GENERATED] + ["docs/generated/kubernetes-pipeline.yaml"]
    places = {name if "/" not in name else name.split("/")[0] + "/" for name in written}
    assert all(place in make_help()["docs"] for place in places), (places, make_help()["docs"])


def test_the_readme_mentions_every_make_target() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    missing = [target for target in sorted(phony_targets()) if f"make {target}" not in readme]
    assert missing == []


def test_development_md_links_every_golden_file() -> None:
    """A reviewer reads the goldens in a pull request: development.md names each one `make docs` keeps."""
    text = (REPO_ROOT / "docs" / "development.md").read_text()
    goldens = sorted(path.name for path in (REPO_ROOT / "docs" / "generated").iterdir())
    assert [name for name in goldens if f"generated/{name}" not in text] == []
    stated = re.search(r"\b(\w+) golden files\b", text)
    numbers = {"three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
    assert stated and numbers.get(stated[1]) == len(goldens), stated
