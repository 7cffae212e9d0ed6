"""Seeded example exports, one per survey tool's layout (docs/survey-tools.md).

The same small study (12 participants, three waves, two coders and an adjudication) written
as each tool writes its export, and once as the contract's long CSVs (``responses.csv``,
``codes/<coder>.csv``, ``adjudication.csv``): every example must run to the same shares as
the long CSVs (tests/test_survey_tools.py). Layouts, as the tools document them:

- ``qualtrics_csv``: one CSV per wave as downloaded (UTF-8 with BOM, CRLF, every cell quoted),
  three header rows (column ids; question texts; ``{"ImportId":...}``), the metadata columns,
  choice text (``Status`` "IP Address"), one survey-preview and one spam row per wave;
- ``qualtrics_xlsx``: the same as .xlsx with numeric values (``Status`` 0, preview 1, spam 8);
- ``redcap_raw``: one long CSV, field and event names (``record_id``, ``redcap_event_name``,
  ``redcap_repeat_instrument``, ``redcap_repeat_instance``, fields, ``<instrument>_complete``),
  auto-numbered records, a follow-up event the study does not use;
- ``redcap_labels``: the same with field labels as headers and event labels as values;
- ``google_forms``: one CSV per wave (Timestamp, Email Address, ...), no final line break;
- ``microsoft_forms``: one .xlsx per wave (ID, Start time, Completion time, Email, Name, ...);
- ``wording``: Google Forms whose post form words the question differently;
- ``japanese``: Google Forms with Japanese headers and participant codes typed full-width.

Some answers are only spaces (U+0020, U+00A0, U+3000): no answer, in every layout.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass, field

import pandas as pd

from alliance_pipeline.examples.synthetic import xlsx_bytes
from alliance_pipeline.intake.sources.waves import response_id

SEED = 20261205
SE = "How did you experience the interaction with the client?"
TF = "What did the training change for you?"
SE_POST = "How did you experience the interaction with the client? (after the training)"
CODES = {"session_experience": ["hooked", "engaged_well", "anxious"],
         "training_feedback": ["noticing_captivity", "relating_with_intention", "not_being_upset",
                               "mindful_pause", "self_understanding"]}
PARTICIPANTS = [f"P{i:02d}" for i in range(1, 13)]
TIMEPOINTS = ["pre1", "pre2", "post"]
BLANKS = [" ", "\u00a0", "\u3000\u3000"]
LAYOUTS = ["qualtrics_csv", "qualtrics_xlsx", "redcap_raw", "redcap_labels", "google_forms",
           "microsoft_forms", "wording", "japanese"]
DIGIT_IDS = "^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"  # REDCap's auto-numbered record ids
PHRASES = {"hooked": "I got pulled into reassuring her", "engaged_well": "I named the strain and we went on",
           "anxious": "I was tense, \"on edge\" the whole time",
           "noticing_captivity": "I notice when I am caught", "relating_with_intention": "I choose how to answer",
           "not_being_upset": "I stay calm when she is hostile", "mindful_pause": "I pause before I answer",
           "self_understanding": "I understand my own reactions"}


@dataclass
class Study:
    """The study every example holds: ``cells[(participant, timepoint)] = {question: cell}``
    (a participant who skipped a wave has no entry) and per response the coders' codes."""
    cells: dict[tuple[str, str], dict[str, str]]
    codes: dict[tuple[str, str, str], dict[str, str]] = field(default_factory=dict)


def study(seed: int = SEED) -> Study:
    """The seeded study: P12 skips pre2; three answers are only spaces; coder_b differs from
    coder_a on a few responses, which the adjudication settles."""
    rng = random.Random(seed)
    cells: dict[tuple[str, str], dict[str, str]] = {}
    codes: dict[tuple[str, str, str], dict[str, str]] = {}
    blanks = iter(BLANKS)
    for tp in TIMEPOINTS:
        for number, p in enumerate(PARTICIPANTS, start=1):
            if p == "P12" and tp == "pre2":
                continue
            answers = {}
            for qid in (["session_experience", "training_feedback"] if tp == "post" else ["session_experience"]):
                if (number + len(tp)) % 9 == 0:
                    answers[qid] = next(blanks, "")
                    continue
                chosen = sorted(rng.sample(CODES[qid], rng.randint(1, 2)), key=CODES[qid].index)
                answers[qid] = f"{p}, {tp}: " + "; ".join(PHRASES[c] for c in chosen) + "."
                other = chosen if rng.random() < 0.8 else [rng.choice(CODES[qid])]
                entry = {"coder_a": ";".join(chosen), "coder_b": ";".join(other)}
                if set(other) != set(chosen):
                    entry["adjudication"] = ";".join(chosen)
                codes[(p, tp, qid)] = entry
            cells[(p, tp)] = answers
    return Study(cells, codes)


