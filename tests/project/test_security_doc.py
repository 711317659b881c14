"""docs/security.md names the test that pins each statement: every test it names exists, and every policy it
names is in the pack."""

from __future__ import annotations

import ast
import re

from policy.checks import POLICIES
from testbed.repo import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "security.md").read_text()


def test_every_test_the_security_page_names_exists() -> None:
    named = re.findall(r"`(tests/[a-z_/]+\.py)(?:::\s*([a-z_0-9]+))?`", DOC.replace("::\n", "::"))
    assert len(named) >= 15
    for path, function in named:
        source = REPO_ROOT / path
        assert source.exists(), path
        if function:
            defined = {
                node.name for node in ast.walk(ast.parse(source.read_text())) if isinstance(node, ast.FunctionDef)
            }
            assert function in defined, f"{path}::{function}"


def test_every_policy_the_security_page_names_is_in_the_pack() -> None:
    named = set(re.findall(r"polic(?:y|ies) `([a-z-]+)`(?:, `([a-z-]+)`)?", DOC))
    names = {name for pair in named for name in pair if name}
    assert names and names <= {policy.name for policy in POLICIES}, names
