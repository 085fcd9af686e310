# Parley — the two commands a newcomer needs:
#   make dev    the whole product in one process (embedded backends), web UI on :8080
#   make test   the whole suite: contracts, Helm chart, types, tests on embedded AND real backends, browser
#   make build  compiled services (dist/) + web client (web/dist): what the image runs
#   make cluster / make cluster-down   every service apart (2 replicas each) behind nginx, from the build
SHELL := /usr/bin/env bash

.PHONY: setup gen dev build cluster cluster-down test check typecheck test-embedded test-real test-chaos test-browser test-sdk-package bench

setup:
	@scripts/setup.sh

gen: setup
	pnpm exec buf generate && pnpm exec buf lint

dev: setup
	pnpm dev

build: setup
	pnpm build

cluster: build
	@scripts/ensure-services.sh
	@node --import tsx scripts/cluster/cli.ts up

cluster-down:
	@node --import tsx scripts/cluster/cli.ts down

check: setup
	scripts/check-contracts.sh
	scripts/check-chart.sh
	pnpm typecheck
	pnpm --filter @parley/web typecheck

REPORTS := test-artifacts/reports

test: check
	@rm -rf $(REPORTS) && mkdir -p $(REPORTS)
	$(MAKE) --no-print-directory test-embedded
	$(MAKE) --no-print-directory test-real
	$(MAKE) --no-print-directory test-chaos
	$(MAKE) --no-print-directory test-browser
	@node scripts/test-summary.mjs $(REPORTS)/embedded.json $(REPORTS)/real.json $(REPORTS)/chaos.json $(REPORTS)/browser.json

test-embedded:
	@echo "== tests on embedded backends (PGlite, in-process bus, memory stores)"
	pnpm test --reporter=default --reporter=json --outputFile.json=$(CURDIR)/$(REPORTS)/embedded.json

test-real:
	@scripts/ensure-services.sh
	@echo "== tests on real backends (Postgres, NATS JetStream, Redis on 127.0.0.1)"
	PARLEY_TEST_REAL=1 PARLEY_SKIP_CHAOS=1 pnpm test --reporter=default --reporter=json --outputFile.json=$(CURDIR)/$(REPORTS)/real.json

# Faults under load against a whole cluster on private Postgres/NATS/Redis (tests/chaos, ~2-4 min):
# alone, because its numbers and timeouts assume nothing else runs. Table: test-artifacts/chaos.md.
test-chaos:
	@scripts/ensure-services.sh
	@echo "== chaos: kills, restarts and pauses under continuous load (tests/chaos)"
	PARLEY_TEST_REAL=1 pnpm exec vitest run tests/chaos --reporter=default --reporter=json --outputFile.json=$(CURDIR)/$(REPORTS)/chaos.json

# PARLEY_TEST_REAL=1: the web client also runs once against `make cluster` (real backends, nginx).
test-browser:
	@scripts/ensure-chromium.sh
	@scripts/ensure-services.sh
	@echo "== browser tests (Debian chromium via playwright-core; once against make cluster)"
	PARLEY_TEST_REAL=1 pnpm test:browser --reporter=default --reporter=json --outputFile.json=$(CURDIR)/$(REPORTS)/browser.json

# Also part of test-browser (tests/browser/sdk-package.test.ts); alone: the SDK as a partner installs it.
test-sdk-package: setup
	@scripts/ensure-chromium.sh
	cd tests && PARLEY_SKIP_WEB_BUILD=1 pnpm exec vitest run --config vitest.browser.config.ts browser/sdk-package.test.ts

bench: setup
	@scripts/ensure-services.sh
	pnpm bench