def _csv(rows: list[list], *, quote_all: bool, newline: str, final: bool = True, bom: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
                        lineterminator=newline)
    writer.writerows([["" if c is None else c for c in row] for row in rows])
    text = out.getvalue() if final else out.getvalue()[:-len(newline)]
    return (("\ufeff" if bom else "") + text).encode("utf-8")


def _xlsx(title: str, rows: list[list]) -> bytes:
    return xlsx_bytes({title: rows})


def _when(tp: str, number: int) -> dt.datetime:
    day = {"pre1": 6, "pre2": 20, "post": 27}[tp]
    return dt.datetime(2026, 4, day, 10, 0, 0) + dt.timedelta(minutes=7 * number)


def _asked(tp: str) -> list[str]:
    return ["session_experience", "training_feedback"] if tp == "post" else ["session_experience"]


QUALTRICS_META = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)",
                  "Finished", "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName",
                  "RecipientEmail", "ExternalReference", "LocationLatitude", "LocationLongitude",
                  "DistributionChannel", "UserLanguage"]
QUALTRICS_TEXTS = ["Start Date", "End Date", "Response Type", "IP Address", "Progress",
                   "Duration (in seconds)", "Finished", "Recorded Date", "Response ID",
                   "Recipient Last Name", "Recipient First Name", "Recipient Email",
                   "External Data Reference", "Location Latitude", "Location Longitude",
                   "Distribution Channel", "User Language"]
QUALTRICS_IMPORT = ['{"ImportId":"startDate","timeZone":"Asia/Tokyo"}',
                    '{"ImportId":"endDate","timeZone":"Asia/Tokyo"}', '{"ImportId":"status"}',
                    '{"ImportId":"ipAddress"}', '{"ImportId":"progress"}', '{"ImportId":"duration"}',
                    '{"ImportId":"finished"}', '{"ImportId":"recordedDate","timeZone":"Asia/Tokyo"}',
                    '{"ImportId":"_recordId"}', '{"ImportId":"recipientLastName"}',
                    '{"ImportId":"recipientFirstName"}', '{"ImportId":"recipientEmail"}',
                    '{"ImportId":"externalDataReference"}', '{"ImportId":"locationLatitude"}',
                    '{"ImportId":"locationLongitude"}', '{"ImportId":"distributionChannel"}',
                    '{"ImportId":"userLanguage"}']


def qualtrics_rows(data: Study, tp: str, *, numeric: bool, rng: random.Random) -> list[list]:
    """One wave as Qualtrics writes it: 3 header rows, then responses, a preview and a spam."""
    ids, texts = ["Q1", "Q2"], ["Please enter your participant code", SE]
    imports = ['{"ImportId":"QID1_TEXT"}', '{"ImportId":"QID2_TEXT"}']
    if tp == "post":
        ids, texts, imports = ids + ["Q3"], texts + [TF], imports + ['{"ImportId":"QID3_TEXT"}']
    rows: list[list] = [QUALTRICS_META + ids, QUALTRICS_TEXTS + texts, QUALTRICS_IMPORT + imports]
    people = [(p, a) for (p, t), a in data.cells.items() if t == tp]
    extra = [("", {q: "testing the form" for q in _asked(tp)}, 1, "Survey Preview", "preview"),
             (people[0][0], {q: "buy cheap watches" for q in _asked(tp)}, 8, "Spam", "anonymous")]
    entries = [(p, a, 0, "IP Address", "anonymous") for p, a in people]
    entries.insert(3, extra[0])
    entries.append(extra[1])
    for number, (p, answers, code, label, channel) in enumerate(entries):
        start = _when(tp, number)
        end = start + dt.timedelta(seconds=rng.randint(120, 600))
        rid = "R_" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789") for _ in range(15))
        meta: list = [f"{start:%Y-%m-%d %H:%M:%S}", f"{end:%Y-%m-%d %H:%M:%S}",
                code if numeric else label, f"192.0.2.{rng.randint(1, 254)}" if code != 1 else "",
                100, int((end - start).total_seconds()), 1 if numeric else "True",
                f"{end:%Y-%m-%d %H:%M:%S}", rid, "", "", "", "", "35.6895", "139.6917", channel, "EN"]
        if not numeric:
            meta = [str(m) for m in meta]
        rows.append(meta + [p, *(answers.get(q, "") for q in _asked(tp))])
    return rows


