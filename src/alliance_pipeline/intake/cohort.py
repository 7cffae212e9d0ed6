"""Reading and validating one cohort's raw files (data/raw/<cohort>/): the intake step.

Every rule of the data contract is checked and every problem of a file is reported at
once, each naming the file, the row as a spreadsheet shows it (the header is row 1), the
column, the value and what to do. Raw files are opened read-only and never written.

Intake runs in stages, each a folder of this package with one job: ``read/`` (a file's
bytes to cells: decoding, CSV, .xlsx, export layouts), ``checks/`` (responses, codes,
characters, personal data), ``sources/`` (cells to long rows, one module per kind of input:
responses.csv, form exports, coder files, filled workbooks). This module finds a cohort's
files, runs the stages with one :class:`~alliance_pipeline.intake.problems.Findings` and
returns a :class:`CohortTables` (:func:`read_cohort`, :func:`read_responses`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from alliance_pipeline.common.cohort_files import not_a_file, survey_exports, survey_file
from alliance_pipeline.common.privacy import scan_texts
from alliance_pipeline.intake.checks.codes import (
    adjudication_of_agreed,
    copied_coder_files,
    lookup_of_responses,
)
from alliance_pipeline.intake.checks.responses import strip_cells
from alliance_pipeline.intake.problems import Findings, IntakeError, Problem
from alliance_pipeline.intake.sources.coder_files import (
    ADJUDICATION_COLUMNS,
    WORKBOOK_SUFFIX,
    CodingRead,
    Context,
    list_coder_files,
    read_adjudication,
    read_coder_file,
)
from alliance_pipeline.intake.sources.responses_file import missing_responses, read_responses_file
from alliance_pipeline.intake.sources.survey import read_survey
from alliance_pipeline.intake.spec import CohortSpec
from alliance_pipeline.intake.table_order import codings_order, responses_in_order, table_rank

RESPONSE_TABLE = ["response_id", "participant_id", "timepoint", "question", "item", "text"]
CODING_TABLE = ["response_id", "question", "coder", "codes"]
COVERAGE_COLUMNS = ["coder", "n_coded", "n_missing", "missing"]
CODER_FILE_COLUMNS = ["coder", "file", "blind"]
UNANSWERED_COLUMNS = ["timepoint", "question", "participant_id"]


@dataclass
class CohortTables:
    """A cohort's raw files read and checked: the tables intake writes and what it logs.

    ``responses``: ``response_id, participant_id, timepoint, question, item, text,
    identifying``; ``codings``: ``response_id, question, coder, codes``; ``adjudication``:
    ``response_id, codes, rationale``; ``coverage``: per coder the responses not coded;
    ``coder_files``: per coder the file read and whether it is a blinded coding workbook the
    pipeline generated; ``unanswered``: ``timepoint, question, participant_id`` of empty
    answers in survey exports; ``warnings``: problems that do not stop the run; ``notes``: the
    layout recognised per export and the rows left out.
    """
    responses: pd.DataFrame
    codings: pd.DataFrame
    adjudication: pd.DataFrame
    coverage: pd.DataFrame
    coder_files: pd.DataFrame
    unanswered: pd.DataFrame
    warnings: list[Problem]
    notes: list[str]

    TABLES = ("responses", "codings", "adjudication", "coverage", "coder_files")  # written by intake


def _responses(raw_dir: Path, spec: CohortSpec, findings: Findings
               ) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """``(responses, unanswered)``: responses.csv, or the form exports of the ``survey``
    block, read and checked (``item`` filled in as "" when there is none); responses is None
    when ``findings`` got problems (sorted by row)."""
    before = len(findings.problems)
    unanswered = pd.DataFrame(columns=UNANSWERED_COLUMNS)
    if spec.survey is not None:
        responses, unanswered = read_survey(
            raw_dir, spec.survey, cohort=spec.cohort, encoding=spec.encoding,
            timepoints=spec.timepoints, questions=spec.questions, id_pattern=spec.id_pattern,
            allow_similar_ids=spec.allow_similar_ids, findings=findings)
    else:
        responses = read_responses_file(raw_dir / "responses.csv", spec, findings)
    if len(findings.problems) > before or responses is None:
        findings.problems[before:] = sorted(findings.problems[before:], key=lambda p: p.row or 0)
        return None, unanswered
    if "item" not in responses.columns:
        responses["item"] = ""
    responses["item"] = strip_cells(responses["item"])
    return responses, unanswered


def read_responses(raw_dir: str | Path, *, cohort: str, encoding: str, timepoints: list[str],
                   questions: dict, id_pattern: str, allow_similar_ids: bool = False,
                   survey: dict | None = None) -> pd.DataFrame:
    """A cohort's checked responses alone (for the coding sheets, before any code exists):
    ``response_id, participant_id, timepoint, question, item, text``, from responses.csv or
    the ``survey`` exports. Raises :class:`IntakeError` with every problem found there."""
    raw_dir = Path(raw_dir)
    path = raw_dir / "responses.csv"
    if survey is None and not path.is_file():
        raise IntakeError(cohort, [missing_responses(path)])
    spec = CohortSpec(cohort, encoding, timepoints, questions, id_pattern, allow_similar_ids, survey)
    findings = Findings()
    responses, _ = _responses(raw_dir, spec, findings)
    if findings.problems or responses is None:
        raise IntakeError(cohort, findings.problems)
    return responses[RESPONSE_TABLE]


def _folder_problems(raw_dir: Path, spec: CohortSpec, coder_paths: list[Path],
                     require_coders: bool) -> list[Problem]:
    """What is wrong with the cohort's folder before any file is read: responses.csv or an
    adjudication.csv that is not a file, too few coder files."""
    problems = []
    responses_path = raw_dir / "responses.csv"
    if not responses_path.is_file() and spec.survey is None:
        problems.append(missing_responses(responses_path))
    adjudication_path = raw_dir / "adjudication.csv"
    why = not_a_file(adjudication_path)
    if why:
        problems.append(Problem(str(adjudication_path), None, None, None, why))
    if len(coder_paths) < 2 and require_coders and not any(p.file.endswith(".csv") for p in problems):
        problems.append(Problem(str(raw_dir / "codes"), None, None, None,
                                f"has {len(coder_paths)} coder file(s); agreement and consensus "
                                "need two or more (codes/<coder_id>.csv)"))
    return problems


def read_cohort(raw_dir: str | Path, *, cohort: str, encoding: str, timepoints: list[str],
                questions: dict, id_pattern: str, allow_similar_ids: bool = False,
                survey: dict | None = None, require_coders: bool = True,
                coding_key: str = "") -> CohortTables:
    """Read and validate a cohort's raw folder into its :class:`CohortTables`.

    Raises :class:`IntakeError` with every problem found. ``allow_similar_ids`` accepts
    participant ids that differ only in case or leading zeros. ``survey``: the cohort's
    ``survey:`` block; its form exports are read
    (:mod:`alliance_pipeline.intake.sources.survey`) instead of responses.csv.
    ``require_coders=False`` (a cohort still being coded) accepts fewer than two coder files:
    intake then gives the responses for the coding sheets and whatever codes have come back.
    Filled workbooks (``codes/<coder>.xlsx``, ``adjudication.xlsx``) are mapped back to
    responses with ``coding_key``.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise IntakeError(cohort, [Problem(str(raw_dir), None, None, None,
                                           f"cohort folder does not exist; create it or fix "
                                           f"cohorts.{cohort}.raw in config/config.yaml")])
    spec = CohortSpec(cohort, encoding, timepoints, questions, id_pattern, allow_similar_ids,
                      survey, coding_key)
    coder_paths, problems = list_coder_files(raw_dir / "codes")
    problems += _folder_problems(raw_dir, spec, coder_paths, require_coders)
    if problems:
        raise IntakeError(cohort, problems)
    findings = Findings()
    responses, unanswered = _responses(raw_dir, spec, findings)
    if findings.problems or responses is None:
        raise IntakeError(cohort, findings.problems)
    context = Context(spec, responses, lookup_of_responses(responses["response_id"], responses["question"]),
                      _source_name(spec), {})
    coded = {path.stem: read for path in coder_paths
             if (read := read_coder_file(path, context, findings)) is not None}
    copied = copied_coder_files(coder_paths)
    findings.warnings += copied
    adjudication, adjudication_path = read_adjudication(raw_dir, context, findings)
    if findings.problems:
        raise IntakeError(cohort, findings.problems)
    tables = _tables(responses, coded, adjudication, coder_paths, context)
    found = adjudication_of_agreed(tables.adjudication_input, tables.codings, str(adjudication_path),
                                   tables.positions)
    if found:  # a copied coder file is the likely cause of "adjudication of agreed responses"
        raise IntakeError(cohort, copied + found)
    return _in_table_order(tables, context, unanswered, findings)


