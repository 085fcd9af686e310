#!/bin/sh
# Builds the one Parley image: `deploy/build.sh [tag]` (Makefile-friendly: IMAGE and TAG env too).
# Uses buildx bake when available, else plain `docker build`.
set -eu
cd "$(dirname "$0")/.."
IMAGE="${IMAGE:-parley}"
TAG="${1:-${TAG:-dev}}"
if docker buildx version >/dev/null 2>&1; then
  IMAGE="$IMAGE" TAG="$TAG" exec docker buildx bake -f deploy/docker-bake.hcl --load
fi
exec docker build -f deploy/Dockerfile -t "$IMAGE:$TAG" .
