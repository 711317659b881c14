"""The policy pack: `pulumi preview --policy-pack policy` (what `make preview`, `make up` and CI do)."""

import sys
from pathlib import Path

import pulumi_policy.policy
from pulumi_policy import PolicyPack

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policy.checks import ENFORCEMENT, POLICIES, keep_secret_markers

pulumi_policy.policy.deserialize_properties = keep_secret_markers  # see keep_secret_markers: pinned pulumi-policy

PolicyPack(name="pipelining-data-guardrails", enforcement_level=ENFORCEMENT, policies=POLICIES)
