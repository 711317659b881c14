"""What every container of the pipeline has in common: pinned image by id, per-stack names and labels,
health check, restart policy, memory and CPU limits, log rotation, loopback-bound ports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from core.containers import NO_NEW_PRIVILEGES, ROOT_ENTRYPOINT_CAPABILITIES, SECRETS_DIR
from infra.settings import Settings

LOG_OPTIONS = {"max-size": "10m", "max-file": "3"}
DEFAULT_STOP_TIMEOUT_S = 10  # Docker's own default grace period
LABEL_PROJECT = "io.pulumi.project"
LABEL_STACK = "io.pulumi.stack"
LABEL_SERVICE = "io.pulumi.service"


def secret_file(service: str, name: str) -> str:
    """Where a service's secret file is uploaded."""
    return f"{SECRETS_DIR}/{service}/{name}"


@dataclass(frozen=True)
class Platform:
    """What every service container is built on: the stack's names and labels, the address its ports bind to,
    the address this machine reaches them on, and the stack's private network."""

    project: str
    stack: str
    bind_address: str
    client_host: str
    network: docker.Network

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.stack}"

    def name(self, *parts: str) -> str:
        """A Docker object name unique to this project and stack."""
        return "-".join((self.prefix, *parts))

    def url(self, port: int) -> str:
        """Where a program on this machine reaches a port published by one of the stack's containers."""
        return f"http://{self.client_host}:{port}"


@dataclass(frozen=True)
class Resources:
    """A service's pinned image and its limits, picked from its settings keys by the composition root."""

    image: str
    memory_mb: int
    cpus: float


@dataclass(frozen=True)
class Health:
    """A Docker health check; `wait=True` on the container waits until it passes."""

    command: str  # run with the container's shell
    interval_s: int = 10
    timeout_s: int = 5
    retries: int = 6
    start_period_s: int = 20

    def args(self) -> docker.ContainerHealthcheckArgs:
        return docker.ContainerHealthcheckArgs(
            tests=["CMD-SHELL", self.command],
            interval=f"{self.interval_s}s",
            timeout=f"{self.timeout_s}s",
            retries=self.retries,
            start_period=f"{self.start_period_s}s",
        )

    @classmethod
    def http(cls, port: int, path: str, start_period_s: int) -> Health:
        """Healthy when `path` answers 2xx on `port`. BusyBox or GNU `wget` is in every image that uses this
        (ClickHouse, Grafana, kafka-ui; docs/upstream.md), `curl` is not."""
        return cls(f"wget -q -O /dev/null http://localhost:{port}{path}", start_period_s=start_period_s)

    @property
    def wait_timeout_s(self) -> int:
        """Long enough for the start period and every retry."""
        return self.start_period_s + self.retries * (self.interval_s + self.timeout_s)


@dataclass
class ContainerSpec:
    """One service container; `service_container` fills in everything the pipeline's containers share."""

    service: str  # short name: container name suffix, network alias, label
    image_id: pulumi.Input[str]
    memory_mb: int
    cpus: float
    health: Health | None
    envs: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    ports: Sequence[tuple[int, int]] = ()  # (container port, host port)
    bind_address: str | None = None  # the host address its ports bind to; None = the stack's bindAddress
    volumes: Mapping[str, docker.Volume] = field(default_factory=dict)  # container path → volume
    command: Sequence[str] | None = None
    ulimits: Sequence[docker.ContainerUlimitArgs] = ()
    restart: str = "unless-stopped"
    wait: bool = True  # something depends on it being healthy
    stop_timeout_s: int | None = None  # seconds between SIGTERM and SIGKILL; None = Docker's default (10 s)
    entrypoint: Sequence[str] | None = None
    # container path → content, written into the container before it starts (kreuzwerker `upload`): how a secret
    # reaches an image's file variant (`…__FILE`, `…_FILE`) instead of its environment, which `docker inspect`
    # shows. Paths under SECRETS_DIR (docs/security.md).
    files: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    user: str | None = None  # uid:gid to run as; None = the image's USER (docs/upstream.md says which)
    root_entrypoint: bool = False  # starts as root and drops to its own user: ROOT_ENTRYPOINT_CAPABILITIES
    read_only: bool = False  # read-only root filesystem; `tmpfs` for what it must write
    tmpfs: Mapping[str, str] = field(default_factory=dict)  # container path → mount options


