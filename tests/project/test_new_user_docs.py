"""What a new user reads and runs first (issue 23): help texts that say what a command does, docs that agree with
what the commands print."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from testbed.repo import REPO_ROOT


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_schema_render_help_prints_usage_not_the_ddl() -> None:
    result = run(sys.executable, "-m", "ddl.render", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m ddl.render [-h]")
    assert "CREATE" not in result.stdout
    assert run(sys.executable, "-m", "ddl.render").stdout.startswith("CREATE DATABASE")  # `make sql` still does


def test_make_docs_says_so_when_nothing_changed(capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    try:
        import render_docs  # noqa: PLC0415 -- a script, not a package
    finally:
        sys.path.remove(str(REPO_ROOT / "scripts"))
    assert render_docs.main([]) == 0  # the checkout is current (tests/infra/test_settings.py)
    assert capsys.readouterr().out == f"make docs: nothing changed ({len(render_docs.GENERATED)} files up to date)\n"


def test_make_help_says_where_make_docs_writes_and_lists_clean_and_check() -> None:
    lines = run("make", "--no-print-directory", "help").stdout.splitlines()
    targets = {line.split()[1]: line for line in lines}
    assert "README" not in targets["docs"] and "docs/" in targets["docs"]
    assert "never .pulumi/ state or its passphrase" in targets["clean"]
    assert "without Pulumi or Docker" in targets["check"]


def test_readme_says_how_big_the_venv_is_and_what_clean_keeps() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert re.search(r"`\.venv`, .*about 1\.2 GB", readme)
    described = readme.split("`make clean` (removes", 1)[1][:500]  # the targets' list
    assert "`.venv`" in described and "never touches `.pulumi/`" in described and "`.pulumi-passphrase`" in described
    assert "make check" in readme


def test_development_md_counts_its_golden_files_and_gives_a_spread_for_the_generator() -> None:
    text = (REPO_ROOT / "docs" / "development.md").read_text()
    assert "two golden files" not in text and "three golden files" in text
    assert "and this\nthe configuration" not in text
    assert "vary" in text.split("generator ratio_vs_raw", 1)[1][:400]
