"""What a run of the program registered, as plain JSON: the Docker stack's resources must stay byte-identical
while other platforms are added beside it (tests/infra/test_docker_unchanged.py, tests/fixtures/docker-program.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from infra.data_generator import IMAGE_REPOSITORY, source_digest
from testbed.program import REPO_ROOT, dev_config, image_id, pushed_digest, run_program

GOLDEN = REPO_ROOT / "tests" / "fixtures" / "docker-program.json"


def registered(config: dict[str, str] | None, stack: str) -> list[dict[str, Any]]:
    """(type, name, inputs) of every resource, sorted by type and name (registration order varies)."""
    program = run_program(stack, config)
    found = [{"type": r.typ, "name": r.name, "inputs": r.inputs} for r in program.resources]
    return sorted(found, key=lambda resource: (resource["type"], resource["name"]))


def docker_programs() -> dict[str, list[dict[str, Any]]]:
    """The `dev` stack as committed, and a developer's stack made by `make stack` (dev's config minus ports)."""
    return {"dev": registered(None, "dev"), "alice": registered(dev_config(without_ports=True), "alice")}


def normalized(text: str, registries: tuple[str, ...] = ()) -> str:
    """`text` with the generator image's source hash (and the ids derived from it) replaced by placeholders, so
    that editing the generator's code does not change a golden file of the infrastructure."""
    digest = source_digest()
    text = text.replace(image_id(f"{IMAGE_REPOSITORY}:{digest}"), "sha256:<image-id>")
    for registry in registries:
        pushed = pushed_digest(f"{registry}/{IMAGE_REPOSITORY}:{digest}")
        text = text.replace(pushed.partition("@")[2], "sha256:<digest>")
    return text.replace(digest, "<source-digest>")


def render() -> str:
    return normalized(json.dumps(docker_programs(), indent=1, sort_keys=True, default=str) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        Path(GOLDEN).write_text(render())
    else:
        sys.stdout.write(render())
