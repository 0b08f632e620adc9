#!/usr/bin/env bash
# Builds etcd, kube-apiserver and kube-controller-manager from their Go modules
# (test/controlplane) into a versioned cache directory and prints that directory.
#
# If KUBEBUILDER_ASSETS points at a directory that already holds etcd and
# kube-apiserver (envtest's convention), nothing is built and no Go is needed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mod="$root/test/controlplane"

if [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "$KUBEBUILDER_ASSETS/etcd" && -x "$KUBEBUILDER_ASSETS/kube-apiserver" ]]; then
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

command -v go >/dev/null || { echo "build-controlplane: Go is required to build the control plane (or set KUBEBUILDER_ASSETS)" >&2; exit 1; }

k8s_version=$(awk '$1=="k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' "$mod/go.mod")
# The cache key covers everything that changes the binaries: the module files,
# the main packages and the Go toolchain.
key=$( (cat "$mod/go.mod" "$mod/go.sum" "$mod"/cmd/*/main.go; go env GOVERSION GOARCH) | sha256sum | cut -c1-12)
out="${AXOM_CONTROLPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/axom-observer/controlplane}/$k8s_version-$key"

cached() { [[ -x "$out/etcd" && -x "$out/kube-apiserver" && -x "$out/kube-controller-manager" ]]; }
if cached; then
  echo "$out"
  exit 0
fi

# Test files run in parallel and each may ask for the binaries: one builds, the others
# wait for it and then find the cache filled.
mkdir -p "$(dirname "$out")"
if command -v flock >/dev/null; then
  exec 9>"$(dirname "$out")/.build.lock"
  flock 9
  if cached; then
    echo "$out"
    exit 0
  fi
fi

minor=${k8s_version#v1.}; minor=${minor%%.*}
# The same -X flags that Kubernetes' own build (hack/lib/version.sh) sets, so the
# server reports its real version through /version.
pkgs=(k8s.io/component-base/version k8s.io/client-go/pkg/version)
ldflags="-s -w"
for p in "${pkgs[@]}"; do
  ldflags+=" -X $p.gitVersion=$k8s_version -X $p.gitMajor=1 -X $p.gitMinor=$minor"
  ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done

tmp="$out.tmp.$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
(
  cd "$mod"
  export CGO_ENABLED=0
  go build -trimpath -ldflags "$ldflags" -o "$tmp/" ./cmd/etcd ./cmd/kube-apiserver ./cmd/kube-controller-manager
)
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "build-controlplane: built $k8s_version in $(( $(date +%s) - start ))s into $out" >&2
echo "$out"
