# Developer entry points. The README's two commands are `make run` (same as
# `go run ./cmd/xdrlinkd serve`) and `make test`; .ci/run calls `make test`
# and then `make check`.
GO  ?= go
BUF := $(GO) tool -modfile=tools-buf/go.mod buf

.PHONY: run test bench generate lint lint-openapi lint-deploy breaking check-generated vet tidy-check check build

run:
	$(GO) run ./cmd/xdrlinkd serve

test:
	$(GO) test -race ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./daemon/
	$(GO) test -run '^$$' -bench . -benchtime 1x ./azure/loadbench/
	$(GO) test -run '^$$' -bench 'BatchOnboard1000$$' -benchtime 1x -timeout 30m ./cmd/xdrlinkd/
	$(GO) test -run '^$$' -bench 'BatchVerify1000$$' -benchtime 1x -timeout 30m ./cmd/xdrlinkd/

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/xdrlinkd ./cmd/xdrlinkd

# Regenerates gen/ from proto/ with the plugins pinned in tools/go.mod.
generate:
	$(BUF) generate
	$(BUF) generate --template buf.gen.longrunning.yaml
	$(BUF) generate --template buf.gen.openapi.yaml

lint:
	$(BUF) lint
	$(BUF) format --diff --exit-code --path proto/xdrlink

# Lints the generated OpenAPI document with Redocly CLI (pinned; needs npx),
# configured by redocly.yaml. Warnings do not fail.
# Telemetry and the update check are off: CI reaches only the npm registry.
REDOCLY := REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --yes @redocly/cli@2.77.0
lint-openapi:
	$(REDOCLY) lint --config redocly.yaml gen/openapiv2/xdrlink.swagger.json

# The deployment: `helm lint --strict` and `helm template` of deploy/helm/xdrlink
# with its defaults and each values file in its ci/ directory (helm pinned in
# tools/go.mod), every rendered object decoded strictly into its Kubernetes
# API type and held against xdrlinkd's flags, config loader and ports; and
# the Dockerfile's build reproduced and checked (static binary, user,
# health check, CMD). -race only so that it reuses `make test`'s build.
lint-deploy:
	$(GO) test -race -count=1 ./deploy/

# Wire and JSON compatibility with the main branch.
breaking:
	$(BUF) breaking --against '.git#branch=main'

# Fails if gen/ differs from a fresh generate (modified or new files).
check-generated: generate
	@drift="$$(git status --porcelain -- gen)"; \
	if [ -n "$$drift" ]; then echo "gen/ is stale; run 'make generate' and commit:"; echo "$$drift"; exit 1; fi

vet:
	$(GO) vet ./...
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

tidy-check:
	$(GO) mod tidy -diff
	cd tools && $(GO) mod tidy -diff
	cd tools-buf && $(GO) mod tidy -diff

check: lint breaking check-generated lint-openapi lint-deploy vet tidy-check
