#!/usr/bin/env bash
# The Helm chart gate (make check): helm/parley lints clean and renders, with its defaults and
# with every example values file in helm/parley/ci/; every rendered object is valid against the
# Kubernetes OpenAPI schemas and keeps the chart's safe defaults; deploy/k8s/parley.yaml is what
# the chart renders today; every value in the values schema is described; and each file in
# helm/parley/ci-invalid/ is refused by the values schema for the reason its `# expect:` line names.
set -euo pipefail
cd "$(dirname "$0")/.."
chart=helm/parley
HELM="${HELM:-$(node --import tsx deploy/tools/helm.ts --print-path)}"
out=$(mktemp -d "${TMPDIR:-/tmp}/parley-chart.XXXXXX")
trap 'rm -rf "$out"' EXIT

render() { # name, then helm values args
  local name=$1; shift
  echo "== $name"
  "$HELM" lint "$chart" --strict --quiet "$@"
  "$HELM" template parley "$chart" --namespace parley "$@" > "$out/$name.yaml"
}

node --import tsx deploy/tools/check-values-schema.ts "$chart/values.schema.json"
render defaults
rendered=("$out/defaults.yaml")
for values in "$chart"/ci/*.yaml; do
  name=$(basename "$values" .yaml)
  render "$name" -f "$values"
  rendered+=("$out/$name.yaml")
done
node deploy/tools/validate-manifests.mjs "${rendered[@]}"
node --import tsx deploy/tools/check-chart-policy.ts --defaults "$out/defaults.yaml"
node --import tsx deploy/tools/check-chart-policy.ts "${rendered[@]}"

# The edge HPA's metric must be the gauge the edge exports and the one the adapter serves.
metric=parley_realtime_sockets
grep -q "\"$metric\"" services/realtime/src/metrics.ts || { echo "check-chart: services/realtime no longer exports $metric" >&2; exit 1; }
grep -q "as: \"$metric\"" deploy/prometheus-adapter-values.yaml || { echo "check-chart: deploy/prometheus-adapter-values.yaml does not serve $metric" >&2; exit 1; }
grep -q "name: $metric" "$out/defaults.yaml" || { echo "check-chart: the realtime HPA does not scale on $metric" >&2; exit 1; }

HELM="$HELM" deploy/render.sh "$out/parley.yaml" >/dev/null
if ! diff -u deploy/k8s/parley.yaml "$out/parley.yaml" > "$out/drift.diff"; then
  echo "check-chart: deploy/k8s/parley.yaml differs from what the chart renders; run deploy/render.sh and commit it" >&2
  head -n 40 "$out/drift.diff" >&2
  exit 1
fi

for values in "$chart"/ci-invalid/*.yaml; do
  expect=$(sed -n 's/^# expect: //p' "$values" | head -n 1)
  if [ -z "$expect" ]; then
    echo "check-chart: $values has no '# expect: <error text>' line" >&2
    exit 1
  fi
  for cmd in lint template; do
    if [ "$cmd" = lint ]; then args=(lint "$chart" --strict -f "$values"); else args=(template parley "$chart" -f "$values"); fi
    if "$HELM" "${args[@]}" > "$out/invalid.log" 2>&1; then
      echo "check-chart: helm $cmd accepted $values; the values schema must refuse it" >&2
      exit 1
    fi
    if ! grep -qF -- "$expect" "$out/invalid.log"; then
      echo "check-chart: helm $cmd refused $values, but not with '$expect':" >&2
      cat "$out/invalid.log" >&2
      exit 1
    fi
  done
  echo "== refused as expected: $(basename "$values")"
done
echo "check-chart: ok" >&2
