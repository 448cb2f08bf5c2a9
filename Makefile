# relais — build, run, test, benchmark.
GO ?= go
BIN := bin/relais
PKGS_RACE := ./internal/...

.PHONY: build run test test-race bench lint clean

build:
	$(GO) build -o $(BIN) ./cmd/relais

# The main job on embedded defaults: in-process queue, SQLite in ./var,
# outbox transports; sends the example campaign and says where it went.
run: build
	./$(BIN) run campaigns/printemps-2027.yaml --wait

# The whole suite: unit and integration tests against real services the
# tests start themselves (redis-server, SMTP, Twilio double, PostgreSQL when
# a server is reachable). -race on the packages with concurrency.
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...
	$(GO) test -count=1 -race -timeout 30m $(PKGS_RACE)

bench: build
	$(GO) run ./cmd/relais-bench -out docs/BENCHMARKS.md

lint:
	@test -z "$$(gofmt -l cmd internal)" || (gofmt -l cmd internal; exit 1)
	$(GO) vet ./...

clean:
	rm -rf bin var
