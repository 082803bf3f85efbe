#!/usr/bin/env bash
# Provision Central Edge in Azure and deploy the modules to a Raspberry Pi running IoT Edge 1.5.
# Runs in Azure Cloud Shell or on any machine with the Azure CLI. Safe to run again: every step first looks at
# what exists and changes only what differs, and a run that finds everything in place says so.
set -euo pipefail
((BASH_VERSINFO[0] >= 4)) || { echo "error: needs bash 4 or newer (macOS: brew install bash)" >&2; exit 1; }

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=infra/lib.sh source-path=SCRIPTDIR
source "$SCRIPT_DIR/lib.sh"

DEPLOYMENT_NAME="central-edge"
GROUP_TAG="managedBy=central-edge"
PULL_TOKEN="edge-pull"

usage() {
  cat <<'EOF'
Usage: infra/deploy.sh [options]

Creates (or updates) a resource group with IoT Hub, Storage and Computer Vision, an IoT Edge device
identity, writes the settings and keys into .env (mode 600; keys are never printed), generates the
deployment manifest with `central genconfig` and deploys it to the device.

Options (environment variable in brackets; a value already in .env is the next default):
  -g, --resource-group NAME  resource group [RESOURCE_GROUP] (default: central-edge-rg)
  -l, --location REGION      Azure region [LOCATION] (default: westeurope)
  -n, --prefix PREFIX        name prefix, 3-11 lowercase letters/digits [NAME_PREFIX] (default: central)
      --hub-sku SKU          IoT Hub tier S1 or F1 (free) [IOTHUB_SKU] (default: S1); B1 has no IoT Edge
      --vision-sku SKU       Computer Vision tier F0 (free) or S1 [VISION_SKU] (default: F0)
      --registry             also create an Azure Container Registry and a pull token for the device
      --archive-telemetry    also route device telemetry to the storage account
      --retention-days N     days photos, videos and archives are kept [RETENTION_DAYS] (default: 30)
  -d, --device-id ID         IoT Edge device id [DEVICE_ID] (default: central-pi)
  -P, --platform PLATFORM    amd64, arm32v7 or arm64v8 [PLATFORM] (default: arm32v7)
      --fleet TAG            roll out to every device tagged fleet=TAG (automatic deployment) instead of
                             setting the modules of one device; the device above gets the tag
      --priority N           priority of the fleet deployment (default: 10)
      --what-if              show what the Bicep deployment would change, change nothing
      --project-dir DIR      solution folder with deployment.template.json and .env (default: repository)
  -h, --help                 this help
EOF
}

parse_args() {
  RESOURCE_GROUP=${RESOURCE_GROUP:-$(env_get "$ENV_FILE" RESOURCE_GROUP)}
  LOCATION=${LOCATION:-$(env_get "$ENV_FILE" LOCATION)}
  DEVICE_ID=${DEVICE_ID:-$(env_get "$ENV_FILE" DEVICE_ID)}
  NAME_PREFIX=${NAME_PREFIX:-central}
  IOTHUB_SKU=${IOTHUB_SKU:-S1}
  VISION_SKU=${VISION_SKU:-F0}
  RETENTION_DAYS=${RETENTION_DAYS:-30}
  PLATFORM=${PLATFORM:-arm32v7}
  CREATE_REGISTRY=false
  ARCHIVE_TELEMETRY=false
  FLEET=""
  PRIORITY=10
  WHAT_IF=false
  while (($#)); do
    case $1 in
      -g | --resource-group) RESOURCE_GROUP=${2:?$1 needs a value}; shift ;;
      -l | --location) LOCATION=${2:?$1 needs a value}; shift ;;
      -n | --prefix) NAME_PREFIX=${2:?$1 needs a value}; shift ;;
      --hub-sku) IOTHUB_SKU=${2:?$1 needs a value}; shift ;;
      --vision-sku) VISION_SKU=${2:?$1 needs a value}; shift ;;
      --registry) CREATE_REGISTRY=true ;;
      --archive-telemetry) ARCHIVE_TELEMETRY=true ;;
      --retention-days) RETENTION_DAYS=${2:?$1 needs a value}; shift ;;
      -d | --device-id) DEVICE_ID=${2:?$1 needs a value}; shift ;;
      -P | --platform) PLATFORM=${2:?$1 needs a value}; shift ;;
      --fleet) FLEET=${2:?$1 needs a value}; shift ;;
      --priority) PRIORITY=${2:?$1 needs a value}; shift ;;
      --what-if) WHAT_IF=true ;;
      --project-dir) : "${2:?$1 needs a value}"; shift ;; # read before the .env defaults, see main
      -h | --help) usage; exit 0 ;;
      *) usage_error "unknown option '$1'" ;;
    esac
    shift
  done
  RESOURCE_GROUP=${RESOURCE_GROUP:-central-edge-rg}
  LOCATION=${LOCATION:-westeurope}
  DEVICE_ID=${DEVICE_ID:-central-pi}
  validate_args
}

