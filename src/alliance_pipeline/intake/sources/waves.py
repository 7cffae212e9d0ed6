"""The waves of a form export and the checks every wave's rows share.

A :class:`Wave` holds one time point's rows: from its own export
(:mod:`alliance_pipeline.intake.sources.wave_exports`) or its share of a long export
(:mod:`alliance_pipeline.intake.sources.long_export`). One row per participant (per wave) and
one column per question; a question's header may differ per wave (``{pre1: "...", post: "..."}``). Only
the participant column and the columns of the questions asked at that wave are taken; every
other column (timestamps, e-mail addresses, consent ticks) is never copied into a table, a log
or a message. An answer that is empty or only spaces (including non-breaking and ideographic
spaces) means the participant did not answer: no response row. A row whose participant cell
is a column header, or whose answer is its own column's header or the question's prompt, is a
header row read as data and refused.

Response ids are ``<participant>.<timepoint>.<question>`` (e.g. ``P01.pre1.session_experience``).
A character of the participant id outside ``A-Z a-z 0-9 _ -`` is written as ``~`` and two
hex digits per UTF-8 byte (``P.1`` -> ``P~2e1``), so ids use only ``A-Z a-z 0-9 _ - . ~``,
never clash, and the same exports always give the same ids, whatever rows are added.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from alliance_pipeline.common.hints import did_you_mean
from alliance_pipeline.common.privacy import participant_id_problem
from alliance_pipeline.intake.checks.characters import WidthFolding, character_note
from alliance_pipeline.intake.checks.personal_data import email_column_problem
from alliance_pipeline.intake.checks.responses import participant_key, similar_id_message
from alliance_pipeline.intake.problems import Findings, Problem
from alliance_pipeline.intake.read.export_file import Export

_SAFE = re.compile(r"[A-Za-z0-9_-]")
SECOND_HEADER = ("this row looks like a second header row (for example the question texts of a "
                 "Qualtrics export, or a header pasted twice), not a participant's answers; "
                 "delete the row, or download the export again as the survey tool writes it")


_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def is_blank(text: str) -> bool:
    """No answer: empty, or only white space (str.isspace: spaces, tabs, NBSP U+00A0,
    ideographic space U+3000, ...) and zero-width characters (U+200B-U+200D, U+2060, U+FEFF)."""
    return not text.translate(_INVISIBLE).strip()


def response_id(participant_id: str, timepoint: str, question: str) -> str:
    """``<participant>.<timepoint>.<question>``; unsafe characters as ``~`` + hex of each byte."""
    safe = "".join(ch if _SAFE.fullmatch(ch) else "".join(f"~{b:02x}" for b in ch.encode("utf-8"))
                   for ch in participant_id)
    return f"{safe}.{timepoint}.{question}"


def header_for(value: str | dict, timepoint: str) -> str | None:
    """A question's header at ``timepoint``: one string for every wave, or a map per wave."""
    if isinstance(value, dict):
        header = value.get(timepoint)
        return None if header is None else header.strip()
    return value.strip()


def asked_at(survey: dict, questions: dict, timepoint: str) -> dict[str, str]:
    """``{question id: its header}`` of the questions asked at ``timepoint`` with a header."""
    asked = {}
    for qid, value in survey["questions"].items():
        header = header_for(value, timepoint)
        if qid in questions and timepoint in questions[qid]["timepoints"] and header:
            asked[qid] = header
    return asked


@dataclass
class Wave:
    """The rows of one time point: from its own export, or its share of a long export."""
    timepoint: str
    export: Export
    rows: list[tuple[int, dict[str, str]]]
    asked: dict[str, str]                      # question id -> config name of its column
    label: str                                 # how messages name it
    value: str | None = None                   # a long export's wave value
    answers: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    # a long export's rows of repeating instruments that hold answers, merged after ``rows``:
    # (row, cells, instrument, instance)
    repeats: list[tuple[int, dict[str, str], str, str]] = field(default_factory=list)


def header_problems(export: Export, wanted: dict[str, tuple[str, str]], where: str
                    ) -> list[Problem]:
    """Config names of ``wanted`` ({name: (what it holds, its config key)}) that name no
    column of ``export`` (by id, or by question text in a Qualtrics export), or several."""
    problems = []
    names = [h for h in export.header if h]
    texts = export.layout.texts
    rows = (f"the header row (row {export.header_row}) or the question texts (row "
            f"{export.header_row + 1})" if texts else f"the header row (row {export.header_row})")
    for name, (what, key) in wanted.items():
        header, count = export.columns.get(name, (None, 0))
        if count == 1:
            continue
        if count > 1:
            message = (f"the column of {what} appears {count} times in {rows}; keep one, or "
                       "name the column by its id (row 1)")
        else:
            options = names + [t for t in texts if t]
            message = (f"the column of {what} is not in {rows} of {where}; the header has "
                       f"{', '.join(names) or 'no names'}{did_you_mean(name, options)}; correct "
                       f"{key} in config/config.yaml (it must equal the header exactly) or the "
                       "export's header")
        problems.append(Problem(**export.where(export.header_row, name, value=None, message=message)))
    return problems


def _header_names(wave: Wave, participant: str) -> set[str]:
    export = wave.export
    names = {participant, *export.header, *export.layout.texts, *wave.asked.values()}
    return {n.strip().casefold() for n in names if n and n.strip()}


