# Sourced by the project's scripts: puts the project's Node 24 (installed by
# scripts/setup.sh into .tools/node when the machine's node is older) and the
# tools it unpacked (.tools/bin: helm, kubectl) first on PATH.
_axom_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -x "$_axom_root/.tools/node/bin/node" ]]; then
  export PATH="$_axom_root/.tools/node/bin:$PATH"
fi
[[ -d "$_axom_root/.tools/bin" ]] && export PATH="$_axom_root/.tools/bin:$PATH"
unset _axom_root
