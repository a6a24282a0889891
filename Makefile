# emerge — build, test, benchmark. `make help` lists the targets.

GO       ?= go
BIN      := bin/emerge
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE     ?= $(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
LDFLAGS  := -X github.com/emerge-dev/emerge/node.Version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Packages with concurrency: `make test` runs these under the race detector.
RACE_PKGS := ./rpc/... ./pubsub/... ./registry/... ./blocks/... ./files/... ./node/... ./client/... ./internal/... \
	./gateway/... ./metrics/... ./names/...

export CGO_ENABLED := 1

.PHONY: all help deps build test test-quick race vet fmt bench bench-deps bench-redis bench-prefetch bench-repair fuzz demo run clean \
	python-deps test-python bench-python s3-deps bench-http bench-scale

all: build

help:
	@echo "make demo        build, start a local node, put and get a file, stop"
	@echo "make run         build and run one node in the foreground (./emerge-data)"
	@echo "make test        vet + all tests + race detector on the concurrent packages"
	@echo "make test-quick  all tests, no race detector"
	@echo "make race        every package under the race detector (slow)"
	@echo "make bench       benchmarks with same-run reference figures (docs/benchmarks.md)"
	@echo "make bench-prefetch  dissemination to N nodes over tc-shaped links, against a BitTorrent swarm (root; N, SIZE_MIB, QUICK=1)"
	@echo "make bench-repair  repair after kill -9 of one of N nodes over tc-shaped links (root; N, SIZE_MIB, QUICK=1, ROWS)"
	@echo "make bench-scale  32 node processes, who-has at 32, RSS during a 16 GiB get, 1M small objects (NODES, GET_GIB, SMALL_N, ROWS, QUICK=1)"
	@echo "make fuzz        each fuzz target for FUZZTIME (default 30s)"
	@echo "make test-python the Python client's tests against real nodes (python/)"
	@echo "make bench-python  the Python client against the Go client (RUNS, SIZE_MIB, COUNT_ARRAYS)"
	@echo "make bench-http  HTTP GET/PUT of 1 GiB against emerge get/put and raw TCP, rclone to S3 against a local copy (SIZE_MIB, RUNS)"
	@echo "make s3-deps     install the S3 clients the tests use (rclone, s3cmd, awscli, python3-boto3)"
	@echo "make deps        install libzmq, pkg-config and tcpdump when missing (apt-get)"

# libzmq is the one system dependency (pebbe/zmq4 links it through cgo).
# tcpdump lets a test check that CURVE traffic on lo carries no plaintext.
deps:
	@if ! pkg-config --exists libzmq 2>/dev/null; then \
		echo "installing libzmq3-dev and pkg-config"; \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q libzmq3-dev pkg-config; \
	fi
	@if ! command -v tcpdump >/dev/null 2>&1; then \
		echo "installing tcpdump"; \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q tcpdump; \
	fi

build: deps
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/emerge

vet: deps
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

test: vet build python-deps s3-deps
	EMERGE_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 20m ./...
	$(GO) test -race -short -count=1 -timeout 20m $(RACE_PKGS)
	$(MAKE) --no-print-directory test-python

test-quick: build
	EMERGE_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 20m ./...

race: build
	EMERGE_BIN=$(CURDIR)/$(BIN) $(GO) test -race -count=1 -timeout 60m ./...

# The small-object benchmarks compare against a scratch redis-server and
# redis-benchmark (Debian's redis-server package); bench/run.sh skips the
# Redis columns without them.
bench-deps:
	@if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-benchmark >/dev/null 2>&1; then \
		echo "installing redis-server"; \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q redis-server; \
	fi

bench: build bench-deps
	bash bench/run.sh

# Needs root: network namespaces, veths and tc (bench/prefetch-netns.sh). Its
# bt row installs mktorrent, opentracker, aria2 and curl with apt-get when missing.
bench-prefetch: build
	bash bench/prefetch-netns.sh

# Needs root, as bench-prefetch (bench/repair-netns.sh).
bench-repair: build
	@if ! command -v jq >/dev/null 2>&1 || ! command -v tc >/dev/null 2>&1; then \
		echo "installing jq and iproute2"; \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q jq iproute2; \
	fi
	bash bench/repair-netns.sh

# The Python client (python/) runs on Debian's /usr/bin/python3 and packages:
# another python3 earlier on PATH may lack them.
PYTHON   := /usr/bin/python3
PY_DEBS  := python3 python3-zmq python3-msgpack python3-numpy python3-pytest

python-deps:
	@if ! $(PYTHON) -c 'import zmq, msgpack, numpy, pytest' 2>/dev/null; then \
		echo "installing $(PY_DEBS)"; \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $(PY_DEBS); \
	fi

test-python: build python-deps
	cd python && EMERGE_BIN=$(CURDIR)/$(BIN) $(PYTHON) -m pytest -q

bench-python: build python-deps
	cd python && EMERGE_BIN=$(CURDIR)/$(BIN) $(PYTHON) bench/bench_python.py

# The S3 gateway's tests run rclone, s3cmd, awscli and boto3 (Debian's
# packages) against a real node. Each missing one is installed; one apt
# cannot install is skipped by the tests, which say so.
S3_DEBS := rclone s3cmd awscli python3-boto3

s3-deps:
	@missing=""; \
	for p in $(S3_DEBS); do \
		case $$p in \
		python3-boto3) $(PYTHON) -c 'import boto3' 2>/dev/null || missing="$$missing $$p" ;; \
		awscli) [ -x /usr/bin/aws ] || missing="$$missing $$p" ;; \
		*) [ -x /usr/bin/$$p ] || missing="$$missing $$p" ;; \
		esac; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		$(SUDO) apt-get update -q >/dev/null 2>&1 || true; \
		for p in $$missing; do \
			$(SUDO) apt-get install -y -q $$p >/dev/null 2>&1 || \
				echo "s3-deps: apt-get could not install $$p: the S3 tests skip it"; \
		done; \
	fi

bench-http: build
	bash bench/http.sh

bench-scale: build
	bash bench/scale.sh

fuzz: deps
	bash scripts/fuzz.sh $${FUZZTIME:-30s}

demo: build
	bash scripts/demo.sh $(CURDIR)/$(BIN)

run: build
	./$(BIN) node --config conf/emerge.yaml

clean:
	rm -rf bin emerge-data
