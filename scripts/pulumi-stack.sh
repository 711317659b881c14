#!/usr/bin/env bash
# make up / preview / destroy / outputs / verify / stack / stacks / status / logs: the stacks of this checkout.
#   scripts/pulumi-stack.sh up|preview|destroy|outputs|verify|stack|stacks|status|logs [STACK]
# Read from the environment: YES=1 (destroy without asking), FORCE=1 (destroy a stack whose ClickHouse is gone),
# ALERT=1 (verify), SERVICE and FOLLOW=1 (logs).
# State: Pulumi.yaml's `backend: url: file://.` (a file backend in ./.pulumi/, relative to the directory
# pulumi runs in: always the checkout root here) unless PULUMI_BACKEND_URL is set. Secrets in it are
# encrypted with a passphrase generated once into .pulumi-passphrase unless PULUMI_CONFIG_PASSPHRASE(_FILE)
# is set; Pulumi cannot be told about a passphrase file in any project or stack file, so plain `pulumi`
# commands need `export PULUMI_CONFIG_PASSPHRASE_FILE=$PWD/.pulumi-passphrase` (README).
set -euo pipefail

action=${1:?usage: scripts/pulumi-stack.sh up|preview|destroy|outputs|verify|stack|stacks|status|logs|platform-up|platform-preview|platform-destroy [STACK]}
stack=${2:-dev}
root=$(cd "$(dirname "$0")/.." && pwd)
project=pipelining-data

fail() {
  echo "make $action: $*" >&2
  exit 2
}

