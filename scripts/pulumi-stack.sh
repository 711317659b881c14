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
port_keys="grafanaPort kafkaUiPort clickhousePort kafkaPort"

fail() {
  echo "make $action: $*" >&2
  exit 2
}

need_valid_name() {
  [[ $stack =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] ||
    fail "$name_variable='$stack' is not accepted: expected letters, digits, '.', '_' or '-'"
}

need_pulumi() {
  command -v pulumi > /dev/null ||
    fail "the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/, e.g. 'curl -fsSL https://get.pulumi.com | sh') and open a new shell"
}

need_docker() {
  command -v docker > /dev/null ||
    fail "the docker CLI is not on PATH: install Docker Engine or Docker Desktop (https://docs.docker.com/get-docker/)"
  docker info > /dev/null 2>&1 ||
    fail "the Docker engine is not reachable: start Docker (or set DOCKER_HOST) and check with 'docker info'"
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
      echo "make $action: generated the state passphrase into .pulumi-passphrase (git-ignored; keep it)" >&2
    fi
    export PULUMI_CONFIG_PASSPHRASE_FILE="$passphrase"
  fi
}

# `pulumi stack select`: 0 selected, 1 no such stack (Pulumi exits 6 for that: docs/upstream.md); any other
# failure (a wrong passphrase, an unreachable backend) stops here with what Pulumi said.
stack_exists() {
  local said code=0
  said=$(pulumi stack select "$stack" 2>&1 > /dev/null) || code=$?
  case $code in
    0) return 0 ;;
    6) return 1 ;;
  esac
  fail "'pulumi stack select $stack' failed (exit $code): $(printf '%s' "$said" | tr '\n' ' ')"
}

select_stack() {
  stack_exists ||
    fail "no stack '$stack' in this checkout's state: 'make stacks' lists them, 'make stack NAME=$stack' creates it"
}

# A new stack starts from dev's config without dev's host ports, so it gets ports of its own.
# PLATFORM=kubernetes: a Kubernetes stack (its namespace pd-<stack>; KRaft, as Strimzi requires).
select_or_create_stack() {
  if stack_exists; then
    return
  fi
  local config="$root/Pulumi.$stack.yaml"
  if [[ $stack != dev && ! -e $config ]]; then
    local pattern="^(encryptionsalt|  $project:(${port_keys// /|})):"
    grep -Ev "$pattern" "$root/Pulumi.dev.yaml" > "$config"
    case ${PLATFORM:-docker} in
      docker) ;;
      kubernetes) printf '  %s:platform: kubernetes\n  %s:kafkaMode: kraft\n' "$project" "$project" >> "$config" ;;
      *) rm -f "$config" && fail "PLATFORM='$PLATFORM' is not accepted: expected docker or kubernetes" ;;
    esac
  fi
  pulumi stack init "$stack" > /dev/null
  echo "make $action: created stack '$stack' (config: Pulumi.$stack.yaml)" >&2
}

# The policy pack runs on every preview and update; a stack whose bindAddress is not loopback allows it.
policy_args() {
  policy=(--policy-pack "$root/policy")
  local address
  address=$(pulumi config get bindAddress --stack "$stack" 2> /dev/null || true)
  if [[ -n $address && $address != 127.0.0.1 ]]; then
    policy_config=$(mktemp "${TMPDIR:-/tmp}/pipelining-data-policy.XXXXXX")
    trap 'rm -f "$policy_config"' EXIT
    printf '{"loopback-host-ports": {"allowedAddresses": ["%s"]}}\n' "$address" > "$policy_config"
    policy+=(--policy-pack-config "$policy_config")
  fi
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
  [[ -n ${SERVICE:-} ]] || fail "SERVICE is required, e.g. make logs SERVICE=kafka-1 (services: make status)"
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

name_variable=STACK
[[ $action == stack ]] && name_variable=NAME
need_valid_name
case $action in
  status | logs)
    need_docker
    if [[ $action == status ]]; then show_status; else show_logs; fi
    exit 0
    ;;
esac
need_pulumi
case $action in
  platform-up | platform-preview | platform-destroy) ;; # the platform stack: Kubernetes only, no Docker
  up | preview | destroy) need_docker ;;
  stack | stacks | outputs | verify) ;;
  *) fail "unknown action '$action'" ;;
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
    pulumi -C platform stack select --create "$stack" > /dev/null
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
