"""Passwords are generated, never written down: secret in state, read with `pulumi stack output --show-secrets`."""

from __future__ import annotations

import pulumi
import pulumi_random as random

PASSWORD_LENGTH = 32


def generated_password(name: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """A random password; letters and digits only, so it is safe in env vars, URLs and SQL literals."""
    password = random.RandomPassword(
        name, length=PASSWORD_LENGTH, special=False, opts=pulumi.ResourceOptions(parent=parent)
    )
    return pulumi.Output.secret(password.result)