need_valid_name() {
  [[ $stack =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] ||
    fail "$name_variable='$stack' is not accepted: expected letters, digits, '.', '_' or '-'"
}

# Every missing prerequisite of the action, one line each with how to get it, then exit 2: a new machine learns
# everything it lacks at once, not one install at a time.
need_tools() {
  local missing=() tool
  for tool in "$@"; do
    case $tool in
      pulumi)
        command -v pulumi > /dev/null ||
          missing+=("the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/, e.g. 'curl -fsSL https://get.pulumi.com | sh') and open a new shell")
        ;;
      docker)
        if ! command -v docker > /dev/null; then
          missing+=("the docker CLI is not on PATH: install Docker Engine or Docker Desktop (https://docs.docker.com/get-docker/)")
        elif ! docker info > /dev/null 2>&1; then
          missing+=("the Docker engine is not reachable: start Docker (or set DOCKER_HOST) and check with 'docker info'")
        fi
        ;;
    esac
  done
  [[ ${#missing[@]} -eq 0 ]] && return
  for tool in "${missing[@]}"; do echo "make $action: $tool" >&2; done
  exit 2
}

# `make logs`: SERVICE is an argument, checked before any tool: set, and one of the services the program
# declares for the stack's config (python -m infra.check --services runs the program under Pulumi's mocks).
need_service() {
  [[ -n ${SERVICE:-} ]] || fail "SERVICE is required, e.g. make logs SERVICE=kafka-1 (services: make status)"
  [[ $SERVICE =~ ^[a-z0-9][a-z0-9-]*$ ]] ||
    fail "SERVICE='$SERVICE' is not accepted: expected a service name of lowercase letters, digits and '-' (services: make status)"
  make --no-print-directory -C "$root" deploy-venv > /dev/null || exit 2
  local known
  known=$("$root/.venv/bin/python" -m infra.check --services --prefix "make $action" "$stack") || exit 2
  [[ " $known " == *" $SERVICE "* ]] ||
    fail "SERVICE='$SERVICE' is not accepted: expected one of the stack's services: $known"
}

# Pulumi takes a variable that is set but empty as the passphrase itself (docs/upstream.md): refused here.
use_local_secrets() {
  local variable
  for variable in PULUMI_CONFIG_PASSPHRASE PULUMI_CONFIG_PASSPHRASE_FILE; do
    [[ -n ${!variable+set} && -z ${!variable} ]] &&
      fail "$variable is set but empty: Pulumi would use the empty value; unset it (a passphrase is generated into .pulumi-passphrase) or give it a value"
  done
  if [[ -z ${PULUMI_CONFIG_PASSPHRASE+set} && -z ${PULUMI_CONFIG_PASSPHRASE_FILE+set} ]]; then
    local passphrase="$root/.pulumi-passphrase"
    if [[ ! -s $passphrase ]]; then
      (umask 077 && head -c 32 /dev/urandom | base64 > "$passphrase")
      echo "make $action: generated the state passphrase into .pulumi-passphrase (git-ignored; keep it, apart from the state)" >&2
    fi
    chmod 600 "$passphrase" # whoever made it, with whatever umask: only its owner reads it
    export PULUMI_CONFIG_PASSPHRASE_FILE="$passphrase"
  fi
}

# `pulumi stack select`: 0 selected, 1 no such stack (Pulumi exits 6 for that since v3.226.0, and said
# "no stack named … found" before and since: docs/upstream.md); any other failure (a wrong passphrase, an
# unreachable backend) stops here with what Pulumi said.
stack_exists() {
  local said code=0
  said=$(pulumi stack select "$stack" 2>&1 > /dev/null) || code=$?
  [[ $code == 0 ]] && return 0
  [[ $code == 6 || $said == *"no stack named '$stack' found"* ]] && return 1
  fail "'pulumi stack select $stack' failed (exit $code): $(printf '%s' "$said" | tr '\n' ' ')"
}

# Docker Engine publishes a 127.0.0.1 port to the local network too before 28.0 (moby/moby#45610), and after a
# firewalld reload before 28.3.3 (CVE-2025-54388): say so before `up` relies on loopback (docs/security.md).
# Both are the Linux host's own iptables/firewalld rules; Docker Desktop's engine runs in a VM of its own and
# publishes through its own port forwarder, so it is not warned about.
MIN_DOCKER=28.3.3
check_docker_version() {
  local version
  [[ $(docker info --format '{{.OperatingSystem}}' 2> /dev/null || true) != *"Docker Desktop"* ]] || return 0
  version=$(docker version --format '{{.Server.Version}}' 2> /dev/null || true)
  [[ $version =~ ^([0-9]+)\.([0-9]+)\.([0-9]+) ]] || return 0 # not an Engine version: nothing to compare
  local have=$((BASH_REMATCH[1] * 1000000 + BASH_REMATCH[2] * 1000 + BASH_REMATCH[3]))
  [[ $MIN_DOCKER =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]]
  local need=$((BASH_REMATCH[1] * 1000000 + BASH_REMATCH[2] * 1000 + BASH_REMATCH[3]))
  if ((have < need)); then
    echo "make $action: warning: Docker Engine $version is older than $MIN_DOCKER: ports published on 127.0.0.1 can be reached from the local network (docs/security.md); upgrade Docker" >&2
  fi
}

select_stack() {
  stack_exists ||
    fail "no stack '$stack' in this checkout's state: 'make stacks' lists them, 'make stack NAME=$stack' creates it"
}

# A new stack starts from dev's config without dev's host ports, so it gets ports of its own.
# PLATFORM=kubernetes: a Kubernetes stack (its namespace pd-<stack>; KRaft, as Strimzi requires).
select_or_create_stack() {
  local config="$root/Pulumi.$stack.yaml"
  [[ -z ${PLATFORM:-} || ! -e $config ]] || same_platform "$config"
  if stack_exists; then
    return
  fi
  if [[ $stack != dev && ! -e $config ]]; then
    case ${PLATFORM:-docker} in
      docker | kubernetes) ;;
      *) fail "PLATFORM='$PLATFORM' is not accepted: expected docker or kubernetes" ;;
    esac
    # parsed and written by a YAML library, not edited as text (infra.check.new_stack_config says what is left out)
    "$root/.venv/bin/python" - "$root/Pulumi.dev.yaml" "$config" "${PLATFORM:-docker}" "$stack" "$action" << 'PY'
import sys, yaml
from infra.check import new_stack_config
source, target, platform, stack, action = sys.argv[1:]
document, secrets = new_stack_config(yaml.safe_load(open(source)) or {}, platform)
with open(target, "w") as out:
    yaml.safe_dump(document, out, default_flow_style=False, sort_keys=False)
for key in secrets:
    print(f"make {action}: dev's secret {key} is not copied (dev's key encrypts it): "
          f"pulumi config set --secret {key} … --stack {stack}", file=sys.stderr)
PY
  fi
  pulumi stack init "$stack" > /dev/null
  echo "make $action: created stack '$stack' (config: Pulumi.$stack.yaml)" >&2
}

