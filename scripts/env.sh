# Sourced by the project's scripts: puts the project's Node 24 (installed by
# scripts/setup.sh into .tools/node when the machine's node is older) and the
# tools it unpacked (.tools/bin: helm, kubectl) first on PATH.
_axom_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -x "$_axom_root/.tools/node/bin/node" ]]; then
  export PATH="$_axom_root/.tools/node/bin:$PATH"
  # node-gyp (cap's native build) must compile against these headers, not the
  # system node's, and must never try to download them.
  export npm_config_nodedir="$_axom_root/.tools/node"
fi
[[ -d "$_axom_root/.tools/bin" ]] && export PATH="$_axom_root/.tools/bin:$PATH"
unset _axom_root
