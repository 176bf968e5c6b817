#!/usr/bin/env bash
# Renders the monitoring mixin into the rule file, the PrometheusRule, the
# Alertmanager configuration (alertmanager.yml, its templates and the
# AlertmanagerConfig) and the Grafana dashboards. Needs `jsonnet` (Debian: apt-get install jsonnet).
#
#   mixin/generate.sh                   rewrites alerts/, dashboards/ and their copies in
#                                       deploy/kubernetes/base/ of this repository
#   mixin/generate.sh -o DIR            writes DIR/alerts/..., DIR/dashboards/... instead
#   mixin/generate.sh -m my.libsonnet   renders your own mixin file, e.g.
#                                         (import 'mixin.libsonnet') + { _config+:: { exporterJob: 'my-job' } }
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
out="$(dirname "$here")"
mixin=""

usage() {
  echo "usage: $0 [-o OUTPUT_DIR] [-m MIXIN_FILE]" >&2
  exit 2
}

while getopts "o:m:h" opt; do
  case "$opt" in
    o) out="$OPTARG" ;;
    m) mixin="$OPTARG" ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ "$#" -eq 0 ] || usage

if ! command -v jsonnet >/dev/null 2>&1; then
  echo "$0: jsonnet not found; install it (Debian: apt-get install jsonnet, or pip install jsonnet)" >&2
  exit 1
fi
if [ -n "$mixin" ] && [ ! -r "$mixin" ]; then
  echo "$0: -m $mixin: cannot read the file" >&2
  exit 2
fi

mkdir -p "$out/alerts/templates" "$out/dashboards" "$out/deploy/kubernetes/base/dashboards" "$out/deploy/kubernetes/base/alertmanager"
args=(-J "$here" -S -m "$out")
if [ -n "$mixin" ]; then
  args+=(--tla-code-file "mixin=$mixin")
fi
jsonnet "${args[@]}" "$here/render.jsonnet" >/dev/null