# PLATFORM= names the platform of a new stack; for a stack whose file exists, it must be the file's.
same_platform() {
  local written
  written=$("$root/.venv/bin/python" -c 'import sys, yaml
config = (yaml.safe_load(open(sys.argv[1])) or {}).get("config") or {}
print(config.get(sys.argv[2] + ":platform", "docker"))' "$1" "$project") || exit 2
  [[ $written == "$PLATFORM" ]] ||
    fail "PLATFORM='$PLATFORM' is not accepted: Pulumi.$stack.yaml says platform $written; drop PLATFORM, or pick another NAME"
}

# The policy pack runs on every preview and update. No stack setting makes an exception to it: it judges the
# service behind a port published beyond loopback (docs/team-workflow.md, 'Policies').
policy_args() {
  policy=(--policy-pack "$root/policy")
}

list_stacks() {
  "$root/.venv/bin/python" - "$(pulumi stack ls --json)" << 'PY'
import json, subprocess, sys
for stack in json.loads(sys.argv[1]):
    name = stack["name"]
    found = subprocess.run(["pulumi", "stack", "output", "--json", "--stack", name], capture_output=True, text=True)
    outputs = json.loads(found.stdout or "{}") if found.returncode == 0 else {}
    urls = "  ".join(f"{key}={outputs[key]}" for key in ("grafanaUrl", "kafkaUiUrl", "clickhouseUrl") if key in outputs)
    print(f"{name:<16} {urls or '(not deployed)'}")
PY
}

stack_containers() {
  docker ps -a --filter "label=io.pulumi.project=$project" --filter "label=io.pulumi.stack=$stack" "$@"
}

# Each service's container state and health, from Docker; then the stack's URLs when Pulumi knows them.
show_status() {
  local rows
  rows=$(stack_containers --format '{{.Label "io.pulumi.service"}}\t{{.State}}\t{{.Status}}' | sort)
  [[ -n $rows ]] || fail "no containers of stack '$stack' on this Docker engine: make up STACK=$stack"
  printf 'SERVICE\tSTATE\tSTATUS\n%s\n' "$rows" | awk -F '\t' '{ printf "%-20s %-10s %s\n", $1, $2, $3 }'
  if command -v pulumi > /dev/null && make --no-print-directory -C "$root" deploy-venv > /dev/null &&
    cd "$root" && use_local_secrets && pulumi stack select "$stack" > /dev/null 2>&1; then
    echo
    pulumi stack output --stack "$stack" | grep -E 'Url|BootstrapServers' || true
  fi
}

show_logs() {
  local name="$project-$stack-$SERVICE"
  if ! docker inspect --type container "$name" > /dev/null 2>&1; then
    local services
    services=$(stack_containers --format '{{.Label "io.pulumi.service"}}' | sort | tr '\n' ' ')
    services=${services% }
    fail "no container '$SERVICE' in stack '$stack' (services: ${services:-none: make up STACK=$stack})"
  fi
  local follow=()
  [[ ${FOLLOW:-} == 1 ]] && follow=(--follow)
  exec docker logs --tail 200 ${follow[@]+"${follow[@]}"} "$name" # bash 3.2 (macOS): empty arrays
}

# Removing a stack removes its volumes and their data: a person confirms it by typing the stack's name.
confirm_destroy() {
  [[ ${YES:-} == 1 ]] && return
  [[ -t 0 ]] || fail "refusing to destroy stack '$stack' without a terminal to confirm on: pass YES=1"
  local answer
  read -r -p "Destroy stack '$stack': every container, volume and row of data? Type its name to confirm: " answer
  [[ $answer == "$stack" ]] || fail "not confirmed; nothing was removed"
}

print_access() {
  echo
  pulumi stack output --stack "$stack"
  echo
  echo "Passwords are secret outputs: 'make outputs STACK=$stack' shows them."
}

# Arguments first (the stack's name, SERVICE), then every missing tool at once, then the work.
name_variable=STACK
[[ $action == stack ]] && name_variable=NAME
case $action in
  up | preview | destroy | outputs | verify | status | logs | stack | stacks) ;;
  platform-up | platform-preview | platform-destroy) ;;
  *) fail "unknown action '$action'" ;;
