"""`make pin`: resolve each pulled image's tag to the digest its registry serves now, and write
`repo:tag@sha256:…` into the defaults (`infra/settings.py`) and the generator's base image (`generator/Dockerfile`).

Needs a Docker CLI that reaches the registries (`docker buildx imagetools inspect`, which reads the manifest
without pulling). Every reference is resolved before anything is written: a failure changes nothing. A tag that
is already followed by a digest is resolved again, so `make pin` also moves a stale digest to the tag's current
build; review the diff like any other image bump. Usage: python scripts/pin_images.py [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

# `_image("repo:tag[@sha256:…]")` in the settings table; `FROM repo:tag[@sha256:…] [AS name]` in the Dockerfile
SETTINGS_IMAGE = re.compile(r'(_image\(")([^"@]+)(@sha256:[0-9a-f]{64})?("\))')
DOCKERFILE_FROM = re.compile(r"^(FROM\s+)([^\s@]+)(@sha256:[0-9a-f]{64})?(\s|$)", re.MULTILINE)
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
TIMEOUT_S = 120


class PinError(Exception):
    """One line for the person running `make pin`."""


def resolve(reference: str) -> str:
    """The digest the registry serves for `reference` now (the multi-platform index when there is one)."""
    try:
        found = subprocess.run(
            ["docker", "buildx", "imagetools", "inspect", reference, "--format", "{{json .Manifest}}"],
            capture_output=True, text=True, timeout=TIMEOUT_S, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise PinError(f"no answer for {reference} within {TIMEOUT_S} s") from None
    if found.returncode != 0:
        lines = [line for line in found.stderr.splitlines() if line.strip()]
        raise PinError(
            f"could not resolve {reference}: {lines[-1] if lines else 'docker exited ' + str(found.returncode)}"
        )
    try:
        digest = json.loads(found.stdout)["digest"]
    except (ValueError, KeyError, TypeError):
        digest = ""
    if not DIGEST.fullmatch(str(digest)):
        raise PinError(f"could not resolve {reference}: docker printed no digest")
    return str(digest)


def pin(root: Path) -> list[str]:
    """Rewrite both files with digests; return one line per image."""
    files = {
        root / "infra" / "settings.py": (SETTINGS_IMAGE, 2),
        root / "generator" / "Dockerfile": (DOCKERFILE_FROM, 2),
    }
    texts = {path: path.read_text() for path in files}
    references = sorted({m[group] for path, (pattern, group) in files.items() for m in pattern.finditer(texts[path])})
    digests = {reference: resolve(reference) for reference in references}

    def with_digest(match: re.Match[str]) -> str:
        return f"{match[1]}{match[2]}@{digests[match[2]]}{match[4]}"

    for path, (pattern, _group) in files.items():
        path.write_text(pattern.sub(with_digest, texts[path]))
    return [f"pin: {reference}@{digest}" for reference, digest in digests.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make pin", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    if shutil.which("docker") is None:
        print("make pin: the docker CLI is not on PATH: install Docker (it reads each tag's digest from its registry)",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        lines = pin(args.root)
    except PinError as error:
        print(f"make pin: {error}; nothing was changed", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
