"""What a Docker stack exports, and which of it `make verify` reads: the one list the program's exports and verify's
checks both follow (`pulumi stack output` is the contract between them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StackOutput:
    name: str
    verified: bool = False  # `make verify` needs it to check the running stack


STACK_OUTPUTS = (
    StackOutput("platform"),  # verify reads it to say it checks Docker stacks only
    StackOutput("grafanaUrl", verified=True),
    StackOutput("grafanaAdminUser", verified=True),
    StackOutput("grafanaAdminPassword", verified=True),
    StackOutput("dashboardUrl"),
    StackOutput("kafkaUiUrl"),
    StackOutput("kafkaUiUser"),
    StackOutput("kafkaUiPassword"),
    StackOutput("kafkaBootstrapServers", verified=True),
    StackOutput("clickhouseUrl", verified=True),
    StackOutput("clickhouseAdminUser"),
    StackOutput("clickhouseAdminPassword"),
    StackOutput("clickhouseReaderUser", verified=True),
    StackOutput("clickhouseReaderPassword", verified=True),
    StackOutput("clickhouseDatabase"),
    StackOutput("kafkaMode"),
    StackOutput("kafkaTopic", verified=True),
    StackOutput("kafkaTopicPartitions", verified=True),
    StackOutput("kafkaReplicationFactor", verified=True),
    StackOutput("schemaSpec", verified=True),
    StackOutput("grafanaDatasourceUid", verified=True),
    StackOutput("midPriceThreshold", verified=True),
    StackOutput("reportIntervalSeconds"),
)
VERIFIED_OUTPUTS = tuple(output.name for output in STACK_OUTPUTS if output.verified)
