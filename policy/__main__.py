"""The policy pack: `pulumi preview --policy-pack policy` (what `make preview`, `make up` and CI do).

It runs in the project's .venv (PulumiPolicy.yaml), where this repository is installed: `policy.checks`
imports from any working directory."""

import pulumi_policy.policy
from pulumi_policy import PolicyPack

from policy.checks import ENFORCEMENT, POLICIES, keep_secret_markers
from policy.kubernetes_checks import KUBERNETES_POLICIES

pulumi_policy.policy.deserialize_properties = keep_secret_markers  # see keep_secret_markers: pinned pulumi-policy

PolicyPack(name="pipelining-data-guardrails", enforcement_level=ENFORCEMENT, policies=[*POLICIES, *KUBERNETES_POLICIES])