class Reader:
    """The checks every wave's rows share; collects problems, responses and unanswered."""

    def __init__(self, survey: dict, questions: dict, id_pattern: str, allow_similar_ids: bool,
                 findings: Findings, cohort: str = ""):
        self.participant = survey["participant_column"].strip()
        self.cohort = cohort
        self.folding = WidthFolding()  # participant ids read in NFKC form: Ｐ０５ -> P05
        self.questions, self.id_pattern = questions, id_pattern
        self.allow_similar_ids = allow_similar_ids
        self.first_seen: dict[str, tuple[str, str]] = {}  # participant key -> (id, its export)
        self.problems = findings.problems
        self._guards: dict[int, tuple[set[str], dict[str, set[str]]]] = {}

    def column(self, wave: Wave, name: str) -> str:
        return wave.export.columns[name][0] or name

    def _guard(self, wave: Wave) -> tuple[set[str], dict[str, set[str]]]:
        """What a header row holds (casefolded): every header name and question text, and per
        question its own column's names and the codebook prompt (cached per wave)."""
        key = id(wave)
        if key not in self._guards:
            export = wave.export
            own = {}
            for qid, name in wave.asked.items():
                column = self.column(wave, name)
                names = {name, column, self.questions[qid].get("prompt", "")}
                if column in export.header and export.header.index(column) < len(export.layout.texts):
                    names.add(export.layout.texts[export.header.index(column)])
                own[qid] = {n.strip().casefold() for n in names if n and n.strip()}
            self._guards[key] = (_header_names(wave, self.participant), own)
        return self._guards[key]

    def check(self, wave: Wave, row: int, cells: dict[str, str]) -> tuple[str, dict[str, str]] | None:
        """``(participant id, {question: answer})`` of a row, or None (empty, or a problem)."""
        export, pcol = wave.export, self.column(wave, self.participant)
        typed = cells.get(pcol, "").strip()
        pid = self.folding.value(typed, **export.where(row, pcol)) if typed else ""
        answers = {qid: cells.get(self.column(wave, name), "") for qid, name in wave.asked.items()}
        if not pid:
            if not all(is_blank(a) for a in answers.values()):
                self.problems.append(Problem(**export.where(
                    row, pcol, value="",
                    message="is empty but the row has answers; fill in the participant's "
                            "pseudonym (or delete the row if it is a test submission)")))
            return None
        names, own = self._guard(wave)
        if pid.casefold() in names:
            self.problems.append(Problem(**export.where(
                row, pcol, value=pid, message=f"is a column header, not a participant: {SECOND_HEADER}")))
            return None
        for qid, text in answers.items():
            if not is_blank(text) and text.strip().casefold() in own[qid]:
                self.problems.append(Problem(**export.where(
                    row, self.column(wave, wave.asked[qid]), value=text,
                    message=f"is the column's header or the question's prompt, not an answer: "
                            f"{SECOND_HEADER}")))
                return None
        why = participant_id_problem(pid, self.id_pattern)
        if why:
            self.problems.append(Problem(**export.where(row, pcol, value=typed,
                                                        message=why + character_note(typed, pid))))
            return None
        key = participant_key(pid)
        if not self.allow_similar_ids and key in self.first_seen and self.first_seen[key][0] != pid:
            other, other_export = self.first_seen[key]
            self.problems.append(Problem(**export.where(
                row, pcol, value=pid, message=similar_id_message(other, f"in {other_export}"))))
            return None
        self.first_seen.setdefault(key, (pid, str(export.path)))
        return pid, answers

    def collect(self, wave: Wave) -> None:
        """The participants of ``wave`` (one submission each) into ``wave.answers``."""
        pcol = self.column(wave, self.participant)
        emails = email_column_problem(  # the e-mail column named by mistake: refused whole
            [cells.get(pcol, "") for _, cells in wave.rows], file=str(wave.export.path), column=pcol,
            fix=f"set cohorts.{self.cohort}.survey.participant_column in config/config.yaml to the "
                "column of the participants' pseudonyms (such as P01)")
        if emails:
            self.problems.append(emails)
            return
        for row, cells in wave.rows:
            checked = self.check(wave, row, cells)
            if checked is None:
                continue
            pid, answers = checked
            if pid in wave.answers:
                first = wave.answers[pid][0]
                if wave.value is None:
                    message = (f"appears twice in this export (time point {wave.timepoint}), in "
                               f"rows {first} and {row}; keep the participant's one submission "
                               "and delete the other row")
                else:
                    message = (f"appears twice for time point {wave.timepoint} ({wave.label}), "
                               f"in rows {first} and {row}; both rows are the same wave: keep "
                               f"the participant's one {wave.timepoint} submission and delete "
                               "the other row")
                self.problems.append(Problem(**wave.export.where(row, pcol, value=pid, message=message)))
                continue
            wave.answers[pid] = (row, answers)

    @staticmethod
    def emit(wave: Wave, records: list, unanswered: list) -> None:
        for pid, (_, answers) in wave.answers.items():
            for qid, text in answers.items():
                if not is_blank(text):
                    records.append((response_id(pid, wave.timepoint, qid), pid, wave.timepoint, qid, text))
                else:
                    unanswered.append((wave.timepoint, qid, pid))
