"""The pipelining-data stack: `pulumi up` brings the whole pipeline up on the local Docker engine.

This file sits at the project root (Pulumi.yaml has no `main:`) so that the Pulumi language host and the
dynamic-provider plugin both start here and resolve `virtualenv: .venv` to the same directory; the code
it imports is this repository, installed into that virtualenv by requirements.txt (`-e .`).
"""

from infra.stack import deploy

deploy()