validate_args() {
  case $IOTHUB_SKU in
    S1 | F1) ;;
    B1 | B2 | B3) usage_error "IoT Hub $IOTHUB_SKU has no IoT Edge, device twins or direct methods: use S1 or F1" ;;
    *) usage_error "--hub-sku must be S1 or F1, not '$IOTHUB_SKU'" ;;
  esac
  [[ $VISION_SKU =~ ^(F0|S1)$ ]] || usage_error "--vision-sku must be F0 or S1, not '$VISION_SKU'"
  [[ $PLATFORM =~ ^(amd64|arm32v7|arm64v8)$ ]] || usage_error "--platform must be amd64, arm32v7 or arm64v8"
  [[ $NAME_PREFIX =~ ^[a-z][a-z0-9]{2,10}$ ]] || usage_error "--prefix must be 3-11 lowercase letters and digits"
  if ! [[ $RETENTION_DAYS =~ ^[0-9]{1,4}$ ]] || ((RETENTION_DAYS < 1 || RETENTION_DAYS > 3650)); then
    usage_error "--retention-days must be a number from 1 to 3650"
  fi
  [[ $DEVICE_ID =~ ^[A-Za-z0-9._:-]{1,128}$ ]] || usage_error "--device-id may use letters, digits and . _ : - only"
  [[ -z $FLEET || $FLEET =~ ^[a-z0-9-]{1,40}$ ]] || usage_error "--fleet must be 1-40 lowercase letters, digits or -"
  [[ $PRIORITY =~ ^[0-9]+$ ]] || usage_error "--priority must be a non-negative number"
}

bicep_args() {
  printf '%s\n' --resource-group "$RESOURCE_GROUP" --name "$DEPLOYMENT_NAME" \
    --template-file "$SCRIPT_DIR/main.bicep" --parameters "@$SCRIPT_DIR/main.parameters.json" \
    --parameters "namePrefix=$NAME_PREFIX" "iotHubSku=$IOTHUB_SKU" "visionSku=$VISION_SKU" \
    "createRegistry=$CREATE_REGISTRY" "routeTelemetryToStorage=$ARCHIVE_TELEMETRY" "retentionDays=$RETENTION_DAYS"
}

ensure_extension() {
  step "Checking the azure-iot CLI extension"
  if az extension show --name azure-iot --query version -o tsv >/dev/null 2>&1; then
    info "installed"
  else
    az extension add --name azure-iot --only-show-errors --output none || die "could not add the azure-iot extension"
    info "added"
  fi
}

ensure_group() {
  step "Resource group $RESOURCE_GROUP"
  local found
  if found=$(az group show --name "$RESOURCE_GROUP" --query "[location, tags.managedBy]" -o tsv 2>/dev/null); then
    local facts
    mapfile -t facts <<<"$found"
    LOCATION=${facts[0]} # the resources follow the group's region, whatever --location says
    if [[ ${facts[1]:-} == central-edge ]]; then
      info "exists, unchanged"
    else
      info "exists and was not created by deploy.sh: destroy.sh will not delete it"
    fi
  else
    az group create --name "$RESOURCE_GROUP" --location "$LOCATION" --tags "$GROUP_TAG" --output none
    info "created in $LOCATION"
    CHANGES=$((CHANGES + 1))
  fi
}

