# relais — build, run, test, benchmark.
GO ?= go
BIN := bin/relais
PKGS_RACE := ./internal/...

.PHONY: build run test test-race fuzz bench lint tools clean

# staticcheck, pinned so that every machine reports the same findings; it is
# looked up in $(go env GOPATH)/bin and installed there by `make tools`.
# v0.8.2 is the module version of staticcheck 2026.2.2, which supports Go 1.26.
STATICCHECK_VERSION := v0.8.2
GOBIN := $(shell $(GO) env GOBIN)
ifeq ($(GOBIN),)
GOBIN := $(shell $(GO) env GOPATH)/bin
endif
STATICCHECK := $(GOBIN)/staticcheck

# What `relais version` prints: the git description and commit of the tree
# built, and the UTC build time.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(BUILD_DATE)

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/relais

# The main job on embedded defaults: in-process queue, SQLite in ./var,
# outbox transports; sends the example campaign and says where it went.
run: build
	./$(BIN) run campaigns/printemps-2027.yaml --wait

# The whole suite: unit and integration tests against real services the
# tests start themselves (redis-server, SMTP, Twilio double, PostgreSQL when
# a server is reachable). -race on the packages with concurrency; one
# iteration of the batched send benchmark so it keeps compiling and running.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...
	$(GO) test -count=1 -race -timeout 30m $(PKGS_RACE)
	$(GO) test -count=1 -run=^$$ -bench=BenchmarkHandleBatch -benchtime=1x ./internal/worker/
	$(MAKE) fuzz

# Every fuzz target, package:Name; each runs FUZZTIME on top of its seed
# corpus (testdata/fuzz/<Name>/, committed), which plain `go test` replays.
FUZZ_TARGETS := \
	./internal/campaign:FuzzValidate \
	./internal/audience:FuzzCSVImport \
	./internal/render:FuzzHostileContact \
	./internal/render:FuzzParseExecute \
	./internal/render:FuzzHTMLToTextMatchesReference \
	./internal/tracking:FuzzVerify \
	./internal/tracking:FuzzRewrite \
	./internal/tracking:FuzzRewriteMatchesReference \
	./internal/channel/email:FuzzWriteMessage \
	./internal/postal:FuzzAddress \
	./internal/policy:FuzzNextAllowed \
	./internal/segments:FuzzCount
# A count, not a duration: with a duration the go1.26 fuzz coordinator can
# report its own deadline as a failure ("context deadline exceeded", Go issue
# 75804); a count has no deadline to race.
FUZZTIME ?= 20000x

# A short fuzzing run of every target (20,000 inputs each, about a minute in all).
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

bench: build
	$(GO) run ./cmd/relais-bench -out docs/BENCHMARKS.md

# Installs the pinned staticcheck unless that exact version is already there.
tools:
	@$(STATICCHECK) -version 2>/dev/null | grep -qF '($(patsubst v%,%,$(STATICCHECK_VERSION)))' || \
		$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# gofmt (no file may be listed), go vet, staticcheck, and go.mod/go.sum
# exactly as `go mod tidy` would leave them.
lint: tools
	@test -z "$$(gofmt -l cmd internal)" || (gofmt -l cmd internal; exit 1)
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(GO) mod tidy -diff

clean:
	rm -rf bin var
