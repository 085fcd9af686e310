#!/bin/sh
# Renders deploy/k8s/parley.yaml from helm/parley (the chart is the source of truth; never edit
# the rendered file by hand). `deploy/render.sh OUT` writes OUT instead (scripts/check-chart.sh
# compares it with the committed file). Helm comes from deploy/tools/helm.ts unless HELM is set.
set -eu
cd "$(dirname "$0")/.."
out="${1:-deploy/k8s/parley.yaml}"
HELM="${HELM:-$(node --import tsx deploy/tools/helm.ts --print-path)}"
{
  echo "# Rendered from helm/parley by deploy/render.sh with helm/parley/ci/existing-secrets-values.yaml."
  echo "# Create the Secrets first (deploy/k8s/secrets.example.yaml), then: kubectl apply -f deploy/k8s/"
  "$HELM" template parley helm/parley --namespace parley -f helm/parley/ci/existing-secrets-values.yaml
} > "$out.partial"
mv "$out.partial" "$out"
echo "wrote $out"
