"""`python -m infra.check [STACK]` (what `make check` runs): check a stack's configuration without the Pulumi
CLI or Docker.

Reads `Pulumi.<stack>.yaml` (the keys the stack sets) and applies the program's own validation to them
(`infra.settings.settings_from`, the same rules, defaults and cross-checks `pulumi up` applies; the defaults are
those `Pulumi.yaml` declares, generated from the same table). Every bad key is one line, an unknown key gets the
closest known one suggested; exit 0 when the configuration is accepted, 2 when it is not.

A secret (`pulumi config set --secret`) is stored as ciphertext (`secure: v1:…`): it counts as set, but its value
cannot be read without the passphrase, so it is not checked here (`pulumi up` checks it).
"""

from __future__ import annotations

import argparse
import os
import re
import runpy
import sys
from pathlib import Path
from typing import Any

import pulumi
import yaml

from infra.containers import LABEL_SERVICE
from infra.settings import KEYS_BY_NAME, PORT_KEYS, PROJECT, SettingsError, settings_from

ROOT = Path(__file__).resolve().parents[1]
STACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class CheckError(Exception):
    """The stack's file cannot be read as a configuration: one line each."""


def new_stack_config(dev: dict[str, Any], platform: str, project: str = PROJECT) -> tuple[dict[str, Any], list[str]]:
    """What `make stack` writes for a new stack: dev's file minus its host ports (the new stack derives its own),
    its encryption salt and its secrets — ciphertext under dev's key, which the new stack could not decrypt;
    a Kubernetes stack also says so and runs KRaft (Strimzi's only mode). Returns the document and the names of
    the secrets left out, to be set again with `pulumi config set --secret`."""
    ports = {f"{project}:{key}" for key in PORT_KEYS}
    config, secrets = {}, []
    for key, value in (dev.get("config") or {}).items():
        if isinstance(value, dict) and "secure" in value:
            secrets.append(key.removeprefix(f"{project}:"))
        elif key not in ports:
            config[key] = value
    if platform == "kubernetes":
        config.update({f"{project}:platform": "kubernetes", f"{project}:kafkaMode": "kraft"})
    document = {key: value for key, value in dev.items() if key not in ("config", "encryptionsalt")}
    return {**document, "config": config}, secrets


def stack_file(root: Path, stack: str) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def read_stack_config(path: Path, project: str = PROJECT) -> tuple[dict[str, str | None], list[str], list[str]]:
    """The project's keys `path` sets, as the engine hands them to the program (strings); the names of those
    that are secrets (not checkable here); and what is wrong with the file itself."""
    try:
        stored = yaml.safe_load(path.read_text()) or {}
    except OSError as error:
        raise CheckError(f"{path.name}: cannot be read ({error.strerror})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise CheckError(f"{path.name}: not valid YAML{where}: {getattr(error, 'problem', error)}") from None
    config = stored.get("config") if isinstance(stored, dict) else None
    if config is None:
        return {}, [], []
    if not isinstance(config, dict):
        raise CheckError(f"{path.name}: 'config' is not accepted: expected a mapping of {project}:<key> to values")
    raw: dict[str, str | None] = {}
    secrets, problems = [], []
    for qualified, value in config.items():
        namespace, _, name = str(qualified).partition(":")
        if not name:
            problems.append(f"{path.name}: {qualified} is not accepted: expected {project}:{qualified}")
            continue
        if namespace != project:
            continue  # a provider's own configuration (e.g. docker:host): not this program's to check
        if isinstance(value, dict) and set(value) == {"secure"}:
            secrets.append(name)
            raw[name] = None if name in KEYS_BY_NAME else ""  # present; its ciphertext cannot be checked here
        elif isinstance(value, dict | list):
            problems.append(f"{project}:{name} is not accepted: expected a single value, not a structured one")
        else:
            raw[name] = _as_engine_string(value)
    return raw, secrets, problems


def _as_engine_string(value: Any) -> str:
    """A YAML scalar as Pulumi hands it to the program: booleans lower-case, everything else as written."""
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def check(root: Path, stack: str) -> tuple[list[str], str]:
    """The problems with `stack`'s configuration (empty when it is accepted) and a summary line."""
    if not STACK_NAME.fullmatch(stack):
        return [f"STACK='{stack}' is not accepted: expected letters, digits, '.', '_' or '-'"], ""
    path = stack_file(root, stack)
    if not path.exists():  # a stack without a file of its own: `make up` makes one from dev's config
        return [], f"no {path.name}: every key takes its default"
    try:
        raw, secrets, problems = read_stack_config(path)
    except CheckError as error:
        return [str(error)], ""
    try:
        settings_from(raw, PROJECT, stack)
    except SettingsError as error:
        problems += str(error).splitlines()
    unchecked = f"; secrets not checked (ciphertext): {', '.join(sorted(secrets))}" if secrets else ""
    summary = f"{path.name}: {len(raw)} keys set, the rest default: accepted{unchecked}"
    return problems, summary


class _Recorder(pulumi.runtime.Mocks):
    """Pulumi's mocks as a dry run: every resource's outputs are its inputs; the containers' service labels are
    kept. The program itself says which services a stack has (kafka-1…kafka-N, zookeeper only in its mode)."""

    def __init__(self) -> None:
        self.services: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        if args.typ == "docker:index/container:Container":
            labels = {label["label"]: label["value"] for label in args.inputs.get("labels", [])}
            self.services.append(labels[LABEL_SERVICE])
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        return {}, None


def services(stack: str, config: dict[str, str | None]) -> list[str]:
    """The services (container labels) the program declares for `stack` with `config`: a run under mocks."""
    recorder = _Recorder()
    pulumi.runtime.set_mocks(recorder, project=PROJECT, stack=stack, preview=True)
    pulumi.runtime.set_all_config({f"{PROJECT}:{k}": v for k, v in config.items() if v is not None})

    @pulumi.runtime.test
    def run() -> None:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    run()
    return sorted(recorder.services)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.check", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("stack", nargs="?", default="dev", help="the stack to check (default: dev)")
    parser.add_argument("--services", action="store_true", help="print the stack's services (one line) instead")
    parser.add_argument("--prefix", default="make check", help="what each line starts with (default: make check)")
    args = parser.parse_args(argv)
    problems, summary = check(ROOT, args.stack)
    for problem in problems:
        print(f"{args.prefix}: {problem}", file=sys.stderr)
    if problems:
        return 2
    if args.services:
        path = stack_file(ROOT, args.stack)
        raw = read_stack_config(path)[0] if path.exists() else {}
        print(" ".join(services(args.stack, raw)), flush=True)
        # Pulumi's mocks leave their event loop open: interpreter teardown would print an "Exception ignored"
        # traceback now and then on stderr, which `make logs` shows; nothing is left to flush or close
        os._exit(0)
    else:
        print(f"{args.prefix}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
