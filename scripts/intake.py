"""Snakemake adapter: rule intake -> alliance_pipeline.intake.cohort.read_cohort."""
from alliance_pipeline.intake.cohort import read_cohort
from alliance_pipeline.runner import run
from alliance_pipeline.tables import write_table


def step(smk, log):
    cohort = smk.params.cohort
    tables = read_cohort(cohort["raw"], cohort=cohort["cohort"], encoding=cohort["encoding"],
                         timepoints=smk.params.timepoints, questions=smk.params.questions,
                         id_pattern=cohort["privacy"]["participant_id_pattern"],
                         allow_similar_ids=cohort["privacy"]["allow_similar_participant_ids"],
                         survey=smk.params.survey, require_coders=smk.params.require_coders,
                         coding_key=smk.params.coding["coding_key"])
    for warning in tables["warnings"]:
        log.warning("%s", warning)
    for (timepoint, question), group in tables["unanswered"].groupby(["timepoint", "question"], sort=False):
        log.info("%s, %s: %d participant(s) did not answer (empty in the export): %s", timepoint,
                 question, len(group), ";".join(group["participant_id"]))
    for row in tables["coverage"].itertuples():
        if row.n_missing:
            log.warning("coder %s did not code %d response(s): %s", row.coder, row.n_missing, row.missing)
    flagged = tables["responses"].query("identifying != ''")
    if len(flagged):
        log.warning("%d response text(s) contain e-mail addresses or phone numbers: %s",
                    len(flagged), ";".join(flagged["response_id"]))
    for name in ("responses", "codings", "adjudication", "coverage", "coder_files"):
        write_table(tables[name], smk.output[name])
    log.info("%d responses, %d codings, %d adjudications", len(tables["responses"]),
             len(tables["codings"]), len(tables["adjudication"]))


run(snakemake, step)  # noqa: F821 (snakemake is injected by the script directive)
