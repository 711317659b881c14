"""What the apache/kafka 4.3.1 image does with a KRaft node's environment when it starts, as its own code reads
(docs/upstream.md, "Kafka: apache/kafka (KRaft mode)"): the Docker wrapper turns `KAFKA_*` variables into
server.properties and formats storage on every start with arguments that depend on `CLUSTER_ID` alone; the
storage tool refuses a controller without static voters when no format flag is given. The tests hold the env we
declare to these rules, for 1 and 3 nodes."""

from __future__ import annotations

from collections.abc import Mapping

CONFIG = "/opt/kafka/config/server.properties"
DEFAULT_CLUSTER_ID = "5L6g3nShT-eMCtK--X86sw"  # docker/resources/common-scripts/configureDefaults L18-27
NOT_PROPERTIES = frozenset({  # KafkaDockerWrapper.scala L327-338: read by the scripts, not the server
    "KAFKA_VERSION", "KAFKA_HEAP_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_OPTS", "KAFKA_JMX_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL", "KAFKA_LOG4J_LOGGERS",
    "KAFKA_TOOLS_LOG4J_LOGLEVEL", "KAFKA_JMX_HOSTNAME",
})  # fmt: skip
NO_VOTERS = (  # StorageTool.scala L162-169
    "Because controller.quorum.voters is not set on this controller, you must specify one of the following: "
    "--standalone, --initial-controllers, or --no-initial-controllers."
)


def server_properties(env: Mapping[str, str]) -> dict[str, str]:
    """KafkaDockerWrapper.scala L188-196: `KAFKA_X___Y__Z` → `x-y_z`, every other `_` a dot."""
    properties = {}
    for name, value in env.items():
        if name.startswith("KAFKA_") and name not in NOT_PROPERTIES:
            key = name.removeprefix("KAFKA_").lower().replace("_", ".").replace("...", "-").replace("..", "_")
            properties[key] = value
    return properties


def format_args(env: Mapping[str, str]) -> list[str]:
    """KafkaDockerWrapper.scala L117-125: the same on every start, whatever else the env holds."""
    cluster_id = env.get("CLUSTER_ID") or DEFAULT_CLUSTER_ID
    return ["format", f"--cluster-id={cluster_id}", "-c", CONFIG]


def format_failure(env: Mapping[str, str]) -> str | None:
    """What the storage tool refuses when the wrapper formats a fresh volume (None: it formats). The wrapper
    passes no `--standalone`, `--initial-controllers` or `--no-initial-controllers`, so a controller needs
    static voters; KAFKA-19489 would refuse such a flag beside them anyway."""
    properties = server_properties(env)
    controller = "controller" in properties.get("process.roles", "").split(",")
    return NO_VOTERS if controller and not properties.get("controller.quorum.voters") else None