esac
need_valid_name
[[ $action == logs ]] && need_service
case $action in
  status | logs)
    need_tools docker
    if [[ $action == status ]]; then show_status; else show_logs; fi
    exit 0
    ;;
  platform-up | platform-preview | platform-destroy) need_tools pulumi ;; # the platform stack: Kubernetes only
  up | preview | destroy) need_tools pulumi docker ;;
  *) need_tools pulumi ;;
esac
make --no-print-directory -C "$root" deploy-venv # requirements.txt only: no test tools for a deploy
cd "$root" # Pulumi.yaml's relative file:// backend is taken from the directory pulumi runs in
use_local_secrets
case $action in
  stacks)
    list_stacks
    exit 0
    ;;
  platform-*) # the once-per-cluster platform project in platform/ (docs/kubernetes.md); same backend
    if [[ $action == platform-up ]]; then
      pulumi -C platform stack select --create "$stack" > /dev/null
    else # a preview or a destroy never creates the platform stack from a typo
      pulumi -C platform stack select "$stack" > /dev/null 2>&1 ||
        fail "no platform stack '$stack' in this checkout's state: 'make platform-up STACK=$stack' creates it"
    fi
    [[ $action == platform-destroy ]] && confirm_destroy
    case $action in
      platform-up) pulumi -C platform up --stack "$stack" --yes --policy-pack "$root/policy" ;;
      platform-preview) pulumi -C platform preview --stack "$stack" --diff --policy-pack "$root/policy" ;;
      platform-destroy) pulumi -C platform destroy --stack "$stack" --yes ;;
    esac
    exit 0
    ;;
  up | stack) select_or_create_stack ;;
  *) select_stack ;; # read-only and destructive actions never create a stack from a typo
esac
if [[ $action == destroy ]]; then confirm_destroy; fi
case $action in
  up)
    check_docker_version
    policy_args
    pulumi up --stack "$stack" --yes "${policy[@]}"
    print_access
    ;;
  preview)
    policy_args
    pulumi preview --stack "$stack" --diff "${policy[@]}"
    ;;
  destroy)
    if [[ ${FORCE:-} == 1 ]]; then
      echo "make destroy: FORCE=1: a ClickHouse that does not answer within 5 s is not asked to drop the schema; its data goes with the stack's volumes" >&2
      export PIPELINING_DATA_FORCE_DELETE=1 # read by the schema provider's delete (infra/provider_support.py)
    fi
    pulumi destroy --stack "$stack" --yes
    ;;
  outputs) pulumi stack output --stack "$stack" --show-secrets ;;
  verify)
    alert=()
    [[ ${ALERT:-} == 1 ]] && alert=(--alert)
    exec "$root/.venv/bin/python" -m verify --stack "$stack" ${alert[@]+"${alert[@]}"} # bash 3.2: empty arrays
    ;;
  stack) echo "stack '$stack' is ready: make up STACK=$stack" ;;
esac