def jvm_heap_mb(memory_mb: int) -> int:
    """Half a JVM container's memory limit: the rest is for the JVM's own off-heap memory (and, for Kafka, the
    health probe's small JVM)."""
    return memory_mb // 2


def stack_platform(settings: Settings) -> Platform:
    """The stack's own bridge network: aliases such as `kafka-1` repeat across stacks without clashing."""
    network = docker.Network(
        "network",
        name=settings.prefix,
        driver="bridge",
        labels=[
            docker.NetworkLabelArgs(label=label, value=value)
            for label, value in _stack_labels(settings.project, settings.stack)
        ],
    )
    return Platform(settings.project, settings.stack, settings.config.bindAddress, settings.client_host, network)


def pinned_image(service: str, image: str, parent: pulumi.Resource) -> docker.RemoteImage:
    """Pull `image` (kept on destroy: another stack may use it); containers refer to it by id."""
    return docker.RemoteImage(
        f"{service}-image", name=image, keep_locally=True, opts=pulumi.ResourceOptions(parent=parent)
    )


def data_volume(
    platform: Platform,
    service: str,
    purpose: str,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> docker.Volume:
    """A named volume, so data outlives the container that uses it."""
    return docker.Volume(
        f"{service}-{purpose}",
        name=platform.name(service, purpose),
        labels=[docker.VolumeLabelArgs(label=label, value=value) for label, value in _labels(platform, service)],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )


def service_container(
    platform: Platform, spec: ContainerSpec, parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = ()
) -> docker.Container:
    return docker.Container(
        spec.service,
        name=platform.name(spec.service),
        hostname=spec.service,
        image=spec.image_id,
        envs=_environment(spec.envs),
        command=list(spec.command) if spec.command is not None else None,
        networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=platform.network.name, aliases=[spec.service])],
        ports=[
            docker.ContainerPortArgs(
                internal=internal, external=external, ip=spec.bind_address or platform.bind_address
            )
            for internal, external in spec.ports
        ],
        volumes=[
            docker.ContainerVolumeArgs(container_path=path, volume_name=volume.name)
            for path, volume in spec.volumes.items()
        ],
        healthcheck=spec.health.args() if spec.health else None,
        wait=spec.wait and spec.health is not None,
        must_run=True,
        stop_timeout=spec.stop_timeout_s,
        # kreuzwerker stops a container with `destroy_grace_seconds` (0 = kill at once) on delete and replace
        destroy_grace_seconds=spec.stop_timeout_s or DEFAULT_STOP_TIMEOUT_S,
        entrypoints=list(spec.entrypoint) if spec.entrypoint is not None else None,
        wait_timeout=spec.health.wait_timeout_s if spec.health else None,
        restart=spec.restart,
        memory=spec.memory_mb,
        cpus=f"{spec.cpus:g}",
        ulimits=list(spec.ulimits),
        user=spec.user,
        capabilities=docker.ContainerCapabilitiesArgs(
            drops=["ALL"], adds=list(ROOT_ENTRYPOINT_CAPABILITIES) if spec.root_entrypoint else []
        ),
        security_opts=[NO_NEW_PRIVILEGES],
        read_only=spec.read_only,
        tmpfs=dict(spec.tmpfs) or None,
        # a file under SECRETS_DIR is secret in state; configuration files stay readable in a preview's diff
        uploads=[
            docker.ContainerUploadArgs(
                file=path, content=pulumi.Output.secret(content) if path.startswith(SECRETS_DIR) else content
            )
            for path, content in sorted(spec.files.items())
        ],
        log_driver="json-file",
        log_opts=LOG_OPTIONS,
        labels=[
            docker.ContainerLabelArgs(label=label, value=value) for label, value in _labels(platform, spec.service)
        ],
        # The name and host ports are fixed: the old container must go before its replacement starts.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on), delete_before_replace=True),
    )


def _environment(envs: Mapping[str, pulumi.Input[str]]) -> pulumi.Output[list[str]]:
    """`NAME=value` strings; an entry built from a secret Output keeps the whole list secret."""
    return pulumi.Output.all(*[pulumi.Output.concat(name, "=", value) for name, value in sorted(envs.items())])


def _stack_labels(project: str, stack: str) -> list[tuple[str, str]]:
    return [(LABEL_PROJECT, project), (LABEL_STACK, stack)]


def _labels(platform: Platform, service: str) -> list[tuple[str, str]]:
    return [*_stack_labels(platform.project, platform.stack), (LABEL_SERVICE, service)]
