SHELL := /bin/bash
# The two commands of the README, and the slower ones.
#   make run    install what is missing, build, start linksyncd on SQLite
#   make test   install, build (plain and with sanitizers), run every test on
#               SQLite and on a throwaway PostgreSQL
#   make test-pg  the end-to-end tests (and the PostgreSQL store's unit test)
#                 again on a throwaway PostgreSQL, several nodes among them
#   make bench  benchmarks against nginx (minutes)
#   make fuzz   the fuzz harnesses (FUZZ_SECONDS each)
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 60
LISTEN     ?= 0.0.0.0:8080
STORE      ?= sqlite:./linksync-data/linksync.db

.PHONY: all deps build run test test-plain test-asan test-pg test-browser test-fuzz bench fuzz clean

all: build

deps:
	@scripts/deps.sh build

build: deps
	@cmake -S . -B $(BUILD) -DLKS_WERROR=ON >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) --target linksyncd linksync_cli

run: build
	./$(BUILD)/linksyncd --listen $(LISTEN) --store $(STORE)

test:
	@scripts/deps.sh build test
	@$(MAKE) --no-print-directory test-plain test-asan test-browser test-fuzz
	@$(MAKE) --no-print-directory test-pg
	@$(MAKE) --no-print-directory test-pg PG_BUILD=$(ASAN_BUILD) PG_FLAGS="-DLKS_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug"

test-plain:
	@cmake -S . -B $(BUILD) -DLKS_WERROR=ON >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j2

test-asan:
	@cmake -S . -B $(ASAN_BUILD) -DLKS_WERROR=ON -DLKS_SANITIZE=address,undefined \
		-DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j2

# The end-to-end tests on PostgreSQL, and the store's PostgreSQL unit tests:
# a throwaway cluster (scripts/pg.sh, a Unix socket only) for the whole run,
# each test in a fresh schema of it (tests/e2e/lib.sh), test_multinode with
# two nodes behind haproxy; the cluster is stopped whatever happens. PG_BUILD picks the build (default
# $(BUILD)); it must be built already (make test-plain does).
PG_BUILD ?= $(BUILD)
test-pg:
	@scripts/deps.sh build test
	@cmake -S . -B $(PG_BUILD) -DLKS_WERROR=ON $(PG_FLAGS) >/dev/null
	@cmake --build $(PG_BUILD) -j$(JOBS)
	@dir=$$(mktemp -d /tmp/lks-pg-XXXXXX) && \
	trap '$(CURDIR)/scripts/pg.sh stop "$$dir" >/dev/null 2>&1 || true' EXIT && \
	trap 'exit 130' INT TERM && \
	url=$$(scripts/pg.sh start "$$dir") && \
	echo "== PostgreSQL for the tests: $$url" && \
	cd $(PG_BUILD) && LKS_PG_URL="$$url" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j2 -R '^(e2e/|unit/test_store_(postgres|watch)$$)'

test-browser:
	npm ci --no-audit --no-fund --loglevel=error
	node tools/bundle-noble.mjs --check
	node tools/bundle-qr.mjs --check
	LKS_BIN=$(CURDIR)/$(BUILD) node --test tests/js/
	LKS_BIN=$(CURDIR)/$(BUILD) bash tests/browser/run.sh

# A short run of every fuzz harness on its seeds (make fuzz runs longer).
test-fuzz:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(or $(TEST_FUZZ_SECONDS),15)

bench:
	@scripts/deps.sh build bench
	bash bench/run.sh

fuzz:
	@scripts/deps.sh build fuzz
	@cmake -S . -B $(FUZZ_BUILD) -DLKS_FUZZ=ON -DCMAKE_C_COMPILER=clang \
		-DLKS_SANITIZE=address,undefined >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzzers
	@for f in $(FUZZ_BUILD)/fuzz_*; do \
		name=$$(basename $$f); \
		case $$name in \
		fuzz_ical) seeds=../shared/corpus/ical ;; \
		fuzz_vcard) seeds=../shared/corpus/vcard ;; \
		fuzz_qr_decode) seeds=tests/core/data/qr ;; \
		fuzz_envelope) seeds=docs ;; \
		*) seeds= ;; \
		esac; \
		work=$(FUZZ_BUILD)/corpus/$$name; mkdir -p $$work; \
		if [ -n "$$seeds" ] && [ -d "$$seeds" ]; then \
			find $$seeds -type f ! -name 'LICENSE*' ! -name '*.md' -size -256k -exec cp -n {} $$work/ \; ; \
		fi; \
		echo "== $$name ($(FUZZ_SECONDS) s)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -timeout=20 $$work 2>&1 | tail -n 3; \
		[ $${PIPESTATUS[0]} -eq 0 ] || { echo "$$name found a crash: see $$work and the log above"; exit 1; }; \
	done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
