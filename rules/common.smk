# Names every rule file uses.

DERIVED = "data/derived/{cohort}"
LOGS = "logs/{cohort}"
ENV = "../environment.yml"  # relative to the rule files

# Package modules a rule runs, declared as its inputs so editing one reruns that rule; its
# list in alliance_pipeline.rule_modules (package(*RULE_MODULES["intake"])). Each is a dotted
# name under alliance_pipeline ("change.paired_tests") and brings the __init__.py of every
# package on its way ("change/__init__"), which Python runs too.
package = lambda *modules: [str(path) for path in dict.fromkeys(
    [SRC / "alliance_pipeline" / "__init__.py"]
    + [SRC.joinpath("alliance_pipeline", *m.split(".")[:depth], "__init__.py") if depth <= m.count(".")
       else SRC.joinpath("alliance_pipeline", *m.split(".")).with_suffix(".py")
       for m in modules for depth in range(1, m.count(".") + 2)])]

# The cohort's raw files (responses, coder files, adjudication if present).
raw_inputs = lambda wildcards: cohort_files.raw_files(config["cohorts"][wildcards.cohort])

# The cohort's settings as plain values (analysis with the cohort's overrides applied).
cohort = lambda wildcards: settings.cohort_settings(config, wildcards.cohort)

# The cohort's coders and coding_key (only for the rules that make or read coding workbooks).
coding = lambda wildcards: settings.coding_settings(config, wildcards.cohort)

# What a cohort's own jobs may depend on: the design without the list of cohorts, and the
# config with only this cohort's entries, so adding a cohort leaves the others' jobs alone.
DESIGN = {key: value for key, value in STUDY.items() if key != "cohorts"}
cohort_config = lambda wildcards: settings.cohort_config(config, wildcards.cohort)


# onsuccess/onerror (Snakefile): what the team does next for cohorts still waiting for coders.
def print_next_steps():
    """What the team does next for the cohorts still waiting for their coders (if any)."""
    if WAITING:
        print(status.next_steps(WAITING, config), file=sys.stderr)
