"""Grafana 12.4 with the ClickHouse plugin preinstalled at a pinned version; no anonymous access.

The admin password is applied only when Grafana's user table is empty (its first start on a new volume), so a
rotated password would never reach a running stack. The container therefore starts through `START_SCRIPT`: on
every start with an existing database it sets the admin password to the configured one with Grafana's own CLI
(read from its file on stdin, not in the process list), then hands over to the image's entrypoint, `/run.sh`,
which reads the `GF_*__FILE` secrets. Sources: docs/upstream.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.containers import (
    ContainerSpec,
    Health,
    Platform,
    Resources,
    data_volume,
    pinned_image,
    secret_file,
    service_container,
)
from infra.passwords import generated_password

HTTP_PORT = 3000
ADMIN_USER = "admin"
IMAGE_ENTRYPOINT = "/run.sh"
# Secrets as files: the image's run.sh turns each GF_*__FILE into GF_* (the file's content) for Grafana only.
ADMIN_PASSWORD_FILE = secret_file("grafana", "admin_password")
SECRET_KEY_FILE = secret_file("grafana", "secret_key")
START_SCRIPT = f"""\
set -eu
if [ -f "$GF_PATHS_DATA/grafana.db" ]; then
  grafana cli --homepath "$GF_PATHS_HOME" --config "$GF_PATHS_CONFIG" \\
      admin reset-admin-password --password-from-stdin < "$GF_SECURITY_ADMIN_PASSWORD__FILE" > /dev/null ||
    echo "grafana-start: could not reset the admin password; the previous one stays in force" >&2
fi
exec {IMAGE_ENTRYPOINT} "$@"
"""


@dataclass(frozen=True)
class GrafanaArgs:
    resources: Resources
    host_port: int
    clickhouse_plugin: str  # id@version, installed before the server starts


class Grafana(pulumi.ComponentResource):
    def __init__(self, platform: Platform, args: GrafanaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pipelining-data:services:Grafana", "grafana", None, opts)
        image = pinned_image("grafana", args.resources.image, parent=self)
        self.admin_user = ADMIN_USER
        self.admin_password = generated_password("grafana-admin-password", parent=self)
        # encrypts the datasource password and other secrets in Grafana's database; the public default otherwise
        self.secret_key = generated_password("grafana-secret-key", parent=self)
        self.container = service_container(
            platform,
            ContainerSpec(
                service="grafana",
                image_id=image.image_id,
                memory_mb=args.resources.memory_mb,
                cpus=args.resources.cpus,
                envs={
                    "GF_SECURITY_ADMIN_USER": ADMIN_USER,
                    "GF_SECURITY_ADMIN_PASSWORD__FILE": ADMIN_PASSWORD_FILE,
                    "GF_SECURITY_SECRET_KEY__FILE": SECRET_KEY_FILE,
                    "GF_AUTH_ANONYMOUS_ENABLED": "false",
                    "GF_USERS_ALLOW_SIGN_UP": "false",
                    "GF_ANALYTICS_REPORTING_ENABLED": "false",
                    # installed before the server starts
                    "GF_PLUGINS_PREINSTALL_SYNC": args.clickhouse_plugin,
                },
                ports=[(HTTP_PORT, args.host_port)],
                files={ADMIN_PASSWORD_FILE: self.admin_password, SECRET_KEY_FILE: self.secret_key},
                volumes={"/var/lib/grafana": data_volume(platform, "grafana", "data", parent=self)},
                entrypoint=["/bin/sh", "-c", START_SCRIPT, "grafana-start"],
                # the first start downloads the plugin: allow for a slow network
                health=Health.http(HTTP_PORT, "/api/health", start_period_s=60),
            ),
            parent=self,
        )
        self.url = platform.url(args.host_port)
        self.register_outputs({"url": self.url, "adminUser": ADMIN_USER})
