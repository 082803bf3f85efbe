#!/usr/bin/env bash
# Delete what deploy.sh created: the resource group recorded in .env (and everything in it), so nothing keeps
# costing money. Only a group that deploy.sh created (tag managedBy=central-edge) is deleted.
set -euo pipefail
((BASH_VERSINFO[0] >= 4)) || { echo "error: needs bash 4 or newer (macOS: brew install bash)" >&2; exit 1; }

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=infra/lib.sh source-path=SCRIPTDIR
source "$SCRIPT_DIR/lib.sh"

usage() {
  cat <<'EOF'
Usage: infra/destroy.sh [options]

Deletes the resource group deploy.sh created (recorded as RESOURCE_GROUP in .env) with everything in it,
purges its Computer Vision accounts (a deleted account is otherwise kept for 48 hours and blocks the free
tier), and removes the Azure settings and keys from .env.

Options:
  -g, --resource-group NAME  the group to delete (default: RESOURCE_GROUP from .env)
  -y, --yes                  do not ask for confirmation (required when stdin is not a terminal)
      --project-dir DIR      solution folder holding .env (default: repository)
  -h, --help                 this help
EOF
}

parse_args() {
  RESOURCE_GROUP=""
  ASSUME_YES=false
  PROJECT_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
  while (($#)); do
    case $1 in
      -g | --resource-group) RESOURCE_GROUP=${2:?$1 needs a value}; shift ;;
      -y | --yes) ASSUME_YES=true ;;
      --project-dir) PROJECT_DIR=$(cd "${2:?$1 needs a value}" && pwd); shift ;;
      -h | --help) usage; exit 0 ;;
      *) usage_error "unknown option '$1'" ;;
    esac
    shift
  done
  ENV_FILE=$PROJECT_DIR/.env
  RESOURCE_GROUP=${RESOURCE_GROUP:-$(env_get "$ENV_FILE" RESOURCE_GROUP)}
  [[ -n $RESOURCE_GROUP ]] || usage_error "no RESOURCE_GROUP in $ENV_FILE: pass --resource-group"
}

confirm() {
  [[ $ASSUME_YES == true ]] && return
  [[ -t 0 ]] || die "refusing to delete $RESOURCE_GROUP without confirmation: stdin is not a terminal; pass --yes"
  local answer
  read -r -p "Type the resource group name ($RESOURCE_GROUP) to delete it: " answer
  [[ $answer == "$RESOURCE_GROUP" ]] || die "not confirmed; nothing was deleted"
}

# Puts .env back to its pre-deploy state: of the keys deploy.sh writes, those .env.example defines get its
# value again, the others go.
forget_settings() {
  local example=$PROJECT_DIR/.env.example key
  [[ -f $ENV_FILE ]] || return 0
  for key in "${CENTRAL_ENV_KEYS[@]}"; do
    grep -q "^$key=" "$ENV_FILE" || continue
    if [[ -f $example ]] && grep -q "^$key=" "$example"; then
      printf '%s=%s\n' "$key" "$(env_get "$example" "$key")"
    else
      printf '%s\n' "$key"
    fi
  done >"$WORK/env-updates"
  if env_update "$ENV_FILE" "$WORK/env-updates"; then
    info "removed the Azure settings and keys from $ENV_FILE"
  fi
}

main() {
  parse_args "$@"
  make_workdir

  step "Checking the Azure CLI login"
  require_az
  info "logged in"

  step "Resource group $RESOURCE_GROUP"
  local managed
  if ! managed=$(az group show --name "$RESOURCE_GROUP" --query tags.managedBy -o tsv 2>/dev/null); then
    info "does not exist: nothing to delete"
    forget_settings
    return
  fi
  [[ $managed == central-edge ]] ||
    die "$RESOURCE_GROUP was not created by deploy.sh (no tag managedBy=central-edge); delete it yourself if you mean to"
  info "contains:"
  az resource list --resource-group "$RESOURCE_GROUP" --query "[].[type, name]" -o tsv | while IFS=$'\t' read -r type name; do
    info "  $type  $name"
  done
  local visions
  visions=$(az cognitiveservices account list --resource-group "$RESOURCE_GROUP" --query "[].[name, location]" -o tsv)
  confirm

  step "Deleting $RESOURCE_GROUP (this takes a few minutes)"
  az group delete --name "$RESOURCE_GROUP" --yes
  info "deleted"
  local name location
  while IFS=$'\t' read -r name location; do
    [[ -n $name ]] || continue
    az cognitiveservices account purge --resource-group "$RESOURCE_GROUP" --name "$name" --location "$location"
    info "purged Computer Vision account $name"
  done <<<"$visions"

  step "Cleaning up $ENV_FILE"
  forget_settings
  printf '\nDone: nothing of Central Edge is left in Azure.\n'
}

main "$@"
