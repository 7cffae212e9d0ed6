# Alliance-rupture training study: from raw free-text codes to the report.
#
#   snakemake --cores N            all cohorts' tables, figures and reports
#   snakemake -s <checkout>/Snakefile -d <dir> --cores N   another data directory
#
# Steps (each a rule file under rules/, each rule a thin script under scripts/ that calls
# the package src/alliance_pipeline/):
#   intake         rules/intake.smk    raw files -> checked, normalised tables
#   coding_sheet   rules/coding.smk    blinded coding workbooks (target: coding_sheets)
#   disagreements  rules/coding.smk    worksheet for the consensus meeting
#   adjudication_sheet rules/coding.smk  the same as a blinded workbook
#   consensus      rules/coding.smk    final_codes.csv
#   agreement      rules/coding.smk    inter-coder reliability
#   change         rules/change.smk    shares, Cochran's Q, McNemar, power, participant flow, models
#   figures        rules/report.smk    PNG + SVG figures (figures/<lang>/ for each report language after the first)
#   render_report  rules/report.smk    reports/<cohort>/report.html and .pdf (+ manifest.json; report.<lang>.* per other language)
#   verify         rules/verify.smk    a reviewer's check of the reports against a rerun (on request)
import os
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")

SRC = Path(workflow.basedir) / "src"
sys.path.insert(0, str(SRC))
# the jobs' Python processes import the package of this checkout, whatever is installed
os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, [str(SRC), os.getenv("PYTHONPATH")])))

from alliance_pipeline.config import load as study_config  # noqa: E402
from alliance_pipeline.common import cohort_files  # noqa: E402
from alliance_pipeline.config import settings  # noqa: E402
from alliance_pipeline.rule_modules import RULE_MODULES  # noqa: E402

# Snakemake's own loader would only say "not valid JSON or YAML" and keeps the last of a key
# given twice; this names line and column, and refuses duplicate keys (also in --configfile).
for _configfile in ["config/config.yaml", *map(str, workflow.overwrite_configfiles)]:
    if Path(_configfile).is_file():
        study_config.load_yaml(_configfile)

configfile: "config/config.yaml"

# Options of rule verify (rules/verify.smk), not study settings: taken out before the checks,
# so they never reach a job's params or a report's manifest.
VERIFY = {key: config.pop(key) for key in ("verify_report", "verify_final_codes") if key in config}

# Config and codebook are read and checked once, here; rules get plain values.
study_config.check_config(config, "config (config/config.yaml and any --configfile/--config)")
validate(config, "schemas/config.schema.yaml")  # fills in the schema's defaults
CODEBOOK = study_config.load_codebook(config["codebook"], "config (config/config.yaml and any --configfile/--config)")
study_config.check_codebook(CODEBOOK, config["codebook"])
validate(CODEBOOK, "schemas/codebook.schema.yaml")
_problems = study_config.cross_reference_problems(config, CODEBOOK)
if _problems:
    raise study_config.ConfigError(f"config and {config['codebook']}", _problems)
from alliance_pipeline.report.language import available_languages  # noqa: E402

LANGUAGES = settings.report_languages(config)
if _missing := [code for code in LANGUAGES if code not in available_languages()]:
    raise study_config.ConfigError("config report.languages", [
        f"report.languages: {code!r} has no message catalogue (src/alliance_pipeline/report/locale/"
        f"{code}/); available: {', '.join(available_languages())} (docs/languages.md: adding a language)"
        for code in _missing])
STUDY = settings.study_settings(config, CODEBOOK)
COHORTS = STUDY["cohorts"]
study_config.check_cohort_folders(config)

# Cohorts still waiting for their coders get only intake (and the coding workbooks); the
# run ends with what to do next instead of failing (alliance_pipeline.app.status).
from alliance_pipeline.app import status  # noqa: E402

WAITING = {c: w for c in COHORTS if (w := status.waiting_for(config["cohorts"][c]))}
CODED = [c for c in COHORTS if c not in WAITING]

wildcard_constraints:
    cohort="|".join(map(__import__("re").escape, COHORTS)),

include: "rules/common.smk"
include: "rules/intake.smk"
include: "rules/coding.smk"
include: "rules/change.smk"
include: "rules/report.smk"
include: "rules/study.smk"
include: "rules/verify.smk"


rule all:
    input:
        expand("reports/{cohort}/{stem}.{ext}", cohort=CODED, ext=["html", "pdf"],
               stem=[report_stem(code, LANGUAGES) for code in LANGUAGES]),
        expand(FIGURES, cohort=CODED),
        expand(f"{DERIVED}/{{table}}.csv", cohort=CODED,
               table=["disagreements", "final_codes", "agreement", "proportions", "tests", "power",
                      "models"]),
        [sheet for c in CODED if (sheet := status.adjudication_sheet(c, config["cohorts"][c]))],
        # a cohort waiting for its coders: its responses and the coders' blinded workbooks
        expand(f"{DERIVED}/responses.csv", cohort=list(WAITING)),
        [status.coding_sheet(c, coder) for c in WAITING for coder in config["cohorts"][c].get("coders", [])],
        STUDY_REPORT + STUDY_TRANSLATED if len(COHORTS) >= 2 and not WAITING else [],
    default_target: True


onsuccess:
    print_next_steps()


onerror:
    print_next_steps()
    print(status.run_summary(COHORTS, WAITING), file=sys.stderr)