what_if() {
  step "What the deployment would change in $RESOURCE_GROUP"
  if ! az group show --name "$RESOURCE_GROUP" --query name -o tsv >/dev/null 2>&1; then
    info "resource group $RESOURCE_GROUP does not exist: everything would be created"
    return
  fi
  local args
  mapfile -t args < <(bicep_args)
  az deployment group what-if "${args[@]}"
}

# Reads the deployment outputs into OUT_* variables, deploying first when what-if reports any change.
deploy_bicep() {
  step "Deploying IoT Hub, Storage and Computer Vision (Bicep)"
  local args pending outputs
  mapfile -t args < <(bicep_args)
  local query="[properties.outputs.iotHubName.value, properties.outputs.storageAccountName.value,"
  query+=" properties.outputs.visionName.value, properties.outputs.visionEndpoint.value,"
  query+=" properties.outputs.registryName.value, properties.outputs.registryLoginServer.value]"
  pending=$(az deployment group what-if "${args[@]}" --result-format ResourceIdOnly --no-pretty-print \
    --query "length(changes[?contains(['Create', 'Modify', 'Deploy', 'Delete'], changeType)])" -o tsv) ||
    die "az deployment group what-if failed (message above); nothing was changed"
  if [[ $pending == 0 ]] &&
    outputs=$(az deployment group show --resource-group "$RESOURCE_GROUP" --name "$DEPLOYMENT_NAME" \
      --query "$query" -o tsv 2>/dev/null); then
    info "no changes"
  else
    if [[ $pending == 0 ]]; then
      info "no resource changes, but no record of the deployment's outputs: deploying again to get them"
    else
      info "$pending resource(s) to create or update; this takes a few minutes"
    fi
    outputs=$(az deployment group create "${args[@]}" --query "$query" -o tsv) ||
      die "the Bicep deployment failed (message above); .env was not changed. Details:" \
        "az deployment operation group list --resource-group $RESOURCE_GROUP --name $DEPLOYMENT_NAME"
    CHANGES=$((CHANGES + 1))
    info "deployed"
  fi
  local values
  mapfile -t values <<<"$outputs"
  OUT_HUB=${values[0]:-}
  OUT_STORAGE=${values[1]:-}
  OUT_VISION=${values[2]:-}
  OUT_VISION_ENDPOINT=${values[3]:-}
  OUT_REGISTRY=${values[4]:-}
  OUT_REGISTRY_SERVER=${values[5]:-}
  [[ -n $OUT_HUB && -n $OUT_STORAGE && -n $OUT_VISION ]] || die "the deployment returned no resource names"
}

ensure_device() {
  step "IoT Edge device $DEVICE_ID"
  local edge
  if edge=$(az iot hub device-identity show --hub-name "$OUT_HUB" --device-id "$DEVICE_ID" \
    --query capabilities.iotEdge -o tsv 2>/dev/null); then
    [[ ${edge,,} == true ]] || die "device $DEVICE_ID exists but is not an IoT Edge device; choose another --device-id"
    info "exists, unchanged"
  else
    az iot hub device-identity create --hub-name "$OUT_HUB" --device-id "$DEVICE_ID" --edge-enabled --output none
    info "created (IoT Edge enabled)"
    CHANGES=$((CHANGES + 1))
  fi
}

# Prints KEY=VALUE lines for the registry, reusing the pull token password already in .env when the token exists.
registry_settings() {
  [[ -n $OUT_REGISTRY ]] || return 0
  local password
  password=$(env_get "$ENV_FILE" CONTAINER_REGISTRY_PASSWORD)
  if az acr token show --registry "$OUT_REGISTRY" --name "$PULL_TOKEN" --query name -o tsv >/dev/null 2>&1; then
    if [[ -z $password || $(env_get "$ENV_FILE" CONTAINER_REGISTRY_USERNAME) != "$PULL_TOKEN" ]]; then
      password=$(az acr token credential generate --registry "$OUT_REGISTRY" --name "$PULL_TOKEN" --password1 \
        --query "passwords[0].value" -o tsv)
    fi
  else
    password=$(az acr token create --registry "$OUT_REGISTRY" --name "$PULL_TOKEN" \
      --scope-map _repositories_pull --query "credentials.passwords[0].value" -o tsv)
  fi
  printf '%s\n' "CONTAINER_REGISTRY_SERVER=$OUT_REGISTRY_SERVER" "CONTAINER_REGISTRY_USERNAME=$PULL_TOKEN" \
    "CONTAINER_REGISTRY_PASSWORD=$password"
}

