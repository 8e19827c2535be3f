# Lattice. `make run` and `make test` are all a new machine needs.
SHELL := /bin/bash
GO ?= go
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/lattice
export DATABASE_URL
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build run test vet lint fmt bench clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/lattice ./cmd/lattice

## run: build, start PostgreSQL if needed, migrate, seed the demo tenant, serve on :8080
run: build
	scripts/ensure-postgres
	./bin/lattice serve --demo

## test: vet, check formatting, and run every test against real PostgreSQL
test: vet
	scripts/ensure-postgres $(if $(CI),--install,)
	$(GO) test -count=1 -timeout 20m ./...

vet:
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## lint: vet plus staticcheck
lint: vet
	$(GO) run $(STATICCHECK) ./...

fmt:
	gofmt -w .

## bench: the Go benchmarks recorded in docs/benchmarks.md
bench:
	scripts/ensure-postgres
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
