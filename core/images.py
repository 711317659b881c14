"""Image references: which ones name exactly one build. The program refuses a moving reference in its config and
the policy pack refuses it in what the program declares, by this one rule."""

from __future__ import annotations

import re

# [registry[:port]/]repository, then a tag, a digest, or both (a private registry's port is not a tag)
IMAGE_PATTERN = re.compile(
    r"([a-z0-9.-]+:[0-9]+/)?[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?"
)
IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}")
IMAGE_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
# A tag names one build when it carries a full version (x.y.z, any prefix or suffix: v1.5.0, 3.11.14-slim) or
# is a content hash (our generator's build tag); words like these mark a tag that moves to newer builds.
FULL_VERSION = re.compile(r"\d+\.\d+\.\d+")
CONTENT_HASH = re.compile(r"[0-9a-f]{12,64}")
MOVING_TAG = re.compile(r"(^|[-_.])(latest|main|master|nightly|edge|dev|stable|lts|rolling|snapshot)([-_.]|$)", re.I)


def pin_level(reference: str) -> str | None:
    """ "digest" for an image id or a reference with a digest (`repo[:tag]@sha256:…`), "tag" for a tag that names
    one build (a full version or a content hash), None for anything that can move: no tag, `latest`, `main`,
    a major-only `:12`, a `latest-ubuntu` tag (the rule the policy pack enforces too)."""
    if IMAGE_ID.fullmatch(reference) or IMAGE_DIGEST.search(reference):
        return "digest"
    if "@" in reference or reference.startswith("sha256:"):
        return None  # a digest or an image id, cut short
    name, _, tag = reference.rpartition(":")
    if not name or "/" in tag or MOVING_TAG.search(tag):
        return None
    return "tag" if FULL_VERSION.search(tag) or CONTENT_HASH.fullmatch(tag) else None


def is_pinned(reference: str) -> bool:
    """An image id, a digest, or a tag that names one build: never a tag that moves."""
    return pin_level(reference) is not None
