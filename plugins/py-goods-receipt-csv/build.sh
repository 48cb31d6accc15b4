#!/usr/bin/env bash
# Builds the py-goods-receipt-csv plugin into a WebAssembly component:
#   plugins/target/components/py-goods-receipt-csv.wasm
# Works from any directory. Needs componentize-py 0.25.1 (pip install componentize-py==0.25.1).
# componentize-py generates the WIT bindings (the `wit_world` package) in its own temporary directory, and
# the sources are staged in a temporary directory too (the Python inside componentize-py writes a
# __pycache__ next to the modules it imports), so nothing is written into the repository except the
# component under plugins/target (git-ignored).
#
#   build.sh               the component imports the millwright interfaces and the WASI 0.2 CLI world
#                          (componentize-py's runtime calls wasi:cli/environment and wasi:random on its
#                          first export call, nothing else), so the host links WASI with an empty context
#   build.sh --stub-wasi   every WASI import is replaced by a trapping stub inside the component, so it
#                          imports only millwright:adapter/{types,host,edi}; Python's `random` seed is then
#                          fixed at build time, which this mapper does not care about
set -euo pipefail

extra_args=()
case "${1:-}" in
    "") ;;
    --stub-wasi) extra_args+=(--stub-wasi) ;;
    *) echo "usage: $0 [--stub-wasi]" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wit_dir="$(cd "$here/../../wit" && pwd)"
out_dir="$here/../target/components"
out="$out_dir/py-goods-receipt-csv.wasm"
wanted_version="0.25.1"

if ! command -v componentize-py >/dev/null 2>&1; then
    echo "error: componentize-py is not installed (or not on PATH)." >&2
    echo "       install it with: pip install componentize-py==$wanted_version" >&2
    exit 1
fi
version="$(componentize-py --version 2>/dev/null | awk '{print $NF}')"
if [ "$version" != "$wanted_version" ]; then
    echo "warning: componentize-py $version found; this plugin is built and tested with $wanted_version" >&2
    echo "         (pip install componentize-py==$wanted_version)" >&2
fi

mkdir -p "$out_dir"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp "$here"/*.py "$stage"/
cd "$stage"
componentize-py -d "$wit_dir" -w inbound-mapper componentize ${extra_args[@]+"${extra_args[@]}"} -p "$stage" app -o "$out"
out="$(cd "$out_dir" && pwd)/py-goods-receipt-csv.wasm"
echo "built $out ($(wc -c <"$out") bytes)"
