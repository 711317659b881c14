"""ZooKeeper: the coordination service Kafka 3.9 runs on in ZooKeeper mode (`kafkaMode` zookeeper). No host port."""

from __future__ import annotations

import pulumi

from infra.containers import (
    ContainerSpec,
    Health,
    Platform,
    Resources,
    data_volume,
    jvm_heap_mb,
    pinned_image,
    service_container,
)

CLIENT_PORT = 2181
ZOOKEEPER_USER = "1000:1000"  # the image's `zookeeper` user and group, which own /conf, /data, /datalog, /logs


class ZooKeeper(pulumi.ComponentResource):
    def __init__(self, platform: Platform, resources: Resources, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pipelining-data:services:ZooKeeper", "zookeeper", None, opts)
        image = pinned_image("zookeeper", resources.image, parent=self)
        heap_mb = jvm_heap_mb(resources.memory_mb)
        self.container = service_container(
            platform,
            ContainerSpec(
                service="zookeeper",
                image_id=image.image_id,
                memory_mb=resources.memory_mb,
                cpus=resources.cpus,
                envs={
                    "ZOO_AUTOPURGE_PURGEINTERVAL": "24",  # hours; 0 (the image's default) never purges
                    "ZOO_AUTOPURGE_SNAPRETAINCOUNT": "3",
                    "ZOO_4LW_COMMANDS_WHITELIST": "srvr,ruok,mntr",
                    "ZOO_ADMINSERVER_ENABLED": "false",
                    "ZOO_STANDALONE_ENABLED": "true",
                    "JVMFLAGS": f"-Xms{heap_mb}m -Xmx{heap_mb}m",
                },
                volumes={
                    "/data": data_volume(platform, "zookeeper", "data", parent=self),
                    "/datalog": data_volume(platform, "zookeeper", "datalog", parent=self),
                },
                user=ZOOKEEPER_USER,  # the entrypoint allows `--user`: no root, no gosu (docs/upstream.md)
                health=Health(f"echo srvr | nc -w 2 localhost {CLIENT_PORT} | grep -q Mode", start_period_s=10),
            ),
            parent=self,
        )
        self.connect = f"zookeeper:{CLIENT_PORT}"
        self.register_outputs({"containerName": self.container.name})
