"""The package modules each rule of the workflow runs, one list per rule.

rules/*.smk declare these as the rule's inputs (``package(*RULE_MODULES["intake"])`` in
rules/common.smk), so editing a module reruns exactly the rules whose scripts import it,
directly or through other modules. Each list is the closure of the imports of the rule's
script; tests/test_package_layout.py computes it from the source and fails, printing the
right list, when one here is stale (``python tests/package_graph.py`` prints them all).
This module imports nothing: the Snakefile reads it at start-up.
"""

RULE_MODULES: dict[str, tuple[str, ...]] = {
    "change": (
        "change.cochran_q", "change.cohort_tables", "change.difference", "change.effect_sizes",
        "change.gee", "change.mcnemar", "change.models", "change.multiplicity",
        "change.paired_counts", "change.paired_tests", "change.participant_level", "change.power",
        "change.proportions", "common.runner", "common.seeds", "common.tables",
    ),
    "coding_sheet": (
        "coding.sheets", "coding.xlsx_cells", "common.blinding", "common.cohort_files",
        "common.hints", "common.privacy", "common.provenance", "common.runner", "common.tables",
        "common.workbook_layout", "intake.checks.characters", "intake.checks.codes",
        "intake.checks.personal_data", "intake.checks.responses", "intake.cohort",
        "intake.problems", "intake.read.csv_cells", "intake.read.csv_fast",
        "intake.read.csv_parser", "intake.read.csv_strict", "intake.read.decoding",
        "intake.read.export_file", "intake.read.export_layout", "intake.read.xlsx",
        "intake.sources.coder_files", "intake.sources.long_export",
        "intake.sources.responses_file", "intake.sources.sheet_edits", "intake.sources.survey",
        "intake.sources.wave_exports", "intake.sources.waves", "intake.sources.workbook_sheet",
        "intake.sources.workbooks", "intake.spec", "intake.table_order",
    ),
    "adjudication_sheet": (
        "coding.sheets", "coding.xlsx_cells", "common.blinding", "common.privacy", "common.runner",
        "common.tables", "common.workbook_layout",
    ),
    "disagreements": (
        "coding.consensus", "coding.majority", "common.privacy", "common.runner", "common.tables",
    ),
    "consensus": (
        "coding.consensus", "coding.majority", "common.runner", "common.tables",
    ),
    "agreement": (
        "coding.agreement", "coding.coefficients", "coding.consensus", "coding.krippendorff_alpha",
        "coding.majority", "coding.reliability_data", "common.runner", "common.seeds",
        "common.tables",
    ),
    "intake": (
        "common.blinding", "common.cohort_files", "common.hints", "common.privacy",
        "common.provenance", "common.runner", "common.tables", "common.workbook_layout",
        "intake.checks.characters", "intake.checks.codes", "intake.checks.personal_data",
        "intake.checks.responses", "intake.cohort", "intake.log_lines", "intake.problems",
        "intake.read.csv_cells", "intake.read.csv_fast", "intake.read.csv_parser",
        "intake.read.csv_strict", "intake.read.decoding", "intake.read.export_file",
        "intake.read.export_layout", "intake.read.xlsx", "intake.sources.coder_files",
        "intake.sources.long_export", "intake.sources.responses_file",
        "intake.sources.sheet_edits", "intake.sources.survey", "intake.sources.wave_exports",
        "intake.sources.waves", "intake.sources.workbook_sheet", "intake.sources.workbooks",
        "intake.spec", "intake.table_order",
    ),
    "figures": (
        "common.outputs", "common.runner", "common.tables", "config.settings",
        "report.figures.agreement", "report.figures.cohort_figures", "report.figures.flow",
        "report.figures.forest", "report.figures.frequencies", "report.figures.shares",
        "report.figures.style", "report.language",
    ),
    "render_report": (
        "change.participant_level", "common.cohort_files", "common.hints", "common.outputs",
        "common.privacy", "common.provenance", "common.runner", "common.tables", "config.load",
        "config.settings", "config.survey", "report.cohort_report", "report.format",
        "report.language", "report.lookup", "report.manifest", "report.notes",
        "report.render.fallback", "report.render.markdown", "report.render.metadata",
        "report.render.quarto", "report.render.renderer", "report.render.translate",
        "report.render.webfont", "report.sections.coding", "report.sections.design",
        "report.sections.difference", "report.sections.feedback", "report.sections.limitations",
        "report.sections.published", "report.sections.reproducibility", "report.sections.results",
        "report.sections.summary",
    ),
    "study_tables": (
        "change.effect_sizes", "change.mcnemar", "change.multiplicity", "change.participant_level",
        "change.proportions", "common.runner", "common.tables", "report.format", "report.language",
        "report.notes", "study.difference", "study.lookup", "study.pooling",
    ),
    "study_figures": (
        "common.outputs", "common.runner", "common.tables", "report.figures.forest",
        "report.figures.style", "report.format", "report.language", "study.figures",
        "study.lookup",
    ),
    "study_report": (
        "change.effect_sizes", "change.mcnemar", "change.multiplicity", "change.participant_level",
        "change.proportions", "common.cohort_files", "common.hints", "common.outputs",
        "common.provenance", "common.runner", "common.tables", "config.load", "config.settings",
        "config.survey", "report.format", "report.language", "report.lookup", "report.manifest",
        "report.notes", "report.render.fallback", "report.render.markdown",
        "report.render.metadata", "report.render.quarto", "report.render.renderer",
        "report.render.translate", "report.render.webfont", "report.sections.reproducibility",
        "study.cohort_sections", "study.difference", "study.fragments", "study.lookup",
        "study.pooling", "study.report",
    ),
    "verify": (
        "change.cochran_q", "change.cohort_tables", "change.difference", "change.effect_sizes",
        "change.gee", "change.mcnemar", "change.models", "change.multiplicity",
        "change.paired_counts", "change.paired_tests", "change.participant_level", "change.power",
        "change.proportions", "common.cohort_files", "common.hints", "common.provenance",
        "common.runner", "common.seeds", "common.tables", "config.load", "config.settings",
        "config.survey", "report.manifest", "verify.check", "verify.compare", "verify.levels",
        "verify.report_file", "verify.rerun",
    ),
}
