#!/bin/sh
# Renders deploy/k8s/parley.yaml from helm/parley (the chart is the source of truth; never edit
# the rendered file by hand). Needs helm 3.8+ on PATH or HELM=/path/to/helm.
set -eu
cd "$(dirname "$0")/.."
HELM="${HELM:-helm}"
"$HELM" lint helm/parley --strict -f helm/parley/ci/existing-secrets-values.yaml
"$HELM" lint helm/parley --strict -f helm/parley/ci/inline-secrets-values.yaml
{
  echo "# Rendered from helm/parley by deploy/render.sh with helm/parley/ci/existing-secrets-values.yaml."
  echo "# Create the Secrets first (deploy/k8s/secrets.example.yaml), then: kubectl apply -f deploy/k8s/"
  "$HELM" template parley helm/parley --namespace parley -f helm/parley/ci/existing-secrets-values.yaml
} > deploy/k8s/parley.yaml
echo "wrote deploy/k8s/parley.yaml"
