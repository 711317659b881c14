"""The platform stack's program: `make platform-up` (docs/kubernetes.md)."""

from infra.kubernetes.platform_stack import deploy_platform

deploy_platform()
