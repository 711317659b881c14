"""The guardrails, as plain functions the policy pack registers and the tests call directly.

Secret values reach `validate` as `pulumi_policy.Secret` (the pack installs `keep_secret_markers`), so
"is this password secret?" can be answered. Reading a value unknown during preview raises
`UnknownValueError`, which the pack reports as "can't run during preview", never as a violation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import _deserialize_property

from infra.settings import pin_level

CONTAINER = "docker:index/container:Container"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
BUILT_IMAGE = "docker:index/image:Image"
LOOPBACK = ("127.0.0.1", "::1")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|PASSPHRASE|API_?KEY", re.IGNORECASE)


def keep_secret_markers(props: Mapping[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
    """Deserialize resource properties keeping each secret as `pulumi_policy.Secret`.

    pulumi-policy (1.21.0) unwraps secrets before validation, so a plaintext password would look the same
    as a secret one; this is its own deserializer in the mode it uses for remediations, without the proxy
    that hides the markers. `__main__.py` installs it in place of the pack's `deserialize_properties`.
    """
    return {key: _deserialize_property(value, True) for key, value in props.items()}


def plain(value: Any) -> Any:
    return value.value if isinstance(value, Secret) else value


def environment(props: Mapping[str, Any]) -> list[tuple[str, Any, bool]]:
    """(name, value, is_secret) for each `NAME=value` entry of a container's `envs`."""
    envs = props.get("envs")
    if envs is None:
        return []
    whole_list_secret = isinstance(envs, Secret)
    entries = []
    for entry in plain(envs):
        secret = whole_list_secret or isinstance(entry, Secret)
        name, _, value = plain(entry).partition("=")
        entries.append((name, value, secret))
    return entries


def _image_reference(args: ResourceValidationArgs) -> str | None:
    field = {CONTAINER: "image", REMOTE_IMAGE: "name", BUILT_IMAGE: "imageName"}.get(args.resource_type)
    return None if field is None else str(plain(args.props.get(field)) or "")


def _uploaded(props: Mapping[str, Any]) -> dict[str, Any]:
    """Container path → content of each file uploaded into a container (content may be a Secret)."""
    return {plain(upload.get("file")): upload.get("content") for upload in plain(props.get("uploads")) or []}


def _validate_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    reference = _image_reference(args)
    if reference is not None and pin_level(reference) is None:
        report(
            f"image '{reference}' is not pinned: use a digest (repo:tag@sha256:…; make pin) or a full version tag, "
            "never a tag that moves (latest, main, a major-only :12)",
            None,
        )


def _validate_digest(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Advisory: a version tag can still be pushed again; a digest cannot. Our own build is local (no registry)."""
    reference = _image_reference(args)
    if reference is not None and args.resource_type != BUILT_IMAGE and pin_level(reference) == "tag":
        report(f"image '{reference}' is pinned by tag only: a tag can be re-pushed; `make pin` adds its digest", None)


def _validate_loopback(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    allowed = set(LOOPBACK) | set(args.get_config().get("allowedAddresses", []))
    for port in plain(args.props.get("ports")) or []:
        address = plain(port.get("ip")) or "0.0.0.0"  # the provider's default: every interface
        if address not in allowed:
            report(
                f"host port {plain(port.get('external'))} is published on {address}: bind it to 127.0.0.1, or let "
                "the stack allow the address (bindAddress; see docs/team-workflow.md, 'Policies')",
                None,
            )


def _validate_secret_environment(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    for name, value, secret in environment(args.props):
        if SECRET_NAME.search(name) and value and not secret and not name.endswith("_FILE"):  # a path to one
            report(f"environment variable {name} carries a plain value: build it from a secret Output", None)


def _validate_grafana_closed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    for name, value, _secret in environment(args.props):
        if name == "GF_AUTH_ANONYMOUS_ENABLED" and str(value).strip().lower() == "true":
            report("Grafana allows anonymous access (GF_AUTH_ANONYMOUS_ENABLED=true)", None)


def _validate_clickhouse_closed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    env = {name: value for name, value, _secret in environment(args.props)}
    image = str(plain(args.props.get("image")) or "")
    if not ("clickhouse-server" in image or any(name.startswith("CLICKHOUSE_") for name in env)):
        return
    password = env.get("CLICKHOUSE_PASSWORD") or (
        env.get("CLICKHOUSE_PASSWORD_FILE") in _uploaded(args.props)  # read from the file by the entrypoint
    )
    if not password or env.get("CLICKHOUSE_SKIP_USER_SETUP") == "1":
        report(
            "ClickHouse's default user is left open: set CLICKHOUSE_USER and a CLICKHOUSE_PASSWORD from a secret "
            "(or CLICKHOUSE_PASSWORD_FILE naming an uploaded file)",
            None,
        )


def _validate_health_checks(args: StackValidationArgs, report: ReportViolation) -> None:
    """A long-running container that another resource waits for must have a health check to wait on."""
    depended_on = {dependency.urn for resource in args.resources for dependency in _dependencies(resource)}
    for resource in args.resources:
        if resource.resource_type != CONTAINER or resource.urn not in depended_on:
            continue
        if plain(resource.props.get("mustRun")) is False:
            continue  # a one-shot job: `pulumi up` waits for it to exit instead
        if not plain(resource.props.get("healthcheck")):
            report(
                f"container '{resource.name}' is waited for by other resources but has no health check", resource.urn
            )


def _dependencies(resource: Any) -> Iterable[Any]:
    yield from resource.dependencies
    for dependencies in resource.property_dependencies.values():
        yield from dependencies


POLICIES = [
    ResourceValidationPolicy("pinned-images", "Images are pinned: a digest or a full version tag, never a moving tag.",
                             _validate_pinned),
    ResourceValidationPolicy("digest-pinned-images", "Pulled images are pinned by digest (advisory).",
                             _validate_digest, enforcement_level=EnforcementLevel.ADVISORY),
    ResourceValidationPolicy(
        "loopback-host-ports",
        "Host ports bind to loopback unless the stack allows another address.",
        _validate_loopback,
        config_schema=PolicyConfigSchema({"allowedAddresses": {"type": "array", "items": {"type": "string"}}}),
    ),
    ResourceValidationPolicy("secret-environment", "Variables named like a password, secret or token are secret.",
                             _validate_secret_environment),
    ResourceValidationPolicy("grafana-no-anonymous", "Grafana does not allow anonymous access.",
                             _validate_grafana_closed),
    ResourceValidationPolicy("clickhouse-default-user-closed", "ClickHouse's default user is not left open.",
                             _validate_clickhouse_closed),
    StackValidationPolicy("health-checked-dependencies", "Containers others wait for have a health check.",
                          _validate_health_checks),
]  # fmt: skip
ENFORCEMENT = EnforcementLevel.MANDATORY