write_env() {
  step "Writing settings and keys to $ENV_FILE"
  local updates="$WORK/env-updates" hub_cs storage_cs vision_key
  hub_cs=$(az iot hub connection-string show --hub-name "$OUT_HUB" --policy-name service --key-type primary \
    --query connectionString -o tsv)
  storage_cs=$(az storage account show-connection-string --resource-group "$RESOURCE_GROUP" \
    --name "$OUT_STORAGE" --query connectionString -o tsv)
  vision_key=$(az cognitiveservices account keys list --resource-group "$RESOURCE_GROUP" --name "$OUT_VISION" \
    --query key1 -o tsv)
  {
    printf '%s\n' "RESOURCE_GROUP=$RESOURCE_GROUP" "LOCATION=$LOCATION" "IOTHUB_NAME=$OUT_HUB" \
      "IOTHUB_CONNECTION_STRING=$hub_cs" "DEVICE_ID=$DEVICE_ID" "STORAGE_ACCOUNT_NAME=$OUT_STORAGE" \
      "STORAGE_CONNECTION_STRING=$storage_cs" "CLOUD_STORAGE_CONNECTION_STRING=$storage_cs" \
      "AZURE_VISION_ENDPOINT=$OUT_VISION_ENDPOINT" "AZURE_VISION_KEY=$vision_key"
    registry_settings
  } >"$updates"
  if env_update "$ENV_FILE" "$updates" "$PROJECT_DIR/.env.example"; then
    info "updated (mode 600; the keys are in the file, not shown here)"
    CHANGES=$((CHANGES + 1))
  else
    info "unchanged"
  fi
}

generate_manifest() {
  step "Generating the deployment manifest for $PLATFORM"
  local central=${CENTRAL:-}
  if [[ -z $central ]]; then
    if [[ -x $PROJECT_DIR/.venv/bin/central ]]; then
      central=$PROJECT_DIR/.venv/bin/central
    else
      central=$(command -v central) || die "the central CLI is not installed: run 'make setup' in $PROJECT_DIR"
    fi
  fi
  # Its messages may quote values from .env, so they are not shown here.
  (cd "$PROJECT_DIR" && "$central" genconfig -P "$PLATFORM" --output-dir config) >/dev/null 2>&1 ||
    die "central genconfig failed; to see why, run: (cd $PROJECT_DIR && central genconfig -P $PLATFORM)"
  MANIFEST=$PROJECT_DIR/config/deployment.$PLATFORM.json
  [[ -f $MANIFEST ]] || die "central genconfig did not write $MANIFEST"
  MANIFEST_SHA=$(sha256_of "$MANIFEST")
  info "config/deployment.$PLATFORM.json (sha256 ${MANIFEST_SHA:0:12})"
  case $(env_get "$ENV_FILE" CONTAINER_REGISTRY_SERVER) in
    localhost* | 127.*) info "warning: CONTAINER_REGISTRY_SERVER is a local registry the Pi cannot pull from;" \
      "use --registry or set it in .env, then 'central build -P $PLATFORM --push'" ;;
  esac
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# The device twin remembers, as a tag, which manifest was last set, so an unchanged manifest is not re-sent.
set_device_modules() {
  step "Deploying the modules to $DEVICE_ID"
  local applied
  applied=$(az iot hub device-twin show --hub-name "$OUT_HUB" --device-id "$DEVICE_ID" \
    --query tags.centralEdge.manifest -o tsv)
  if [[ $applied == "$MANIFEST_SHA" ]]; then
    info "this manifest is already set, unchanged"
    return
  fi
  az iot edge set-modules --hub-name "$OUT_HUB" --device-id "$DEVICE_ID" --content "$MANIFEST" --output none
  az iot hub device-twin update --hub-name "$OUT_HUB" --device-id "$DEVICE_ID" \
    --tags "{\"centralEdge\": {\"manifest\": \"$MANIFEST_SHA\"}}" --output none
  info "modules set"
  CHANGES=$((CHANGES + 1))
}

