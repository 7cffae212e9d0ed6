# Two commands do everything on a fresh machine with Python 3.11:
#   make run    create .venv from the lock if missing, run the workflow, print the report paths
#   make test   the same environment, then the whole test suite
# The targets call the project's own command, `alliance` (src/alliance_pipeline/app/cli.py), which
# works without make too (README: the route on Windows).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
STAMP := $(VENV)/.installed
CLUSTER_STAMP := $(VENV)/.cluster-installed
SLURM_PLUGINS := snakemake-executor-plugin-slurm snakemake-executor-plugin-slurm-jobstep

.PHONY: run test check bench lint lock clean report-index synthetic coding-sheets verify fuzz status cluster-env

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	# the package itself, editable (src/ stays where it is) with its console script .venv/bin/alliance
	$(BIN)/python -m pip install --quiet --no-deps -e .
	# a venv made before the SLURM plugin left requirements.lock (#23) still has it: remove it
	# unless the cluster extra was asked for (make cluster-env), so local runs never load it
	test -f $(CLUSTER_STAMP) || $(BIN)/python -m pip uninstall --quiet --yes $(SLURM_PLUGINS) 2>/dev/null || true
	# the .pth file earlier versions wrote instead of installing the package
	rm -f $(VENV)/lib/python*/site-packages/alliance_pipeline.pth
	touch $(STAMP)

# The cluster route (docs/cluster.md): the SLURM executor plugin, locked and hashed on its own,
# before `alliance run --profile profiles/slurm`.
cluster-env: $(CLUSTER_STAMP)
$(CLUSTER_STAMP): $(STAMP) requirements-cluster.lock
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-cluster.lock
	touch $(CLUSTER_STAMP)

# alliance run: snakemake --keep-going (a cohort that stops, e.g. disagreements not yet
# settled, does not keep the other cohorts from being built), a summary, the report paths.
run: $(STAMP)
	$(BIN)/alliance run --cores $(CORES)

# Blinded coding workbooks for every coder a cohort lists (data/derived/<cohort>/coding_sheets/).
coding-sheets: $(STAMP)
	$(BIN)/alliance coding-sheets --cores $(CORES)

# Per cohort: what it waits for and the next step.
status: $(STAMP)
	$(BIN)/alliance status

test: $(STAMP)
	bash tests/run_tests.sh

# The quick check while editing (about 1.5 minutes on two cores): the unit tests and the
# docstring examples (tests/test_doctests.py), without the test files that run the workflow.
CHECK_TESTS := $(addprefix tests/test_,$(addsuffix .py,agreement citation cluster_lock config \
	consensus difference_report docs_links doctests edited_sheets figures full_width intake \
	intake_fast models package_layout paired_tests pooling power privacy properties_readers \
	proportions runner status study_differences survey survey_layouts))
check: $(STAMP)
	bash tests/run_tests.sh -m "not workflow" $(CHECK_TESTS)

# The mutation fuzzer (tests/fuzz/fuzzer.py): CASES cases (2000) from seed FIRST_SEED (1), five
# of them also through the whole workflow; SEED=<n> reruns one case and prints it in full.
CASES ?= 2000
FIRST_SEED ?= 1
fuzz: $(STAMP)
	$(BIN)/python tests/fuzz/fuzzer.py $(if $(SEED),--seed $(SEED),--cases $(CASES) --first-seed $(FIRST_SEED) --workflow 5)

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py
	# snakemake --version and a no-op rerun with Slurm's controller stopped (the plugin's wait)
	$(BIN)/python benchmarks/cluster_wait.py
	# through SLURM beside the local run, when a cluster answers (tests/cluster/start.sh) and the
	# cluster extra is installed (make cluster-env)
	$(BIN)/python benchmarks/slurm.py

# A reviewer's check of a report against a rerun (docs/reviewers.md), i.e. alliance verify:
#   make verify REPORT=reports/<cohort>/report.html [FINAL_CODES=path/to/final_codes.csv] [DATA=dir]
# (DATA: the folder holding config/ and data/raw/; this one by default)
verify: $(STAMP)
	@test -n "$(REPORT)" || { echo "usage: make verify REPORT=reports/<cohort>/report.html [FINAL_CODES=path/to/final_codes.csv] [DATA=dir]"; exit 2; }
	$(BIN)/alliance verify "$(REPORT)" $(if $(FINAL_CODES),--final-codes "$(FINAL_CODES)") $(if $(DATA),--data-dir "$(DATA)")

# snakemake's own lint, ruff (pyproject [tool.ruff]) and mypy (pyproject [tool.mypy]); CI runs
# this before the tests, and .pre-commit-config.yaml runs ruff and mypy on each commit.
lint: $(STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/ruff check src scripts tests benchmarks
	$(BIN)/mypy

synthetic: $(STAMP)
	$(BIN)/python scripts/make_synthetic_pilot.py
	# one example per survey tool's export layout (examples/survey_tools/, docs/survey-tools.md)
	$(BIN)/python scripts/make_survey_examples.py

# Regenerate the lock after editing requirements.in (needs network access to PyPI), then
# environment.yml from it (the same versions inline, for the conda route).
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --generate-hashes --strip-extras --quiet -o requirements.lock requirements.in
	# the cluster extra, constrained by the main lock (-c requirements.lock): no shared pin moves
	$(BIN)/pip-compile --generate-hashes --strip-extras --quiet -o requirements-cluster.lock requirements-cluster.in
	$(BIN)/python scripts/environment_from_lock.py --lock requirements.lock --out environment.yml

clean:
	rm -rf data/derived reports/*/ logs .snakemake
