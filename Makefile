# genrekit: every target creates and reuses the local virtual environment in .venv.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= 2
# Another CPU's kernels for the numeric tests' second run: an AVX-512 machine runs them as an
# AVX2 one does (OpenBLAS Haswell, oneDNN/MKL AVX2), any other as an AVX-only one.
OTHER_KERNEL ?= $(shell grep -qw avx512f /proc/cpuinfo 2>/dev/null \
	&& echo "OPENBLAS_CORETYPE=Haswell ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2" \
	|| echo "OPENBLAS_CORETYPE=Sandybridge ONEDNN_MAX_CPU_ISA=AVX MKL_ENABLE_INSTRUCTIONS=AVX")

.PHONY: install test lint demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,all]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/lint-imports
	$(BIN)/python tools/check_import_cycles.py

test: $(STAMP) lint
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup -q
	@echo "numeric tests again under other kernels: $(OTHER_KERNEL)"
	env $(OTHER_KERNEL) $(BIN)/python -m pytest -n $(JOBS) -q -m numeric -p no:cacheprovider

demo: $(STAMP)
	$(BIN)/genrekit demo --out demo-out

bench: $(STAMP)
	$(BIN)/python benchmarks/preprocess_jobs.py
	$(BIN)/python benchmarks/features.py
	$(BIN)/python benchmarks/features_parity.py
	$(BIN)/python benchmarks/serve.py
	$(BIN)/python benchmarks/predict.py
	$(BIN)/python benchmarks/train_gtzan.py
	$(BIN)/python benchmarks/scaling.py --n 0

clean:
	rm -rf $(VENV) demo-out .pytest_cache .ruff_cache
