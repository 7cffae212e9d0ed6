"""Snakemake adapter: rule consensus -> alliance_pipeline.coding.consensus.final_codes."""
from alliance_pipeline.coding.consensus import final_codes
from alliance_pipeline.coding.majority import UnresolvedDisagreements
from alliance_pipeline.common.runner import run
from alliance_pipeline.common.tables import read_table, write_table


def step(smk, log):
    rule = smk.params.cohort["analysis"]["consensus"]["unresolved"]
    try:
        codes = final_codes(read_table(smk.input.responses), read_table(smk.input.codings),
                            read_table(smk.input.adjudication), smk.params.questions,
                            unresolved=rule)
    except UnresolvedDisagreements as err:
        majority = ("" if rule == "majority" else
                    ", or set analysis.consensus.unresolved: majority in config/config.yaml "
                    "(settles only responses where more than half of the coders chose one code "
                    "set)")
        raw = smk.params.cohort["raw"]
        sheet = smk.params.adjudication_sheet
        where = (f"fill in the adjudication workbook {sheet} and save it as {raw}/adjudication.xlsx, "
                 "or add them to " if sheet else "add them to ")
        raise ValueError(
            f"{err}\nOpen the worksheet {smk.input.worksheet}, agree the codes and {where}"
            f"{raw}/adjudication.csv (response_id,codes,rationale){majority}; then run the "
            "workflow again (make run)") from None
    write_table(codes, smk.output.final_codes)
    log.info("sources: %s", codes.drop_duplicates("response_id")["source"].value_counts().to_dict())


run(snakemake, step)  # noqa: F821