def redcap_rows(data: Study, *, labels: bool) -> list[list]:
    """The long export: a row per record and event (events in order, a follow-up included)."""
    if labels:
        header = ["Record ID", "Event Name", "Repeat Instrument", "Repeat Instance", SE, "Complete?", TF, "Complete?"]
        events = {"pre1": "Pre-training 1", "pre2": "Pre-training 2", "post": "Post-training", "fu": "Follow-up"}
        done = {True: "Complete", False: "Incomplete"}
    else:
        header = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
                  "sess_exp", "session_complete", "train_fb", "feedback_complete"]
        events = {"pre1": "pre1_arm_1", "pre2": "pre2_arm_1", "post": "post_arm_1", "fu": "followup_arm_1"}
        done = {True: "2", False: "0"}
    rows = [header]
    for number, p in enumerate(PARTICIPANTS, start=1):
        for tp in [*TIMEPOINTS, "fu"]:
            if tp == "fu":
                if number % 4 == 0:
                    rows.append([str(number), events[tp], "", "", "", done[False], "", ""])
                continue
            if (p, tp) not in data.cells:
                continue
            answers = data.cells[(p, tp)]
            se, tf = answers.get("session_experience", ""), answers.get("training_feedback", "")
            rows.append([str(number), events[tp], "", "", se, done[bool(se.strip())],
                         tf, done[bool(tf.strip())] if tp == "post" else ""])
    return rows


def forms_rows(data: Study, tp: str, *, tool: str, rng: random.Random) -> list[list]:
    """One wave of Google Forms (``google``, ``wording``, ``japanese``) or Microsoft Forms."""
    se = SE_POST if tool == "wording" and tp == "post" else SE
    if tool == "japanese":
        header = ["タイムスタンプ", "メールアドレス", "参加者コード", "クライアントとのやりとりをどう体験しましたか？"]
        header += ["研修であなたの何が変わりましたか？"] if tp == "post" else []
    elif tool == "microsoft":
        header = ["ID", "Start time", "Completion time", "Email", "Name", "Last modified time",
                  "Participant code", se] + ([TF] if tp == "post" else [])
    else:
        header = ["Timestamp", "Email Address", "Participant code", se] + ([TF] if tp == "post" else [])
    rows: list[list] = [header]
    people = [(p, a) for (p, t), a in data.cells.items() if t == tp]
    rng.shuffle(people)
    for number, (p, answers) in enumerate(people, start=1):
        when = _when(tp, number)
        texts = [answers.get(q, "") for q in _asked(tp)]
        if tool == "microsoft":
            rows.append([number, when, when + dt.timedelta(minutes=4), "anonymous", None, None, p, *texts])
            continue
        mail = f"trainee{rng.randint(100, 999)}@example.ac.jp"
        if tool == "japanese":
            code = p.translate(str.maketrans("P0123456789", "Ｐ０１２３４５６７８９"))
            rows.append([f"{when:%Y/%m/%d %H:%M:%S}", mail, code, *texts])
        else:
            rows.append([f"{when:%Y/%m/%d} {when.hour % 12 or 12}:{when:%M:%S %p} GMT+9", mail, p, *texts])
    return rows


def participant_id(layout: str, p: str) -> str:
    """How an example writes participant ``p`` (REDCap numbers its records; full-width in
    the Japanese example, read as ASCII after NFKC normalisation)."""
    if layout.startswith("redcap"):
        return str(int(p[1:]))
    return p


def survey_config(layout: str) -> dict:
    """The cohort's ``survey:`` block for ``layout`` (as docs/survey-tools.md gives it)."""
    files = {tp: f"{tp}.csv" for tp in TIMEPOINTS}
    if layout == "qualtrics_csv" or layout == "qualtrics_xlsx":
        suffix = "csv" if layout == "qualtrics_csv" else "xlsx"
        return {"participant_column": "Q1", "files": {tp: f"{tp}.{suffix}" for tp in TIMEPOINTS},
                "questions": {"session_experience": "Q2", "training_feedback": TF}}
    if layout == "redcap_raw":
        return {"file": "export.csv", "participant_column": "record_id",
                "timepoint_column": "redcap_event_name",
                "timepoints": {"pre1": "pre1_arm_1", "pre2": "pre2_arm_1", "post": "post_arm_1"},
                "questions": {"session_experience": "sess_exp", "training_feedback": "train_fb"}}
    if layout == "redcap_labels":
        return {"file": "export.csv", "participant_column": "Record ID", "timepoint_column": "Event Name",
                "timepoints": {"pre1": "Pre-training 1", "pre2": "Pre-training 2", "post": "Post-training"},
                "questions": {"session_experience": SE, "training_feedback": TF}}
    if layout == "microsoft_forms":
        return {"participant_column": "Participant code",
                "files": {tp: f"{tp}.xlsx" for tp in TIMEPOINTS},
                "questions": {"session_experience": SE, "training_feedback": TF}}
    if layout == "wording":
        return {"participant_column": "Participant code", "files": files,
                "questions": {"session_experience": {"pre1": SE, "pre2": SE, "post": SE_POST},
                              "training_feedback": TF}}
    if layout == "japanese":
        return {"participant_column": "参加者コード", "files": files,
                "questions": {"session_experience": "クライアントとのやりとりをどう体験しましたか？",
                              "training_feedback": "研修であなたの何が変わりましたか？"}}
    return {"participant_column": "Participant code", "files": files,
            "questions": {"session_experience": SE, "training_feedback": TF}}


