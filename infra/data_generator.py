"""The market-data generator: its image built locally from `generator/Dockerfile`, and its container.

The image tag is a hash of the files the image is built from, so a code change gives a new tag, a new
image id, and therefore a new container; an unchanged checkout rebuilds nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker as docker

from core.generator_config import environment_for
from infra.containers import ContainerSpec, Health, Platform, service_container
from infra.kafka_cluster import KafkaCluster
from infra.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
GENERATOR_DIR = REPO_ROOT / "generator"
IMAGE_REPOSITORY = "pipelining-data-generator"
HEARTBEAT_DIR = "/tmp"
HEARTBEAT_FILE = f"{HEARTBEAT_DIR}/generator.heartbeat"
PROGRESS_INTERVAL_S = 10.0
SHUTDOWN_TIMEOUT_S = 10.0  # the generator flushes for this long on SIGTERM
STOP_TIMEOUT_S = int(SHUTDOWN_TIMEOUT_S) + 5  # Docker's SIGKILL must come after that flush


def source_digest(root: Path = REPO_ROOT) -> str:
    """A short hash of what the image is built from: the Dockerfile copies `core/*.py` and `generator/*.py`."""
    digest = hashlib.sha256()
    sources = [*sorted((root / "core").glob("*.py")), *sorted((root / "generator").glob("*.py"))]
    for path in [*sources, root / "generator" / "Dockerfile", root / "generator" / "requirements.lock"]:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_args() -> docker.DockerBuildArgs:
    """How the image is built on every platform: relative paths, so the same checkout gives the same inputs on
    every machine."""
    return docker.DockerBuildArgs(
        context=os.path.relpath(REPO_ROOT), dockerfile=os.path.relpath(GENERATOR_DIR / "Dockerfile")
    )


def generator_environment(settings: Settings) -> dict[str, str]:
    """The generator's environment on every platform: the settings' report shape, topic and brokers, plus
    the heartbeat its health probe reads and its shutdown flush."""
    config = dataclasses.replace(
        settings.generator_config(),
        heartbeat_file=HEARTBEAT_FILE,
        progress_interval_s=PROGRESS_INTERVAL_S,
        shutdown_timeout_s=SHUTDOWN_TIMEOUT_S,
    )
    return environment_for(config)


def health_command() -> str:
    """Healthy while the heartbeat is younger than three progress intervals."""
    return f"python -m generator.health {HEARTBEAT_FILE} {3 * PROGRESS_INTERVAL_S:g}"


@dataclass(frozen=True)
class DataGeneratorArgs:
    memory_mb: int
    cpus: float
    environment: Mapping[str, str]  # `generator_environment`: the same on every platform


class DataGenerator(pulumi.ComponentResource):
    def __init__(
        self,
        platform: Platform,
        args: DataGeneratorArgs,
        kafka: KafkaCluster,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("pipelining-data:services:DataGenerator", "generator", None, opts)
        built = docker.Image(
            "generator-build",
            image_name=f"{IMAGE_REPOSITORY}:{source_digest()}",
            build=build_args(),
            skip_push=True,  # local image: no registry involved
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.container = service_container(
            platform,
            ContainerSpec(
                service="generator",
                # With skip_push, repo_digest is the local image id: no registry lookup, and a rebuild
                # (new content) is a new id, so the container is replaced.
                image_id=built.repo_digest,
                memory_mb=args.memory_mb,
                cpus=args.cpus,
                envs=dict(args.environment),
                health=Health(
                    health_command(),
                    interval_s=15,
                    start_period_s=30,
                ),
                restart="on-failure",
                read_only=True,  # it writes only its heartbeat, to a small tmpfs
                tmpfs={HEARTBEAT_DIR: "rw,noexec,nosuid,nodev,size=1m"},
                stop_timeout_s=STOP_TIMEOUT_S,
                wait=False,  # nothing depends on the generator
            ),
            parent=self,
            depends_on=[kafka.topic],
        )
        self.register_outputs({"image": built.image_name})
