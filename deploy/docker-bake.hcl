// docker buildx bake -f deploy/docker-bake.hcl            → parley:dev
// IMAGE=registry.example/parley TAG=1.2.3 docker buildx bake -f deploy/docker-bake.hcl --push
variable "IMAGE" { default = "parley" }
variable "TAG" { default = "dev" }

group "default" { targets = ["parley"] }

target "parley" {
  // Paths are relative to where bake runs: the repository root.
  context    = "."
  dockerfile = "deploy/Dockerfile"
  tags       = ["${IMAGE}:${TAG}"]
  platforms  = ["linux/amd64"]
  labels = {
    "org.opencontainers.image.title"  = "parley"
    "org.opencontainers.image.source" = "parley monorepo"
  }
}
