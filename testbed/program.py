"""Run the Pulumi program (`__main__.py`) under Pulumi's mocks and record what it registers."""

from __future__ import annotations

import hashlib
import runpy
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from infra.kubernetes.platform_stack import platform_outputs
from infra.settings import PORT_KEYS, PROJECT
from testbed.repo import REPO_ROOT

PROGRAM = REPO_ROOT / "__main__.py"
FLOATING_TAG = "latest"  # the tag every pinning rule refuses; tests build refused references from it
CONTAINER = "docker:index/container:Container"
TOPIC = "pulumi-python:dynamic/kafka:Topic"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
SCHEMA = "pulumi-python:dynamic/clickhouse:Schema"
# how Pulumi marks a secret value in resource inputs
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"
SECRET_SIGNATURE_VALUE = "1b47061264138c4ac30d75fd1eb44270"


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIGNATURE) == SECRET_SIGNATURE_VALUE


def plain_strings(value: Any) -> Iterator[str]:
    """Every string in `value` that is not inside a secret."""
    if is_secret(value):
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from plain_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from plain_strings(item)


def unwrap(value: Any) -> Any:
    return value["value"] if is_secret(value) else value


def image_id(reference: str) -> str:
    """The local image id Docker would report for `reference` under the mocks (the format Docker uses)."""
    return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()


def pushed_digest(reference: str) -> str:
    """What the registry reports for a pushed `reference`: repository@sha256:… (the tag dropped)."""
    return reference.rpartition(":")[0] + "@" + image_id(reference)


class RecordingMocks(pulumi.runtime.Mocks):
    """Engine stand-in: every resource's outputs are its inputs, plus what the real providers compute."""

    def __init__(self) -> None:
        self.created: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        self.created.append(args)
        outputs = dict(args.inputs)
        if args.typ == "docker:index/remoteImage:RemoteImage":
            outputs["imageId"] = image_id(args.inputs["name"])
        elif args.typ == "docker:index/image:Image" and args.inputs.get("skipPush") is False:  # pushed: by digest
            outputs["repoDigest"] = pushed_digest(args.inputs["imageName"])
        elif args.typ == "docker:index/image:Image":  # skip_push: repo_digest is the local image id
            outputs["repoDigest"] = image_id(args.inputs["imageName"])
        elif args.typ == STACK_REFERENCE:  # the platform stack's exports, from its own program
            outputs["outputs"] = platform_outputs()
        elif args.typ == "random:index/randomId:RandomId":  # as kept in state: the same on every run
            outputs["hex"] = hashlib.sha256(args.name.encode()).hexdigest()[: 2 * int(args.inputs["byteLength"])]
        elif args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = f"generated-{args.name}"
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        return {}


@dataclass(frozen=True)
class RecordedOptions:
    """The resource options that change what the engine does with a resource, as the program set them."""

    parent: tuple[str, str] | None
    provider: tuple[str, str] | None
    delete_before_replace: bool
    ignore_changes: tuple[str, ...]
    replace_on_changes: tuple[str, ...]
    retain_on_delete: bool
    protect: bool
    custom_timeouts: tuple[str | None, str | None, str | None]
    additional_secret_outputs: tuple[str, ...]
    aliases: int

    @classmethod
    def of(cls, opts: pulumi.ResourceOptions) -> RecordedOptions:
        timeouts = opts.custom_timeouts
        return cls(
            parent=_identity(opts.parent),
            provider=_identity(opts.provider),
            delete_before_replace=bool(opts.delete_before_replace),
            ignore_changes=tuple(opts.ignore_changes or ()),
            replace_on_changes=tuple(opts.replace_on_changes or ()),
            retain_on_delete=bool(opts.retain_on_delete),
            protect=bool(opts.protect),
            custom_timeouts=(timeouts.create, timeouts.update, timeouts.delete) if timeouts else (None, None, None),
            additional_secret_outputs=tuple(opts.additional_secret_outputs or ()),
            aliases=len(opts.aliases or ()),
        )


def _identity(resource: pulumi.Resource | None) -> tuple[str, str] | None:
    return None if resource is None else (resource._type, resource._name)


@dataclass
class Program:
    """What one run of the program registered."""

    resources: list[pulumi.runtime.MockResourceArgs]
    # (type, name) → the (type, name) of each resource it waits for: names alone repeat across types (the
    # ClickHouse container and the ClickHouse datasource are both "clickhouse")
    depends_on: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    # (type, name) → the resource options the program set (mocks never see them: a stack transformation does)
    options: dict[tuple[str, str], RecordedOptions] = field(default_factory=dict)
    # (type, name) → the Output whose change replaces the resource (ResourceOptions.replacement_trigger)
    replacement_triggers: dict[tuple[str, str], Any] = field(default_factory=dict)

    def of_type(self, typ: str) -> list[pulumi.runtime.MockResourceArgs]:
        return [resource for resource in self.resources if resource.typ == typ]

    def named(self, name: str) -> pulumi.runtime.MockResourceArgs:
        (resource,) = [resource for resource in self.resources if resource.name == name]
        return resource

    def waits_for(self, typ: str, name: str) -> set[str]:
        """The names of what the resource of type `typ` named `name` depends on."""
        return {dependency for _, dependency in self.depends_on.get((typ, name), [])}

    @property
    def containers(self) -> dict[str, pulumi.runtime.MockResourceArgs]:
        return {resource.name: resource for resource in self.of_type(CONTAINER)}


def dev_config(without_ports: bool = False) -> dict[str, str]:
    """The `dev` stack's config from Pulumi.dev.yaml, as the engine hands it to the program (strings)."""
    stored = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())["config"]
    config = {}
    for key, value in stored.items():
        name = key.removeprefix(f"{PROJECT}:")
        if not (without_ports and name in PORT_KEYS):
            config[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return config


def run_program(
    stack: str = "dev",
    config: Mapping[str, str] | None = None,
    main: Path = PROGRAM,
    project: str = PROJECT,
    *,
    secret: Collection[str] = (),
) -> Program:
    """Run the program fresh, as `pulumi up` would for `stack` with `config` (default: dev's), the keys named in
    `secret` set with `pulumi config set --secret`; `main` and `project`: another Pulumi project of this
    repository (platform/)."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    values = dev_config() if config is None else config
    pulumi.runtime.set_all_config(
        {f"{project}:{name}": value for name, value in values.items()}, [f"{project}:{name}" for name in secret]
    )
    program = Program(mocks.created)

    def record_options(args: pulumi.ResourceTransformationArgs) -> None:
        identity = (args.type_, args.name)
        program.depends_on[identity] = [
            (dependency._type, dependency._name) for dependency in args.opts.depends_on or []
        ]
        program.options[identity] = RecordedOptions.of(args.opts)
        if args.opts.replacement_trigger is not None:
            program.replacement_triggers[(args.type_, args.name)] = args.opts.replacement_trigger

    @pulumi.runtime.test
    def run() -> None:
        pulumi.runtime.register_stack_transformation(record_options)
        runpy.run_path(str(main), run_name="__main__")

    run()
    return program
