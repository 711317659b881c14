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
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import _deserialize_property

from core.containers import NO_NEW_PRIVILEGES, ROOT_ENTRYPOINT_CAPABILITIES
from core.images import pin_level

CONTAINER = "docker:index/container:Container"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
BUILT_IMAGE = "docker:index/image:Image"
LOOPBACK = ("127.0.0.1", "::1")
STACK = "pulumi:pulumi:Stack"
KAFKA_PROTOCOLS = frozenset({"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"})
KAFKA_UI_LOGINS = frozenset({"LOGIN_FORM", "OAUTH2", "LDAP"})  # kafbat's auth.type values other than DISABLED
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


def _violation(report: ReportViolation, message: str) -> None:
    """A resource check's finding: pulumi-policy's callback also takes an urn, which it ignores for a resource
    policy (the resource validated is the one reported; `ResourceValidation`'s docstring)."""
    report(message, None)


def _validate_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    reference = _image_reference(args)
    if reference is not None and pin_level(reference) is None:
        _violation(
            report,
            f"image '{reference}' is not pinned: use a digest (repo:tag@sha256:…; make pin) or a full version tag, "
            "never a tag that moves (latest, main, a major-only :12)",
        )


def _validate_digest(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Advisory: a version tag can still be pushed again; a digest cannot. Our own build is local (no registry)."""
    reference = _image_reference(args)
    if reference is not None and args.resource_type != BUILT_IMAGE and pin_level(reference) == "tag":
        _violation(
            report, f"image '{reference}' is pinned by tag only: a tag can be re-pushed; `make pin` adds its digest"
        )


def _validate_loopback(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A host port beyond loopback only for a service that asks whoever reaches it for a login: Grafana (anonymous
    access off), kafka-ui (a login), ClickHouse (its default user closed), a Kafka listener with SASL. No stack
    setting is an exception: the service behind the port is judged, not the address."""
    if args.resource_type != CONTAINER:
        return
    for _internal, external, address in _published(args):
        if address in LOOPBACK:
            continue
        service, found = _authenticating_service(args)
        if service is None:
            _violation(
                report,
                f"host port {external} is published on {address}: only a service that asks for a login (Grafana, "
                "kafka-ui, ClickHouse, Kafka with SASL) may listen beyond 127.0.0.1 (docs/security.md)",
            )
        elif found:
            _violation(report, f"host port {external} is published on {address}, but {service}: {found[0]}")


def _authenticating_service(args: ResourceValidationArgs) -> tuple[str | None, list[str]]:
    """Which known service with a login this container is, and what its own policy finds wrong with that login."""
    env = _env(args)
    image = str(plain(args.props.get("image")))  # "None" when unset: searched only for names
    checks = [
        ("Kafka", "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP" in env, _validate_kafka_listeners),
        (
            "kafka-ui",
            "kafka-ui" in image or any(n.startswith("KAFKA_CLUSTERS_") for n in env),
            _validate_kafka_ui_login,
        ),
        ("Grafana", any(n.startswith("GF_") for n in env), _validate_grafana_closed),
        ("ClickHouse", any(n.startswith("CLICKHOUSE_") for n in env), _validate_clickhouse_closed),
    ]
    for service, matches, check in checks:
        if matches:
            found: list[str] = []

            def note(message: str, _urn: str | None = None, found: list[str] = found) -> None:
                found.append(message)

            check(args, note)
            return service, found
    return None, []


def _validate_secret_environment(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    for name, value, secret in environment(args.props):
        if SECRET_NAME.search(name) and value and not secret and not name.endswith("_FILE"):  # a path to one
            _violation(report, f"environment variable {name} carries a plain value: build it from a secret Output")


# What Grafana's ini parser (go-ini `parseBool`) reads as true; compared without case, a superset on purpose.
INI_TRUE = frozenset({"1", "t", "true", "y", "yes", "on"})


def _setting(args: ResourceValidationArgs, name: str) -> tuple[bool, str | None]:
    """(set, value) of an env setting, or of its `__FILE` variant read from the file uploaded at that path (the
    image's run.sh reads GF_*__FILE); a `__FILE` naming no uploaded file is set with an unknown value (None)."""
    env = {key: value for key, value, _secret in environment(args.props)}
    if name in env:
        return True, str(env[name])
    path = env.get(f"{name}__FILE")
    if path is None:
        return False, None
    content = _uploaded(args.props).get(path)
    return True, None if content is None else str(plain(content))


def _refuse_true(args: ResourceValidationArgs, report: ReportViolation, name: str, what: str) -> None:
    if args.resource_type != CONTAINER:
        return
    present, value = _setting(args, name)
    if present and (value is None or value.strip().lower() in INI_TRUE):
        shown = "a file that is not uploaded" if value is None else repr(value.strip())
        _violation(report, f"Grafana {what} ({name} is {shown}; Grafana reads 1, t, true, y, yes, on as true)")


def _validate_grafana_closed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    _refuse_true(args, report, "GF_AUTH_ANONYMOUS_ENABLED", "allows anonymous access")


def _validate_no_sign_up(args: ResourceValidationArgs, report: ReportViolation) -> None:
    _refuse_true(args, report, "GF_USERS_ALLOW_SIGN_UP", "lets anyone sign up")


def _validate_clickhouse_closed(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    env = {name: value for name, value, _secret in environment(args.props)}
    image = str(plain(args.props.get("image")))  # "None" when unset: searched only for names
    if not ("clickhouse-server" in image or any(name.startswith("CLICKHOUSE_") for name in env)):
        return
    password = env.get("CLICKHOUSE_PASSWORD") or (
        env.get("CLICKHOUSE_PASSWORD_FILE") in _uploaded(args.props)  # read from the file by the entrypoint
    )
    if not password or env.get("CLICKHOUSE_SKIP_USER_SETUP") == "1":
        _violation(
            report,
            "ClickHouse's default user is left open: set CLICKHOUSE_USER and a CLICKHOUSE_PASSWORD from a secret "
            "(or CLICKHOUSE_PASSWORD_FILE naming an uploaded file)",
        )


def _env(args: ResourceValidationArgs) -> dict[str, str]:
    return {name: str(value) for name, value, _secret in environment(args.props)}


def _published(args: ResourceValidationArgs) -> list[tuple[int, int, str]]:
    """(container port, host port, host address) of each published port."""
    return [
        (int(plain(port.get("internal"))), int(plain(port.get("external")) or 0), plain(port.get("ip")) or "0.0.0.0")
        for port in plain(args.props.get("ports")) or []
    ]


def _validate_kafka_ui_login(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """kafka-ui (kafbat) has no login unless AUTH_TYPE says which: loopback is not per user on a shared host."""
    if args.resource_type != CONTAINER:
        return
    env = _env(args)
    image = str(plain(args.props.get("image")))  # "None" when unset: searched only for names
    if "kafka-ui" not in image and not any(name.startswith("KAFKA_CLUSTERS_") for name in env):
        return
    auth = env.get("AUTH_TYPE", "DISABLED").strip().upper()
    if auth not in KAFKA_UI_LOGINS:
        _violation(
            report, f"kafka-ui has no login (AUTH_TYPE={auth}): set AUTH_TYPE=LOGIN_FORM with a generated password"
        )


def _validate_kafka_listeners(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every listener has a known protocol; a listener published beyond loopback authenticates (SASL_*)."""
    if args.resource_type != CONTAINER:
        return
    env = _env(args)
    mapping = env.get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP")
    if mapping is None:
        return
    protocols = dict(item.strip().split(":", 1) for item in mapping.split(",") if ":" in item)
    for name, protocol in sorted(protocols.items()):
        if protocol not in KAFKA_PROTOCOLS:
            _violation(
                report, f"Kafka listener {name} has protocol {protocol}: expected one of {sorted(KAFKA_PROTOCOLS)}"
            )
    by_port = {
        int(match[2]): match[1] for match in re.finditer(r"([A-Z_]+)://[^,:]*:(\d+)", env.get("KAFKA_LISTENERS", ""))
    }
    for internal, external, address in _published(args):
        name = by_port.get(internal, "?")
        protocol = protocols.get(name, "PLAINTEXT")
        if address not in LOOPBACK and not protocol.startswith("SASL_"):
            _violation(
                report,
                f"Kafka listener {name} ({protocol}) is published on {address}:{external}: "
                "anyone who reaches it can produce, delete topics and move consumer offsets; publish it on 127.0.0.1",
            )


def _validate_isolated(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No way out of the container to the host: not privileged, no host namespaces, no Docker socket."""
    if args.resource_type != CONTAINER:
        return
    props = args.props
    if plain(props.get("privileged")):
        _violation(report, "container is privileged: it is root on the host")
    for field in ("networkMode", "pidMode", "ipcMode", "usernsMode"):
        if str(plain(props.get(field))).lower() == "host":
            _violation(report, f"container shares the host's namespace ({field}=host)")
    sources = [plain(v.get("hostPath")) for v in plain(props.get("volumes")) or []]
    sources += [plain(m.get("source")) for m in plain(props.get("mounts")) or []]
    for source in sources:
        if source and "docker.sock" in str(source):
            _violation(report, f"container mounts the Docker socket ({source}): that is root on the host")


def _validate_capabilities(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every capability dropped, only what a root entrypoint needs to drop to its user added back; no setuid
    escalation."""
    if args.resource_type != CONTAINER:
        return
    capabilities = plain(args.props.get("capabilities")) or {}
    drops = {str(plain(c)).upper() for c in plain(capabilities.get("drops")) or []}
    adds = {str(plain(c)).upper().removeprefix("CAP_") for c in plain(capabilities.get("adds")) or []}
    if "ALL" not in drops:
        _violation(report, "container keeps Docker's default capabilities: drop ALL, add back only what it needs")
    extra = sorted(adds - set(ROOT_ENTRYPOINT_CAPABILITIES))
    if extra:
        _violation(report, f"container adds capabilities {extra}: allowed are {list(ROOT_ENTRYPOINT_CAPABILITIES)}")
    if NO_NEW_PRIVILEGES not in [plain(option) for option in plain(args.props.get("securityOpts")) or []]:
        _violation(report, f"container lacks security option {NO_NEW_PRIVILEGES}")


def _validate_cpu_limit(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    cpus, quota = plain(args.props.get("cpus")), plain(args.props.get("cpuQuota"))
    try:
        if float(cpus or 0) > 0 or int(quota or 0) > 0:
            return
    except ValueError:
        pass  # not a number: no limit Docker would apply
    _violation(report, "container has no CPU limit: one busy container could take every core of the host (cpus)")


def _validate_secret_files(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A file uploaded as a secret (under /run/secrets) is secret in state too."""
    if args.resource_type != CONTAINER or isinstance(args.props.get("uploads"), Secret):
        return
    for upload in plain(args.props.get("uploads")) or []:
        path = str(plain(upload.get("file")))
        if path.startswith("/run/secrets/") and not isinstance(upload.get("content"), Secret):
            _violation(report, f"file {path} carries a plain value: build it from a secret Output")


def _validate_secret_outputs(args: StackValidationArgs, report: ReportViolation) -> None:
    """The stack's exports named like a password, secret or token are secret (`pulumi stack output` hides them)."""
    for resource in args.resources:
        if resource.resource_type != STACK:
            continue
        for name, value in resource.props.items():
            if SECRET_NAME.search(name) and plain(value) and not isinstance(value, Secret):
                report(f"stack output {name} is not secret: export it from a secret Output", resource.urn)


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
    ResourceValidationPolicy("loopback-host-ports",
                             "Host ports bind to loopback, unless the service behind them asks for a login.",
                             _validate_loopback),
    ResourceValidationPolicy("secret-environment", "Variables named like a password, secret or token are secret.",
                             _validate_secret_environment),
    ResourceValidationPolicy("grafana-no-anonymous", "Grafana does not allow anonymous access.",
                             _validate_grafana_closed),
    ResourceValidationPolicy("grafana-no-sign-up", "Grafana does not let anyone sign up.",
                             _validate_no_sign_up),
    ResourceValidationPolicy("kafka-ui-login", "kafka-ui asks for a login.", _validate_kafka_ui_login),
    ResourceValidationPolicy("kafka-listener-protocols",
                             "Kafka listeners use known protocols; beyond loopback only SASL.",
                             _validate_kafka_listeners),
    ResourceValidationPolicy("container-isolated", "No privileged container, host namespace or Docker socket.",
                             _validate_isolated),
    ResourceValidationPolicy("dropped-capabilities", "Containers drop every capability they do not need.",
                             _validate_capabilities),
    ResourceValidationPolicy("cpu-limits", "Every container has a CPU limit.", _validate_cpu_limit),
    ResourceValidationPolicy("secret-files", "Files uploaded as secrets are secret.",
                             _validate_secret_files),
    ResourceValidationPolicy("clickhouse-default-user-closed", "ClickHouse's default user is not left open.",
                             _validate_clickhouse_closed),
    StackValidationPolicy("secret-outputs", "Stack outputs named like a password or secret are secret.",
                          _validate_secret_outputs),
    StackValidationPolicy("health-checked-dependencies", "Containers others wait for have a health check.",
                          _validate_health_checks),
]  # fmt: skip
ENFORCEMENT = EnforcementLevel.MANDATORY
