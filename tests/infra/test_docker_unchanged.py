"""The Docker stack's resources and inputs are byte-identical to those recorded before the Kubernetes platform
was added (tests/fixtures/docker-program.json, written by `python -m testbed.golden --write` on the commit
before it). A deliberate change to a Docker resource rewrites the fixture in the same commit."""

from __future__ import annotations

import json

from testbed.golden import GOLDEN, docker_programs, render


def test_default_docker_stacks_register_exactly_the_recorded_resources() -> None:
    recorded = json.loads(GOLDEN.read_text())
    current = json.loads(render())
    assert current.keys() == recorded.keys() == {"dev", "alice"}
    for stack in recorded:
        before = {(r["type"], r["name"]): r["inputs"] for r in recorded[stack]}
        after = {(r["type"], r["name"]): r["inputs"] for r in current[stack]}
        assert sorted(after) == sorted(before), stack
        for identity, inputs in before.items():
            assert after[identity] == inputs, identity
    assert render() == GOLDEN.read_text()  # and byte for byte, as committed


def test_no_kubernetes_resource_on_the_docker_path() -> None:
    for resources in docker_programs().values():
        assert not [r for r in resources if r["type"].startswith("kubernetes:")]


def test_the_docker_path_does_not_import_the_kubernetes_sdk() -> None:
    """infra/stack.py imports the Kubernetes builder only for `platform: kubernetes`."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = "import sys, infra.stack; sys.exit('pulumi_kubernetes' in sys.modules or 'infra.kubernetes' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=120).returncode == 0
