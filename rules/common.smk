# Names every rule file uses.

DERIVED = "data/derived/{cohort}"
LOGS = "logs/{cohort}"
ENV = "../environment.yml"  # relative to the rule files

# Package modules a rule runs, declared as its inputs so editing one reruns that rule.
package = lambda *modules: [str(SRC / "alliance_pipeline" / f"{m}.py") for m in ("__init__", *modules)]

# The cohort's settings as plain values (analysis with the cohort's overrides applied).
cohort = lambda wildcards: study_config.cohort_settings(config, wildcards.cohort)
