# Two commands do everything on a fresh machine with Python 3.11:
#   make run    create .venv from the lock if missing, run the workflow, print the report paths
#   make test   the same environment, then the whole test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
STAMP := $(VENV)/.installed

.PHONY: run test bench lint lock clean report-index synthetic coding-sheets verify fuzz

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	# the package itself: a .pth file puts src/ on the venv's path (no build step needed)
	$(BIN)/python -c "import pathlib, site; pathlib.Path(site.getsitepackages()[0], 'alliance_pipeline.pth').write_text(str(pathlib.Path('src').resolve()) + '\n')"
	touch $(STAMP)

# --keep-going: a cohort that stops (e.g. disagreements not yet settled) does not keep the
# other cohorts from being built; the run ends with a summary by cohort.
run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --keep-going
	@echo "Reports:"; ls -1 reports/*/report.html reports/*/report.pdf 2>/dev/null || echo "  (none yet)"

# Blinded coding workbooks for every coder a cohort lists (data/derived/<cohort>/coding_sheets/).
coding-sheets: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) coding_sheets

test: $(STAMP)
	bash tests/run_tests.sh

# The mutation fuzzer (tests/fuzz/fuzzer.py): CASES cases (2000) from seed FIRST_SEED (1), five
# of them also through the whole workflow; SEED=<n> reruns one case and prints it in full.
CASES ?= 2000
FIRST_SEED ?= 1
fuzz: $(STAMP)
	$(BIN)/python tests/fuzz/fuzzer.py $(if $(SEED),--seed $(SEED),--cases $(CASES) --first-seed $(FIRST_SEED) --workflow 5)

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py
	# through SLURM beside the local run, when a cluster answers (tests/cluster/start.sh)
	$(BIN)/python benchmarks/slurm.py

# A reviewer's check of a report against a rerun (README, "For reviewers"):
#   make verify REPORT=reports/<cohort>/report.html [FINAL_CODES=path/to/final_codes.csv] [DATA=dir]
# (DATA: the folder holding config/ and data/raw/; this one by default)
verify: $(STAMP)
	@test -n "$(REPORT)" || { echo "usage: make verify REPORT=reports/<cohort>/report.html [FINAL_CODES=path/to/final_codes.csv] [DATA=dir]"; exit 2; }
	$(BIN)/python -m alliance_pipeline.verify "$(REPORT)" $(if $(FINAL_CODES),--final-codes "$(FINAL_CODES)") $(if $(DATA),--data-dir "$(DATA)")

# snakemake's own lint, ruff (pyproject [tool.ruff]) and mypy (pyproject [tool.mypy]); CI runs
# this before the tests, and .pre-commit-config.yaml runs ruff and mypy on each commit.
lint: $(STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/ruff check src scripts tests benchmarks
	$(BIN)/mypy

synthetic: $(STAMP)
	$(BIN)/python scripts/make_synthetic_pilot.py

# Regenerate the lock after editing requirements.in (needs network access to PyPI), then
# environment.yml from it (the same versions inline, for the conda route).
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --generate-hashes --strip-extras --quiet -o requirements.lock requirements.in
	$(BIN)/python scripts/environment_from_lock.py --lock requirements.lock --out environment.yml

clean:
	rm -rf data/derived reports/*/ logs .snakemake
