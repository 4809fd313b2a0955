# Day-to-day commands. `make help` lists them.
RELEASE    ?= $(shell cargo metadata --no-deps --format-version 1 2>/dev/null | python3 -c 'import json,sys; print([p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="atlas"][0])' 2>/dev/null || echo unset)
COMMIT     ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unset)
BUILD_TIME ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
IMAGE      ?= ghcr.io/example/atlas
TAG        ?= $(RELEASE)

export BUILD_RELEASE=$(RELEASE)
export BUILD_COMMIT=$(COMMIT)
export BUILD_TIME

.PHONY: help build release run test lint audit reliability fmt validate container container-smoke push deploy-dev helm-template compose-up bench

help: ## This list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## Debug build of the workspace
	cargo build --workspace

release: ## Optimised, stripped binary at target/release/atlas
	cargo build --release --locked -p atlas

run: ## Run atlas on its embedded SQLite (API :8080, admin :8081)
	cargo run -p atlas

test: ## Every test: unit, integration (SQLite + throwaway PostgreSQL), deploy checks
	scripts/test

lint: ## The static gates CI runs: fmt, clippy, rustdoc, cargo-deny, cargo-machete, size limits
	scripts/lint

audit: ## Security advisories (needs GitHub for the RustSec database)
	cargo deny check advisories

fmt: ## Format the code
	cargo fmt --all

validate: ## Static checks of Docker, Kubernetes, Helm and Prometheus files
	deploy/check.sh

container: ## Build the image with the build identity baked in
	docker build -f deploy/docker/Dockerfile \
	  --build-arg RELEASE=$(RELEASE) --build-arg COMMIT=$(COMMIT) --build-arg BUILD_TIME=$(BUILD_TIME) \
	  -t $(IMAGE):$(TAG) .

container-smoke: release ## Package the host-built binary and test the pod contract in Docker
	deploy/container-smoke.sh target/release/atlas

push: ## Push the image
	docker push $(IMAGE):$(TAG)

deploy-dev: ## Apply the dev overlay to the current kubectl context
	kubectl apply -k deploy/kubernetes/overlays/dev

helm-template: ## Render the chart with the dev values (Helm's Go SDK from PyPI; no helm binary needed)
	deploy/check.sh --helm-template-only values-dev.yaml

compose-up: ## atlas + PostgreSQL + Prometheus + OTel collector + Grafana
	docker compose -f compose.yaml up --build

reliability: ## Hostile input, load and fault scenarios, long versions included
	scripts/reliability

bench: ## Speed, memory and size vs a bare axum baseline: bench/results/*.json, docs/benchmarks.md
	bench/run.sh
