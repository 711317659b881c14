"""The script the Grafana container starts with, executed with stand-ins for `grafana` and `/run.sh` that
record what they are given."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from infra.grafana_server import IMAGE_ENTRYPOINT, START_SCRIPT
from testbed.program import run_program, unwrap

PASSWORD = "rotated-password-42"


def recorder(path: Path, log: Path, exit_code: int = 0) -> None:
    """A command that appends its arguments and its stdin to `log`, then exits with `exit_code`."""
    script = f'echo "$(basename "$0") $*" >> {log}\ninput=$(cat)\n[ -z "$input" ] || printf "%s\\n" "$input" >> {log}\n'
    path.write_text(f"#!/bin/sh\n{script}exit {exit_code}\n")
    path.chmod(0o755)


def start(tmp_path: Path, database_exists: bool, cli_exit: int = 0) -> tuple[subprocess.CompletedProcess, str]:
    tools, data, log = tmp_path / "bin", tmp_path / "data", tmp_path / "calls.log"
    tools.mkdir()
    data.mkdir()
    if database_exists:
        (data / "grafana.db").write_bytes(b"")
    recorder(tools / "grafana", log, cli_exit)
    recorder(tools / "run.sh", log)
    secret = tmp_path / "admin_password"
    secret.write_text(PASSWORD)  # as uploaded: the password alone, no newline
    assert START_SCRIPT.count(IMAGE_ENTRYPOINT) == 1
    script = START_SCRIPT.replace(IMAGE_ENTRYPOINT, str(tools / "run.sh"))
    env = {
        "PATH": f"{tools}:{os.environ['PATH']}",
        "GF_PATHS_DATA": str(data),  # the image sets GF_PATHS_* (packaging/docker Dockerfile)
        "GF_PATHS_HOME": "/usr/share/grafana",
        "GF_PATHS_CONFIG": "/etc/grafana/grafana.ini",
        "GF_SECURITY_ADMIN_PASSWORD__FILE": str(secret),  # the uploaded file (infra.containers `files`)
    }
    result = subprocess.run(
        [shutil.which("sh"), "-c", script, "grafana-start", "--extra"],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return result, log.read_text() if log.exists() else ""


def test_first_start_leaves_the_password_to_grafana_and_runs_the_image_entrypoint(tmp_path: Path) -> None:
    result, calls = start(tmp_path, database_exists=False)
    assert result.returncode == 0, result.stderr
    assert calls == "run.sh --extra\n"


def test_a_later_start_resets_the_admin_password_through_stdin_first(tmp_path: Path) -> None:
    result, calls = start(tmp_path, database_exists=True)
    assert result.returncode == 0, result.stderr
    assert calls.splitlines() == [
        "grafana cli --homepath /usr/share/grafana --config /etc/grafana/grafana.ini "
        "admin reset-admin-password --password-from-stdin",
        PASSWORD,  # read from stdin: never on a command line `ps` shows
        "run.sh --extra",
    ]


def test_a_failed_reset_is_said_in_one_line_and_grafana_still_starts(tmp_path: Path) -> None:
    result, calls = start(tmp_path, database_exists=True, cli_exit=1)
    assert result.returncode == 0
    assert result.stderr.strip() == (
        "grafana-start: could not reset the admin password; the previous one stays in force"
    )
    assert calls.splitlines()[-1] == "run.sh --extra"


def test_the_program_starts_grafana_through_the_script_with_what_it_reads() -> None:
    grafana = run_program().containers["grafana"]
    assert grafana.inputs["entrypoints"] == ["/bin/sh", "-c", START_SCRIPT, "grafana-start"]
    env = dict(line.split("=", 1) for line in unwrap(grafana.inputs["envs"]))
    uploads = {upload["file"]: upload["content"] for upload in unwrap(grafana.inputs["uploads"])}
    assert env["GF_SECURITY_ADMIN_PASSWORD__FILE"] in uploads  # the file the script and run.sh read
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env
    assert not [name for name in env if name.startswith("GF_PATHS_")]  # the image's own ENV, as the script expects
