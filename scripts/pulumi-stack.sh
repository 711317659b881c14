#!/usr/bin/env bash
# make up / preview / destroy / outputs: run Pulumi for one stack of this checkout.
#   scripts/pulumi-stack.sh up|preview|destroy|outputs STACK
# State goes to a file backend in .pulumi/ unless PULUMI_BACKEND_URL is set; its secrets are encrypted
# with a passphrase generated once into .pulumi-passphrase unless PULUMI_CONFIG_PASSPHRASE(_FILE) is set.
set -euo pipefail

action=${1:?usage: scripts/pulumi-stack.sh up|preview|destroy|outputs STACK}
stack=${2:-dev}
root=$(cd "$(dirname "$0")/.." && pwd)
project=pipelining-data
port_keys="grafanaPort kafkaUiPort clickhousePort kafkaPort"

fail() {
  echo "make $action: $*" >&2
  exit 2
}

preflight() {
  command -v pulumi > /dev/null ||
    fail "the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/, e.g. 'curl -fsSL https://get.pulumi.com | sh') and open a new shell"
  command -v docker > /dev/null ||
    fail "the docker CLI is not on PATH: install Docker Engine or Docker Desktop (https://docs.docker.com/get-docker/)"
  docker info > /dev/null 2>&1 ||
    fail "the Docker engine is not reachable: start Docker (or set DOCKER_HOST) and check with 'docker info'"
  [[ $stack =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] ||
    fail "STACK='$stack' is not accepted: expected letters, digits, '.', '_' or '-'"
}

use_local_state() {
  if [[ -z ${PULUMI_BACKEND_URL:-} ]]; then
    mkdir -p "$root/.pulumi"
    export PULUMI_BACKEND_URL="file://$root/.pulumi"
  fi
  if [[ -z ${PULUMI_CONFIG_PASSPHRASE:-} && -z ${PULUMI_CONFIG_PASSPHRASE_FILE:-} ]]; then
    local passphrase="$root/.pulumi-passphrase"
    if [[ ! -s $passphrase ]]; then
      (umask 077 && head -c 32 /dev/urandom | base64 > "$passphrase")
      echo "make $action: generated the state passphrase into .pulumi-passphrase (git-ignored; keep it)" >&2
    fi
    export PULUMI_CONFIG_PASSPHRASE_FILE="$passphrase"
  fi
}

# A new stack starts from dev's config without dev's host ports, so it gets ports of its own.
select_or_create_stack() {
  if pulumi stack select "$stack" --cwd "$root" > /dev/null 2>&1; then
    return
  fi
  local config="$root/Pulumi.$stack.yaml"
  if [[ $stack != dev && ! -e $config ]]; then
    local pattern="^(encryptionsalt|  $project:(${port_keys// /|})):"
    grep -Ev "$pattern" "$root/Pulumi.dev.yaml" > "$config"
  fi
  pulumi stack init "$stack" --cwd "$root" > /dev/null
  echo "make $action: created stack '$stack' (config: Pulumi.$stack.yaml)" >&2
}

print_access() {
  echo
  pulumi stack output --cwd "$root" --stack "$stack"
  echo
  echo "Passwords are secret outputs: 'make outputs STACK=$stack' shows them."
}

preflight
make --no-print-directory -C "$root" venv
use_local_state
select_or_create_stack
cd "$root"
case $action in
  up) pulumi up --stack "$stack" --yes && print_access ;;
  preview) pulumi preview --stack "$stack" --diff ;;
  destroy) pulumi destroy --stack "$stack" --yes ;;
  outputs) pulumi stack output --stack "$stack" --show-secrets ;;
  *) fail "unknown action '$action'" ;;
esac
