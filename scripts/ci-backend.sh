#!/usr/bin/env bash
# CI (preview.yml): the state backend a pull request's preview uses, from what the repository configured.
# It sees whether secrets exist, never their values.
#   in:  BACKEND_URL (repository variable PULUMI_BACKEND_URL), HAS_TOKEN, HAS_PASSPHRASE and FORK ("true" or
#        "false"; a fork's pull request is given no secrets, so it always previews on a throwaway backend)
#   out: url= and throwaway= in $GITHUB_OUTPUT; THROWAWAY_PASSPHRASE in $GITHUB_ENV for a throwaway backend
# Pulumi.yaml names a file backend in the checkout, which `pulumi login URL` does not override: the preview step
# sets PULUMI_BACKEND_URL to the url chosen here, so a Pulumi Cloud token alone means Pulumi Cloud.
set -euo pipefail

if [[ ${FORK:-} != true && -n ${BACKEND_URL:-} ]]; then
  url=$BACKEND_URL
  throwaway=false
elif [[ ${FORK:-} != true && ${HAS_TOKEN:-} == true ]]; then
  url=https://api.pulumi.com
  throwaway=false
else
  state="${RUNNER_TEMP:?}/pulumi-state"
  mkdir -p "$state"
  url="file://$state"
  throwaway=true
fi

if [[ $throwaway == true ]]; then
  passphrase=$(head -c 32 /dev/urandom | base64)
  echo "::add-mask::$passphrase"
  echo "THROWAWAY_PASSPHRASE=$passphrase" >> "${GITHUB_ENV:?}"
elif [[ $url != https://* && ${HAS_PASSPHRASE:-} != true ]]; then
  # a self-managed backend keeps the stack's secrets encrypted with a passphrase; an empty one would be used as is
  echo "::error::PULUMI_BACKEND_URL is $url: add the secret PULUMI_CONFIG_PASSPHRASE (the passphrase of its stacks)"
  exit 1
fi
{
  echo "url=$url"
  echo "throwaway=$throwaway"
} >> "${GITHUB_OUTPUT:?}"
