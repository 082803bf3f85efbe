# shellcheck shell=bash
# Shared by deploy.sh and destroy.sh (sourced, not run): progress output, .env access and az checks.
# Secrets only ever travel through files created with umask 077 and through command substitution;
# they never appear in an argument list of ours, in a message or in a trace.

# Keys deploy.sh writes into .env and destroy.sh removes again.
# shellcheck disable=SC2034 # read by destroy.sh
CENTRAL_ENV_KEYS=(
  RESOURCE_GROUP LOCATION IOTHUB_NAME IOTHUB_CONNECTION_STRING DEVICE_ID
  STORAGE_ACCOUNT_NAME STORAGE_CONNECTION_STRING CLOUD_STORAGE_CONNECTION_STRING
  AZURE_VISION_ENDPOINT AZURE_VISION_KEY
  CONTAINER_REGISTRY_SERVER CONTAINER_REGISTRY_USERNAME CONTAINER_REGISTRY_PASSWORD
)

STEP=0
WORK=""
PENDING_ENV=""

# A private scratch folder (WORK) that, like a half-written .env, is removed however the script ends.
make_workdir() {
  WORK=$(umask 077 && mktemp -d)
  trap 'rm -rf "$WORK" ${PENDING_ENV:+"$PENDING_ENV"}' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

step() {
  STEP=$((STEP + 1))
  printf '\n[%d] %s\n' "$STEP" "$*"
}

info() {
  printf '    %s\n' "$*"
}

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

usage_error() {
  printf 'error: %s (see --help)\n' "$*" >&2
  exit 2
}

# env_get FILE KEY: the value of KEY in a .env file (last assignment wins), empty when absent.
env_get() {
  local file=$1 key=$2
  [[ -f $file ]] || return 0
  awk -v key="$key" 'index($0, key "=") == 1 { value = substr($0, length(key) + 2) } END { print value }' "$file"
}

# The merge env_update runs: first file = updates, second = the current .env.
# shellcheck disable=SC2016 # an awk program: its $0 and $1 are awk's
ENV_MERGE_AWK='
NR == FNR {
  eq = index($0, "=")
  key = eq ? substr($0, 1, eq - 1) : $0
  if (!(key in value)) order[++count] = key
  value[key] = eq ? $0 : ""
  next
}
{
  eq = index($0, "=")
  key = eq ? substr($0, 1, eq - 1) : ""
  if (key != "" && key in value) {
    if (!(key in done) && value[key] != "") print value[key]
    done[key] = 1
    next
  }
  print
}
END {
  for (i = 1; i <= count; i++) if (!(order[i] in done) && value[order[i]] != "") print value[order[i]]
}
'

# env_update FILE UPDATES [SEED]: rewrite FILE with the KEY=VALUE lines of the file UPDATES replacing the same keys
# (in place, so comments and order survive) or appended; a line "KEY" alone in UPDATES removes KEY. A FILE
# that does not exist yet starts as a copy of SEED (.env.example), so its documented defaults come along.
# The new file is written next to the old one with mode 600 and moved over it, so FILE is always either
# the old or the new version. Returns 0 when the content changed, 1 when it was already up to date.
env_update() {
  local file=$1 updates=$2 seed=${3:-/dev/null} base tmp
  base=$file
  [[ -f $base ]] || base=$seed
  [[ -f $base ]] || base=/dev/null
  tmp=$(umask 077 && mktemp "$(dirname "$file")/.env.XXXXXX")
  PENDING_ENV=$tmp
  if ! awk "$ENV_MERGE_AWK" "$updates" "$base" >"$tmp"; then
    rm -f "$tmp"
    die "could not write $file"
  fi
  if [[ -f $file ]] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    PENDING_ENV=""
    return 1
  fi
  chmod 600 "$tmp"
  mv -f "$tmp" "$file"
  PENDING_ENV=""
}

require_az() {
  command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is not installed; use Azure Cloud Shell or install it"
  az account show --query id -o tsv >/dev/null 2>&1 || die "not logged in to Azure: run 'az login' first"
}