def _code_files(data: Study, ident) -> dict[str, bytes]:
    rows: dict[str, list] = {"coder_a": [], "coder_b": [], "adjudication": []}
    for (p, tp, qid), entry in data.codes.items():
        rid = response_id(ident(p), tp, qid)
        rows["coder_a"].append([rid, entry["coder_a"]])
        rows["coder_b"].append([rid, entry["coder_b"]])
        if "adjudication" in entry:
            rows["adjudication"].append([rid, entry["adjudication"], "coder_a's reading fits the definition"])
    return {"codes/coder_a.csv": _csv([["response_id", "codes"], *rows["coder_a"]], quote_all=False, newline="\n"),
            "codes/coder_b.csv": _csv([["response_id", "codes"], *rows["coder_b"]], quote_all=False, newline="\n"),
            "adjudication.csv": _csv([["response_id", "codes", "rationale"], *rows["adjudication"]],
                                     quote_all=False, newline="\n")}


def long_csv_files(data: Study | None = None) -> dict[str, bytes]:
    """The study as the contract's long CSVs (the reference every example must equal)."""
    data = study() if data is None else data
    rows = [["response_id", "participant_id", "timepoint", "question", "text"]]
    for (p, tp), answers in data.cells.items():
        for qid, text in answers.items():
            if text.strip():
                rows.append([response_id(p, tp, qid), p, tp, qid, text])
    return {"responses.csv": _csv(rows, quote_all=False, newline="\n"), **_code_files(data, lambda p: p)}


def example_files(layout: str, data: Study | None = None, seed: int = SEED) -> dict[str, bytes]:
    """File name (relative to the cohort's raw folder) -> bytes of one example."""
    data = study() if data is None else data
    rng = random.Random(f"{seed}-{layout}")
    files: dict[str, bytes] = {}
    if layout.startswith("redcap"):
        rows = redcap_rows(data, labels=layout == "redcap_labels")
        files["export.csv"] = _csv(rows, quote_all=False, newline="\n", bom=layout == "redcap_labels")
    for tp in ([] if layout.startswith("redcap") else TIMEPOINTS):
        if layout.startswith("qualtrics"):
            rows = qualtrics_rows(data, tp, numeric=layout == "qualtrics_xlsx", rng=rng)
            files[f"{tp}.csv"] = _csv(rows, quote_all=True, newline="\r\n", bom=True)
            if layout == "qualtrics_xlsx":
                files = {k: v for k, v in files.items() if k != f"{tp}.csv"}
                files[f"{tp}.xlsx"] = _xlsx("Sheet0", rows)
        elif layout == "microsoft_forms":
            files[f"{tp}.xlsx"] = _xlsx("Sheet1", forms_rows(data, tp, tool="microsoft", rng=rng))
        else:
            tool = {"google_forms": "google"}.get(layout, layout)
            files[f"{tp}.csv"] = _csv(forms_rows(data, tp, tool=tool, rng=rng), quote_all=True,
                                      newline="\r\n", final=False)
    # the Japanese example's codes follow the normalised ids (P05), as intake writes them
    files.update(_code_files(data, lambda p: participant_id(layout, p)))
    return files


def example_config(layout: str) -> dict:
    """The config.yaml of one example (``snakemake -d examples/survey_tools/<layout>``)."""
    config = {"study": {"title": f"Survey-tool example ({layout}, synthetic)",
                        "timepoints": TIMEPOINTS,
                        "contrasts": {"baseline": ["pre1", "pre2"], "training": ["pre2", "post"]}},
              "codebook": "../../../config/codebook.yaml",
              "cohorts": {layout: {"raw": f"data/raw/{layout}", "label": f"{layout} example (synthetic)",
                                   "synthetic": True, "survey": survey_config(layout)}}}
    if layout.startswith("redcap"):
        config["privacy"] = {"participant_id_pattern": DIGIT_IDS}
    return config


def responses_frame(files: dict[str, bytes]) -> pd.DataFrame:
    """The long CSVs' responses.csv as a frame (for tests)."""
    return pd.read_csv(io.BytesIO(files["responses.csv"]), dtype=str, keep_default_na=False)