# An automatic deployment per manifest version: its id carries the manifest hash, so the same manifest is
# found again, and a new one (same priority, created later) takes over; older ones of the fleet are removed.
deploy_fleet() {
  step "Rolling out to fleet '$FLEET'"
  local tag id old
  tag=$(az iot hub device-twin show --hub-name "$OUT_HUB" --device-id "$DEVICE_ID" --query tags.fleet -o tsv)
  if [[ $tag == "$FLEET" ]]; then
    info "device $DEVICE_ID already tagged fleet=$FLEET"
  else
    az iot hub device-twin update --hub-name "$OUT_HUB" --device-id "$DEVICE_ID" \
      --tags "{\"fleet\": \"$FLEET\"}" --output none
    info "tagged device $DEVICE_ID with fleet=$FLEET"
    CHANGES=$((CHANGES + 1))
  fi
  id="central-$FLEET-${MANIFEST_SHA:0:12}"
  if az iot edge deployment show --hub-name "$OUT_HUB" --deployment-id "$id" --query id -o tsv >/dev/null 2>&1; then
    info "deployment $id exists, unchanged"
    return
  fi
  az iot edge deployment create --hub-name "$OUT_HUB" --deployment-id "$id" --content "$MANIFEST" \
    --target-condition "tags.fleet='$FLEET'" --priority "$PRIORITY" --output none
  info "created deployment $id (target tags.fleet='$FLEET', priority $PRIORITY)"
  CHANGES=$((CHANGES + 1))
  while read -r old; do
    [[ -z $old || $old == "$id" ]] && continue
    az iot edge deployment delete --hub-name "$OUT_HUB" --deployment-id "$old"
    info "removed the superseded deployment $old"
  done < <(az iot edge deployment list --hub-name "$OUT_HUB" \
    --query "[?starts_with(id, 'central-$FLEET-')].id" -o tsv)
}

next_steps() {
  printf '\n'
  if ((CHANGES == 0)); then
    printf 'Nothing to change: everything was already deployed.\n'
  else
    printf 'Done: %d change(s) applied.\n' "$CHANGES"
  fi
  cat <<EOF

Device connection string (secret, for the Pi only):
  az iot hub device-identity connection-string show --hub-name $OUT_HUB --device-id $DEVICE_ID -o tsv

On the Raspberry Pi (Raspberry Pi OS Bookworm), install IoT Edge 1.5 and connect it:
  curl -sSL https://packages.microsoft.com/config/debian/12/packages-microsoft-prod.deb -o packages-microsoft-prod.deb
  sudo apt-get install ./packages-microsoft-prod.deb && rm packages-microsoft-prod.deb
  sudo apt-get update && sudo apt-get install -y moby-engine aziot-edge
  sudo iotedge config mp --connection-string 'PASTE-THE-DEVICE-CONNECTION-STRING'
  sudo iotedge config apply
  sudo iotedge check && sudo iotedge list
EOF
}

main() {
  local arg prev=""
  PROJECT_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
  for arg in "$@"; do
    [[ $prev == --project-dir ]] && PROJECT_DIR=$(cd "$arg" && pwd)
    prev=$arg
  done
  ENV_FILE=$PROJECT_DIR/.env
  parse_args "$@"
  CHANGES=0
  make_workdir

  step "Checking the Azure CLI login"
  require_az
  info "logged in"
  if [[ $WHAT_IF == true ]]; then
    what_if
    return
  fi
  ensure_extension
  ensure_group
  deploy_bicep
  ensure_device
  write_env
  generate_manifest
  if [[ -n $FLEET ]]; then
    deploy_fleet
  else
    set_device_modules
  fi
  next_steps
}

main "$@"
