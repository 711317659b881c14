"""The pull-request workflow: valid for actionlint, least privilege, and the preview it promises."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from testbed.repo import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "preview.yml"


def actionlint() -> str:
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("actionlint is installed from requirements-dev.txt on Linux only (its wheel carries a binary)")
    return found


def test_actionlint_accepts_every_workflow() -> None:
    workflows = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    result = subprocess.run([actionlint(), *map(str, workflows)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("${{ env.PREVIEW_STACK }}", "${{ env.PREVIEW_STACK "))
    result = subprocess.run([actionlint(), str(broken)], capture_output=True, text=True, check=False)
    assert result.returncode == 1


def test_preview_job_is_least_privilege_and_comments_once_per_pr() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "pull_request.number" in workflow["concurrency"]["group"]
    preview = workflow["jobs"]["preview"]
    assert preview["needs"] == "test"
    assert preview["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert preview["environment"] == "preview"  # where required reviewers can hold secret-bearing runs
    step = preview_step(workflow)
    assert step["with"]["command"] == "preview" and step["with"]["diff"] is True
    assert step["with"]["edit-pr-comment"] is True
    test_job = workflow["jobs"]["test"]
    assert any(step.get("run") == "make lint test" for step in test_job["steps"])
    assert all(step.get("with", {}).get("cache") == "pip" for step in test_job["steps"] if "setup-python" in
               str(step.get("uses")))  # fmt: skip


def preview_step(workflow: dict) -> dict:
    (step,) = [step for step in workflow["jobs"]["preview"]["steps"] if "pulumi/actions@" in str(step.get("uses"))]
    return step


def workflows() -> dict[str, dict]:
    return {path.name: yaml.safe_load(path.read_text()) for path in (REPO_ROOT / ".github" / "workflows").glob("*.yml")}


def test_every_action_is_pinned_by_commit_with_its_tag_beside_it() -> None:
    """A tag can be moved to other code; a commit SHA cannot. The comment says which release it is."""
    pinned = re.compile(r"^\s*(?:- )?uses: [\w.-]+/[\w.-]+@[0-9a-f]{40}  # v\d+\.\d+\.\d+$")
    for path in (REPO_ROOT / ".github" / "workflows").glob("*.yml"):
        uses = [line for line in path.read_text().splitlines() if re.match(r"^\s*(- )?uses:", line)]
        assert uses, path.name
        for line in uses:
            assert pinned.match(line), f"{path.name}: {line.strip()}"


def test_checkouts_leave_no_token_in_git_config() -> None:
    for name, workflow in workflows().items():
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                if "actions/checkout@" in str(step.get("uses")):
                    assert step["with"]["persist-credentials"] is False, name


def test_secrets_reach_only_the_preview_step() -> None:
    """Lint, tests, installs and the backend choice run pull-request code or read its inputs: none of them gets a
    secret's value (the backend step is told only whether a secret exists)."""
    whether_set = re.compile(r"\$\{\{ secrets\.\w+ != '' \}\}")
    for name, workflow in workflows().items():
        assert "secrets." not in yaml.safe_dump(workflow.get("env", {})), name
        for job_name, job in workflow["jobs"].items():
            assert "secrets." not in yaml.safe_dump(job.get("env", {})), (name, job_name)
            for step in job["steps"]:
                if step.get("with", {}).get("command") == "preview":
                    continue
                for value in step.get("env", {}).values():
                    assert "secrets." not in value or whether_set.fullmatch(value), (name, step)


