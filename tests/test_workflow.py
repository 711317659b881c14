"""The pull-request workflow: valid for actionlint, least privilege, and the preview it promises."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

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
    (step,) = [step for step in preview["steps"] if str(step.get("uses", "")).startswith("pulumi/actions@")]
    assert step["uses"] == "pulumi/actions@v7"
    assert step["with"]["command"] == "preview" and step["with"]["diff"] is True
    assert step["with"]["comment-on-pr"] is True and step["with"]["edit-pr-comment"] is True
    assert step["with"]["policyPacks"] == "policy"
    test_job = workflow["jobs"]["test"]
    assert any(step.get("run") == "make lint test" for step in test_job["steps"])
    assert all(step.get("with", {}).get("cache") == "pip" for step in test_job["steps"] if "setup-python" in
               str(step.get("uses")))  # fmt: skip


def test_e2e_deploys_verifies_and_always_destroys() -> None:
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "e2e.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["push"] == {"branches": ["main"]} and triggers["schedule"]
    assert "labeled" in triggers["pull_request"]["types"]
    assert workflow["permissions"] == {"contents": "read"}
    job = workflow["jobs"]["e2e"]
    assert "'e2e'" in job["if"] and job["timeout-minutes"] <= 60
    assert job["strategy"]["matrix"]["kafka-mode"] == ["zookeeper", "kraft"]  # both modes, every time
    runs = [step.get("run", "") for step in job["steps"]]
    up, verify, destroy = (next(i for i, run in enumerate(runs) if run.startswith(f"make {t} ")) for t in
                           ("up", "verify", "destroy"))  # fmt: skip
    assert up < verify < destroy
    assert runs[verify].endswith("ALERT=1") and runs[destroy].endswith("YES=1")
    assert job["steps"][destroy]["if"] == "always()"
    collected = [step for step in job["steps"] if step.get("if") == "failure()"]
    assert any("docker logs" in step.get("run", "") for step in collected)
    assert any(str(step.get("uses", "")).startswith("actions/upload-artifact@") for step in collected)