def _source_name(spec: CohortSpec) -> str:
    """How messages name where the responses come from."""
    if spec.survey is None:
        return "responses.csv"
    names = [survey_file(v)[0] for v in survey_exports(spec.survey).values()]
    return f"the exports of cohorts.{spec.cohort}.survey ({', '.join(names)})"


@dataclass
class _Assembled:
    """The codings of every coder and the adjudication, before they are put in table order."""
    responses: pd.DataFrame
    codings: pd.DataFrame
    coded_at: list[np.ndarray]          # per coder, the position of each coded response
    adjudication_input: pd.DataFrame
    adjudicated_at: np.ndarray          # the position of each adjudicated response
    coverage: list[dict]
    coder_files: list[dict[str, str]]

    @property
    def positions(self) -> tuple[np.ndarray, np.ndarray]:
        coded = np.concatenate(self.coded_at) if self.coded_at else np.zeros(0, dtype=np.int64)
        return coded, self.adjudicated_at


def _tables(responses: pd.DataFrame, coded: dict[str, CodingRead], adjudication: CodingRead | None,
            coder_paths: list[Path], context: Context) -> _Assembled:
    """Every coder's rows tied to their responses (ids and questions taken from the look-up,
    whose hashes are known: later look-ups of the codings hash nothing again), with each
    coder's coverage."""
    lookup = context.lookup
    response_ids = lookup.keys
    frames, coded_at, coverage, files = [], [], [], []
    for path in coder_paths:
        if path.stem not in coded:
            continue
        frame, at = coded[path.stem]
        coder = path.stem
        files.append({"coder": coder, "file": path.name,
                      "blind": "yes" if path.suffix == WORKBOOK_SUFFIX else "no"})
        frame["response_id"] = response_ids[at]
        frame["question"] = pd.array(np.asarray(lookup.questions[at], dtype=object), dtype="str")
        frame["coder"] = coder
        frames.append(frame[CODING_TABLE])
        coded_at.append(at)
        mask = np.zeros(len(response_ids), dtype=bool)
        mask[at] = True
        missing = sorted(response_ids[~mask])
        coverage.append({"coder": coder, "n_coded": len(frame), "n_missing": len(missing),
                         "missing": ";".join(missing[:20]) + (";..." if len(missing) > 20 else "")})
    codings = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CODING_TABLE)
    if adjudication is None:
        adjudication = CodingRead(pd.DataFrame(columns=ADJUDICATION_COLUMNS), np.zeros(0, dtype=np.int64))
    return _Assembled(responses, codings, coded_at, adjudication.frame, adjudication.positions,
                      coverage, files)


def _in_table_order(tables: _Assembled, context: Context, unanswered: pd.DataFrame,
                    findings: Findings) -> CohortTables:
    """The tables in their written order (intake.table_order), the responses with the kinds
    of identifying text each holds."""
    spec = context.spec
    responses = responses_in_order(tables.responses, spec.questions, spec.timepoints)
    responses["identifying"] = scan_texts(responses)
    responses = responses[[*RESPONSE_TABLE, "identifying"]].reset_index(drop=True)
    rank = table_rank(responses["response_id"], context.lookup)
    coders = [c["coder"] for c in tables.coder_files]
    codings = tables.codings.iloc[codings_order(tables.coded_at, coders, rank)].reset_index(drop=True)
    adjudication = (tables.adjudication_input.iloc[np.argsort(rank[tables.adjudicated_at], kind="stable")]
                    [ADJUDICATION_COLUMNS].reset_index(drop=True))
    return CohortTables(
        responses=responses, codings=codings, adjudication=adjudication,
        coverage=pd.DataFrame(tables.coverage, columns=COVERAGE_COLUMNS),
        coder_files=pd.DataFrame(tables.coder_files, columns=CODER_FILE_COLUMNS),
        unanswered=unanswered, warnings=findings.warnings, notes=findings.notes)