def test_the_policy_pack_is_the_base_branch_s() -> None:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["preview"]["steps"]
    (base,) = [step for step in steps if step.get("with", {}).get("path") == ".base"]
    assert base["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert preview_step({"jobs": {"preview": {"steps": steps}}})["with"]["policyPacks"] == ".base/policy"
    assert any("make -C .base deploy-venv" in step.get("run", "") for step in steps)  # its own .venv


def test_the_pulumi_cli_is_the_release_of_the_pinned_sdk() -> None:
    (sdk,) = re.findall(r"^pulumi==([\d.]+)$", (REPO_ROOT / "requirements.txt").read_text(), re.MULTILINE)
    for name, workflow in workflows().items():
        assert workflow["env"]["PULUMI_VERSION"] == sdk, name
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                if "pulumi/actions@" in str(step.get("uses")):
                    assert step["with"]["pulumi-version"] == "${{ env.PULUMI_VERSION }}", name


def test_a_fork_s_pull_request_neither_comments_nor_fails_for_it() -> None:
    """A fork's token is read-only: commenting would fail the job with 403."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    same_repository = "${{ github.event.pull_request.head.repo.full_name == github.repository }}"
    assert preview_step(workflow)["with"]["comment-on-pr"] == same_repository
    for step in workflow["jobs"]["preview"]["steps"]:
        assert "github-script" not in str(step.get("uses")), "a comment of our own would need the same guard"


def test_steps_that_install_plugins_authenticate_to_github() -> None:
    """Plugins outside the pulumi organisation come from GitHub's API: 60 requests an hour per IP without a
    token (docs/upstream.md)."""
    e2e = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "e2e.yml").read_text())
    installing = [step for step in e2e["jobs"]["e2e"]["steps"] if re.match(r"make (up|destroy) ", step.get("run", ""))]
    assert len(installing) == 2
    for step in [*installing, preview_step(yaml.safe_load(WORKFLOW.read_text()))]:
        assert step["env"]["GITHUB_TOKEN"] == "${{ github.token }}", step


def test_the_preview_uses_the_backend_it_chose() -> None:
    """Pulumi.yaml's file backend wins over `pulumi login URL`; only PULUMI_BACKEND_URL wins over it."""
    step = preview_step(yaml.safe_load(WORKFLOW.read_text()))
    assert step["env"]["PULUMI_BACKEND_URL"] == step["with"]["cloud-url"] == "${{ steps.backend.outputs.url }}"
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"} <= set(step["env"])


def test_the_backend_step_is_told_what_exists_and_the_preview_gets_the_values() -> None:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["preview"]["steps"]
    (backend,) = [step for step in steps if step.get("id") == "backend"]
    assert backend["run"] == "scripts/ci-backend.sh"
    assert backend["env"] == {
        "BACKEND_URL": "${{ vars.PULUMI_BACKEND_URL }}",
        "HAS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN != '' }}",
        "HAS_PASSPHRASE": "${{ secrets.PULUMI_CONFIG_PASSPHRASE != '' }}",
        "FORK": "${{ github.event.pull_request.head.repo.full_name != github.repository }}",
    }
    env = preview_step(yaml.safe_load(WORKFLOW.read_text()))["env"]
    assert env["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE || env.THROWAWAY_PASSPHRASE }}"


def choose_backend(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    outputs, environment = tmp_path / "outputs", tmp_path / "env"
    base = {"PATH": "/usr/bin:/bin", "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(outputs),
            "GITHUB_ENV": str(environment)}  # fmt: skip
    result = subprocess.run([str(REPO_ROOT / "scripts" / "ci-backend.sh")], env={**base, **env},
                            capture_output=True, text=True, check=False)  # fmt: skip
    written = outputs.read_text() if outputs.exists() else ""
    return result, dict(line.split("=", 1) for line in written.splitlines())


@pytest.mark.parametrize(
    ("env", "url", "throwaway"),
    [
        ({}, "file://{tmp}/pulumi-state", "true"),
        ({"HAS_TOKEN": "true"}, "https://api.pulumi.com", "false"),
        ({"BACKEND_URL": "s3://state/pd", "HAS_PASSPHRASE": "true"}, "s3://state/pd", "false"),
        ({"BACKEND_URL": "https://pulumi.example", "HAS_TOKEN": "true"}, "https://pulumi.example", "false"),
        ({"BACKEND_URL": "s3://state/pd", "HAS_TOKEN": "true", "FORK": "true"}, "file://{tmp}/pulumi-state", "true"),
    ],
)
def test_each_documented_backend_is_the_one_used(tmp_path: Path, env: dict[str, str], url: str, throwaway: str) -> None:
    result, outputs = choose_backend(tmp_path, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs == {"url": url.format(tmp=tmp_path), "throwaway": throwaway}
    generated = (tmp_path / "env").read_text() if (tmp_path / "env").exists() else ""
    assert generated.startswith("THROWAWAY_PASSPHRASE=") == (throwaway == "true")
    if throwaway == "true":
        passphrase = generated.strip().split("=", 1)[1]
        assert len(passphrase) >= 40 and f"::add-mask::{passphrase}" in result.stdout


def test_a_self_managed_backend_without_its_passphrase_fails_in_one_line(tmp_path: Path) -> None:
    result, outputs = choose_backend(tmp_path, BACKEND_URL="s3://state/pd", HAS_TOKEN="true")
    assert result.returncode == 1 and outputs == {}
    assert result.stdout.strip() == (
        "::error::PULUMI_BACKEND_URL is s3://state/pd: add the secret PULUMI_CONFIG_PASSPHRASE "
        "(the passphrase of its stacks)"
    )


def test_e2e_deploys_verifies_and_always_destroys() -> None:
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "e2e.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"] == {"branches": ["main"]} and triggers["schedule"]
    assert "labeled" in triggers["pull_request"]["types"]
    assert workflow["permissions"] == {"contents": "read"}
    job = workflow["jobs"]["e2e"]
    assert "'e2e'" in job["if"] and job["timeout-minutes"] <= 60
    assert job["strategy"]["matrix"]["kafka-mode"] == ["zookeeper", "kraft"]  # both modes, every time
    assert job["strategy"]["fail-fast"] is False  # one mode failing must not cancel the other's proof
    runs = [step.get("run", "") for step in job["steps"]]
    up, verify, destroy = (next(i for i, run in enumerate(runs) if run.startswith(f"make {t} ")) for t in
                           ("up", "verify", "destroy"))  # fmt: skip
    assert up < verify < destroy
    assert runs[verify].endswith("ALERT=1") and runs[destroy].endswith("YES=1")
    assert job["steps"][destroy]["if"] == "always()"
    collected = [step for step in job["steps"] if step.get("if") == "failure()"]
    assert any("docker logs" in step.get("run", "") for step in collected)
    assert any(str(step.get("uses", "")).startswith("actions/upload-artifact@") for step in collected)
