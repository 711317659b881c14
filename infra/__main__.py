"""The pipelining-data stack: `pulumi up` brings the whole pipeline up on the local Docker engine."""

import sys
from pathlib import Path

# Pulumi puts infra/ on sys.path; the program imports `infra.*` and `generator.*` from the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.stack import deploy

deploy()
