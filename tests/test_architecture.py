"""The shape the code keeps: a foundation (`core`) that imports nothing of ours, siblings above it that do not
reach into each other's internals, and one composition root that reads the stack's configuration."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from testbed.repo import REPO_ROOT

OURS = {"core", "generator", "ddl", "dashboards", "policy", "verify", "infra"}
# what each package may import of ours (itself always)
ALLOWED = {
    "core": set(),
    "generator": {"core"},  # the image holds core/ and generator/ only
    "ddl": {"core"},
    "dashboards": {"core", "ddl"},
    "policy": {"core"},  # the pack judges the program: it must not stand on it
    "verify": {"core", "ddl", "dashboards"},
    "infra": {"core", "ddl", "dashboards"},
}


def modules(package: str) -> list[Path]:
    return sorted((REPO_ROOT / package).rglob("*.py"))


def imported_packages(path: Path) -> set[str]:
    """The top-level packages of ours that `path` imports, anywhere in it (functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_what_it_stands_on(package: str) -> None:
    for path in modules(package):
        extra = imported_packages(path) - ALLOWED[package] - {package}
        assert not extra, f"{path.relative_to(REPO_ROOT)} imports {sorted(extra)}"


def test_every_package_is_ruled() -> None:
    packages = {path.parent.name for path in REPO_ROOT.glob("*/__init__.py")}
    assert packages - {"tests", "testbed", "bench"} == set(ALLOWED)


def test_only_the_composition_root_reads_the_stack_s_config() -> None:
    """`infra/settings.py` turns Pulumi's config into one typed, validated object; `infra/stack.py` builds it once
    and hands each component what it needs. No other module reads config but the platform stack's program, the
    root of a Pulumi project of its own (platform/, docs/kubernetes.md)."""
    readers = {
        path.relative_to(REPO_ROOT).as_posix()
        for package in OURS
        for path in modules(package)
        if re.search(r"pulumi\.Config\(|pulumi\.runtime\.config|from pulumi\.runtime\.config import", path.read_text())
    }
    assert readers == {"infra/settings.py", "infra/kubernetes/platform_stack.py"}
    loaders = {
        path.relative_to(REPO_ROOT).as_posix()
        for path in modules("infra")
        if re.search(r"\bload_settings\(", path.read_text()) and path.name != "settings.py"
    }
    assert loaders == {"infra/stack.py"}


def test_the_generator_image_holds_every_module_the_generator_imports() -> None:
    """The image is built from `core/` and `generator/` alone (Dockerfile, .dockerignore): an import of any other
    package would fail only in the container, at start."""
    dockerfile = (REPO_ROOT / "generator" / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+)/\*\.py /app/\1/$", dockerfile, re.MULTILINE))
    admitted = set(re.findall(r"^!(\w+)/\*\.py$", (REPO_ROOT / ".dockerignore").read_text(), re.MULTILINE))
    assert copied == admitted == {"generator"} | ALLOWED["generator"]


def component_signatures() -> dict[str, list[str]]:
    """Every component class under infra/ (Docker and Kubernetes alike) -> the annotations of its __init__."""
    found = {}
    for path in modules("infra"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                ast.unparse(base).endswith("ComponentResource") for base in node.bases
            ):
                init = next(item for item in node.body if isinstance(item, ast.FunctionDef) and item.name == "__init__")
                arguments = [*init.args.args, *init.args.kwonlyargs]
                found[node.name] = [ast.unparse(arg.annotation) for arg in arguments if arg.annotation is not None]
    return found


def test_components_of_either_platform_take_typed_args_not_the_settings() -> None:
    """A component is built from what its platform's composition root (infra/stack.py, infra/kubernetes/stack.py)
    hands it, so it can be built and tested alone and shows in its signature what it reads."""
    signatures = component_signatures()
    assert {"KafkaCluster", "StrimziKafka", "KafkaUiChart", "GeneratorDeployment", "StackNamespace"} <= set(signatures)
    assert not {name: annotations for name, annotations in signatures.items() if "Settings" in annotations}
