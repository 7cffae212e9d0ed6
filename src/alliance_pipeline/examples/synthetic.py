"""The synthetic pilot cohort: a seeded reconstruction of the published shares.

Kawamura et al. (2025) report shares only (the raw data are not public). This generator
builds 23 participants (P01–P23; P17 missed pre2, as graduate-student pilots lose one or two)
whose *consensus* codes reproduce the published shares as closely as whole counts allow:

=========================  =====================  ==========================  ===========
code                       published              reconstructed (k / n)       exact?
=========================  =====================  ==========================  ===========
hooked                     65 / 50 / 17 %         15/23, 11/22, 4/23          yes (65.2, 50.0, 17.4)
engaged_well               22 / 36 / 84 %         5/23, 8/22, 19/23           pre1, pre2 yes;
                                                                              post 82.6 %
=========================  =====================  ==========================  ===========

No post-training n up to 40 gives both 17 % and 84 % after rounding (checked by
``tests/test_synthetic.py``); with n = 23, 19/23 = 82.6 % is the nearest. The feedback
shares (24 / 21 / 14 %) are reproduced as shares of all 42 feedback codes assigned
(10, 9 and 6 of 42 = 23.8, 21.4, 14.3 %), the only reading that whole counts allow with
n = 23 participants (as shares of participants they cannot all round right for any n ≤ 28).

Two coders (``coder_a``, ``coder_b``) code every response. They disagree on the ambiguous
texts only (about one response in ten); ``adjudication.csv`` settles every disagreement
with the reconstructed code set, so the consensus shares are the targets above. Texts are
short, mostly English, a few Japanese. Everything is a function of the seed: rerunning
``scripts/make_synthetic_pilot.py`` gives the same bytes.
"""
from __future__ import annotations

import io
import random

import pandas as pd

from alliance_pipeline.coding.consensus import disagreements
from alliance_pipeline.common.privacy import scan_texts, withhold_identifying
from alliance_pipeline.intake.checks.codes import normalise_codes
from alliance_pipeline.intake.sources.waves import response_id

PARTICIPANTS = [f"P{i:02d}" for i in range(1, 24)]
MISSING_AT_PRE2 = "P17"
JAPANESE_WRITERS = {"P05", "P12", "P20"}
SEED = 20250627

# session_experience counts per time point (of participants present)
# Participants newly entering a code at a time point (the published shares say nothing of
# the pairing; this is the reconstruction's assumption: some change both ways in the baseline,
# almost none against the direction of the training effect).
CHURN = {("hooked", "pre2"): 2, ("engaged_well", "pre2"): 2, ("engaged_well", "post"): 1}
TARGETS = {
    "pre1": {"hooked": 15, "engaged_well": 5, "anxious": 9},
    "pre2": {"hooked": 11, "engaged_well": 8, "anxious": 7},
    "post": {"hooked": 4, "engaged_well": 19, "anxious": 3},
}
FEEDBACK_TARGETS = {"noticing_captivity": 10, "relating_with_intention": 9, "not_being_upset": 6,
                    "mindful_pause": 5, "self_understanding": 4, "no_change": 3,
                    "contingency_unclear": 5}

SESSION_TEXTS = {
    ("hooked",): [
        "The client kept criticising me and I just kept defending my plan.",
        "I got pulled into reassuring her again and again; only afterwards I saw it.",
        "When he went silent I filled the silence with advice without thinking.",
        "I argued back about the homework before I realised what was happening.",
    ],
    ("engaged_well",): [
        "I noticed the tension, named it, and asked how the session felt for her.",
        "I stayed with his frustration and checked what he needed from me.",
        "When she withdrew I slowed down and invited her to say more.",
        "I could see the strain and talked about it openly with the client.",
    ],
    ("anxious",): [
        "I was very nervous and kept doubting myself the whole time.",
        "My heart was racing; I wasn't sure I was doing anything right.",
    ],
    ("hooked", "anxious"): [
        "I felt anxious and ended up agreeing with everything he demanded.",
        "I was tense and kept apologising, even when there was nothing to apologise for.",
    ],
    ("engaged_well", "anxious"): [
        "I was nervous, but I still noticed the rupture and asked about it.",
    ],
    ("hooked", "engaged_well"): [
        "At first I was dragged into arguing, then I caught myself and asked about her feelings.",
    ],
    (): [
        "It was an ordinary session; nothing in particular stood out.",
        "We mostly went through the schedule for next week.",
    ],
}
SESSION_TEXTS_JA = {
    ("hooked",): ["クライアントに巻き込まれて、言われるままに説明を続けてしまった。"],
    ("engaged_well",): ["緊張に気づき、それを言葉にしてクライアントの気持ちを尋ねた。"],
    ("anxious",): ["とても不安で、自分の対応に自信が持てなかった。"],
    ("hooked", "anxious"): ["不安になり、クライアントの要求にすべて同意してしまった。"],
    ("engaged_well", "anxious"): ["緊張していたが、関係のずれに気づいて話し合えた。"],
    ("hooked", "engaged_well"): ["最初は言い争いに巻き込まれたが、途中で気づいて気持ちを聞いた。"],
    (): ["特に印象に残ることのない面接だった。"],
}
FEEDBACK_PHRASES = {
    "noticing_captivity": ["I now notice when I'm being caught up, as if watching from outside",
                           "巻き込まれている自分に客観的に気づけるようになった"],
    "relating_with_intention": ["I choose how to respond instead of just reacting",
                                "意図をもって関わることができるようになった"],
    "not_being_upset": ["I don't get upset so easily when the client is hostile",
                        "動揺しにくくなった"],
    "mindful_pause": ["taking a breath before I answer helps", "一呼吸おいてから応答している"],
    "self_understanding": ["I understand my own habits in sessions better",
                           "自分の癖が分かるようになった"],
    "no_change": ["honestly I did not notice much change", "特に変化は感じなかった"],
    "contingency_unclear": ["the antecedent-behaviour-consequence exercise was hard to use",
                            "三項随伴性の分析は使いにくかった"],
}

# Ambiguous responses on which one coder departs from the reconstructed codes by one code:
# (participant, question, timepoint, the coder who departs, the code that coder toggled).
AMBIGUOUS = [
    ("P02", "session_experience", "pre1", "coder_b", "engaged_well"),
    ("P06", "session_experience", "pre1", "coder_a", "anxious"),
    ("P09", "session_experience", "pre2", "coder_b", "hooked"),
    ("P11", "session_experience", "pre2", "coder_b", "engaged_well"),
    ("P14", "session_experience", "post", "coder_a", "anxious"),
    ("P19", "session_experience", "post", "coder_b", "hooked"),
    ("P21", "session_experience", "post", "coder_b", "engaged_well"),
    ("P03", "training_feedback", "post", "coder_b", "relating_with_intention"),
    ("P15", "training_feedback", "post", "coder_a", "not_being_upset"),
]


def _choose(rng: random.Random, pool: list[str], k: int, prefer: list[str], churn: int = 0) -> list[str]:
    """k participants from pool: mostly from ``prefer`` (people tend to stay as they were),
    but ``churn`` of them from outside it, so change goes both ways as in real data."""
    first = [p for p in prefer if p in pool]
    rest = [p for p in pool if p not in first]
    rng.shuffle(first)
    rng.shuffle(rest)
    take_first = min(len(first), max(k - churn, k - len(rest)))
    return sorted(first[:take_first] + rest[:k - take_first])


def _session_sets(rng: random.Random) -> dict[tuple[str, str], tuple[str, ...]]:
    """Reconstructed session_experience code sets per (participant, timepoint)."""
    sets = {}
    previous_hooked: list[str] = []
    previous_engaged: list[str] = []
    for tp, target in TARGETS.items():
        present = [p for p in PARTICIPANTS if not (tp == "pre2" and p == MISSING_AT_PRE2)]
        hooked = _choose(rng, present, target["hooked"], previous_hooked, CHURN.get(("hooked", tp), 0))
        not_hooked = [p for p in present if p not in hooked]
        engaged = _choose(rng, not_hooked, min(target["engaged_well"], len(not_hooked)),
                          previous_engaged, CHURN.get(("engaged_well", tp), 0))
        if len(engaged) < target["engaged_well"]:
            engaged += _choose(rng, hooked, target["engaged_well"] - len(engaged), [])
        anxious = _choose(rng, present, target["anxious"], hooked)
        for p in present:
            sets[(p, tp)] = tuple(c for c, members in
                                  (("hooked", hooked), ("engaged_well", engaged), ("anxious", anxious))
                                  if p in members)
        previous_hooked, previous_engaged = hooked, engaged
    return sets


def _feedback_sets(rng: random.Random) -> dict[str, tuple[str, ...]]:
    """Reconstructed training_feedback code sets at post: every participant 1–2 codes, 42 in all."""
    counts = dict(FEEDBACK_TARGETS)
    total = sum(counts.values())
    n_double = total - len(PARTICIPANTS)  # participants who get a second code
    order = list(PARTICIPANTS)
    rng.shuffle(order)
    slots = [(p, 2 if i < n_double else 1) for i, p in enumerate(order)]
    pool = [code for code, k in counts.items() for _ in range(k)]
    # deal codes so no participant gets the same code twice
    for _attempt in range(1000):
        rng.shuffle(pool)
        assigned, i, ok = {}, 0, True
        for p, k in slots:
            codes = pool[i:i + k]
            i += k
            if len(set(codes)) < k:
                ok = False
                break
            assigned[p] = codes
        if ok:
            break
    codebook_order = list(FEEDBACK_TARGETS)
    return {p: tuple(sorted(codes, key=codebook_order.index)) for p, codes in assigned.items()}


def _session_text(rng: random.Random, participant: str, codes: tuple[str, ...]) -> str:
    bank = SESSION_TEXTS_JA if participant in JAPANESE_WRITERS else SESSION_TEXTS
    return rng.choice(bank[codes])


def _feedback_text(participant: str, codes: tuple[str, ...]) -> str:
    lang = 1 if participant in JAPANESE_WRITERS else 0
    parts = [FEEDBACK_PHRASES[c][lang] for c in codes]
    if lang:
        return "。".join(parts) + "。"
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."  # str.capitalize would lower-case "I"


def pilot_cohort(seed: int = SEED) -> dict[str, pd.DataFrame]:
    """Frames of the synthetic pilot: ``responses``, one per coder, ``adjudication``."""
    rng = random.Random(seed)
    session = _session_sets(rng)
    feedback = _feedback_sets(rng)
    rows = []
    for tp in TARGETS:
        for p in PARTICIPANTS:
            if (p, tp) in session:
                rows.append((p, "session_experience", tp, session[(p, tp)],
                             _session_text(rng, p, session[(p, tp)])))
    for p in PARTICIPANTS:
        rows.append((p, "training_feedback", "post", feedback[p], _feedback_text(p, feedback[p])))
    responses, truth = [], {}
    for i, (p, q, tp, codes, text) in enumerate(rows, start=1):
        rid = f"R{i:03d}"
        responses.append({"response_id": rid, "participant_id": p, "timepoint": tp,
                          "question": q, "text": text})
        truth[(p, q, tp)] = (rid, ";".join(codes))
    coders: dict[str, list[dict[str, str]]] = {"coder_a": [], "coder_b": []}
    adjudication = []
    departures = {(p, q, tp): (coder, code) for p, q, tp, coder, code in AMBIGUOUS}
    order = {q: list(c) for q, c in (("session_experience", TARGETS["pre1"]),
                                     ("training_feedback", FEEDBACK_TARGETS))}
    for key, (rid, true_codes) in truth.items():
        for coder in coders:
            given = true_codes
            if key in departures and departures[key][0] == coder:
                toggled = set(true_codes.split(";")) ^ {departures[key][1]}
                given = ";".join(c for c in order[key[1]] if c in toggled)
            coders[coder].append({"response_id": rid, "codes": given})
        if key in departures:
            code = departures[key][1]
            applies = code in true_codes.split(";")
            adjudication.append({
                "response_id": rid, "codes": true_codes,
                "rationale": f"Consensus meeting: {code} {'applies' if applies else 'does not apply'} "
                             f"under the codebook definition; {departures[key][0]} agreed."})
    frames = {"responses": pd.DataFrame(responses),
              "adjudication": pd.DataFrame(adjudication).sort_values("response_id")}
    for coder, items in coders.items():
        frames[f"codes/{coder}"] = pd.DataFrame(items)
    return frames


def items_cohort(seed: int = SEED + 1) -> dict[str, pd.DataFrame]:
    """A small synthetic cohort with items: 12 participants × 3 role-play scenes × pre2/post.

    Exercises the participant-level aggregation and the clustered McNemar rows. Only the
    session_experience question is asked (feedback is not part of this example).
    """
    rng = random.Random(seed)
    participants = [f"S{i:02d}" for i in range(1, 13)]
    rows: list[dict] = []
    coders: dict[str, list[dict[str, str]]] = {"coder_a": [], "coder_b": []}
    rid = 0
    for tp, p_hooked, p_engaged in (("pre1", 0.6, 0.25), ("pre2", 0.55, 0.3), ("post", 0.2, 0.75)):
        for p in participants:
            for scene in ("scene1", "scene2", "scene3"):
                rid += 1
                codes = tuple(c for c, pr in (("hooked", p_hooked), ("engaged_well", p_engaged))
                              if rng.random() < pr)
                text = rng.choice(SESSION_TEXTS[codes])
                rows.append({"response_id": f"I{rid:03d}", "participant_id": p, "timepoint": tp,
                             "question": "session_experience", "item": scene, "text": text})
                for coder in coders:
                    coders[coder].append({"response_id": f"I{rid:03d}", "codes": ";".join(codes)})
    frames = {"responses": pd.DataFrame(rows),
              "adjudication": pd.DataFrame(columns=["response_id", "codes", "rationale"])}
    for coder, items in coders.items():
        frames[f"codes/{coder}"] = pd.DataFrame(items)
    return frames


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """The exact bytes a raw file of the cohort is written with (UTF-8, LF)."""
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


# The survey example (examples/survey/): the synthetic pilot as a team hands it in.
SURVEY_QUESTIONS = {"session_experience": "How did you experience the interaction with the client?",
                    "training_feedback": "What did the training change for you?"}
SURVEY_PARTICIPANT_COLUMN = "Participant code"
SURVEY_SHEET = "Form Responses 1"
SURVEY_DATES = {"pre1": (2026, 4, 6), "pre2": (2026, 4, 20), "post": (2026, 6, 1)}


def survey_exports(pilot: dict[str, pd.DataFrame] | None = None, seed: int = SEED + 2
                   ) -> dict[str, list[list[str]]]:
    """The pilot's responses as form exports: ``{timepoint: rows}`` (header first).

    One row per participant in submission order (seeded), columns: a timestamp, a fake
    e-mail address (``@example.ac.jp``, never real), the participant code, one column per
    question asked at that time point, and a consent tick. A participant who missed a time
    point (P17 at pre2) submitted the form without an answer: the cell is empty.
    """
    pilot = pilot_cohort() if pilot is None else pilot
    rng = random.Random(seed)
    responses = pilot["responses"]
    texts = {(str(r.participant_id), str(r.timepoint), str(r.question)): str(r.text)
             for r in responses.itertuples()}
    mailbox = {p: f"trainee.{rng.choice(['sato', 'suzuki', 'tanaka', 'ito', 'kato', 'kimura'])}"
                  f"{rng.randint(100, 999)}@example.ac.jp" for p in PARTICIPANTS}
    exports = {}
    for tp, (year, month, day) in SURVEY_DATES.items():
        asked = [q for q in SURVEY_QUESTIONS if (q == "session_experience" or tp == "post")]
        header = ["Timestamp", "Email Address", SURVEY_PARTICIPANT_COLUMN,
                  *(SURVEY_QUESTIONS[q] for q in asked), "I agree that my answers are used for research"]
        order = PARTICIPANTS[:]
        rng.shuffle(order)
        rows, second = [header], 0
        for p in order:
            second += rng.randint(40, 400)
            stamp = f"{year}/{month:02d}/{day:02d} {10 + second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
            rows.append([stamp, mailbox[p], p, *(texts.get((p, tp, q), "") for q in asked), "Yes"])
        exports[tp] = rows
    return exports


def xlsx_bytes(sheets: dict[str, list[list[str]]]) -> bytes:
    """A workbook with the given sheets (first = active), the same bytes on every run
    (:func:`alliance_pipeline.coding.sheets.deterministic_xlsx`)."""
    from openpyxl import Workbook

    from alliance_pipeline.coding.xlsx_cells import deterministic_xlsx

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    # the creator the committed example workbooks carry (the generator's name before #31 moved
    # it to examples/): kept, so that the examples' raw files and their reports stay as they are
    book.properties.creator = "alliance_pipeline.synthetic"
    raw = io.BytesIO()
    book.save(raw)
    return deterministic_xlsx(raw.getvalue(), book.properties)


def survey_files(exports: dict[str, list[list[str]]] | None = None) -> dict[str, bytes]:
    """File name -> bytes of the survey example's raw folder: ``pre1.xlsx`` (its one sheet),
    ``pre2.xlsx`` (a summary sheet first, the responses on sheet ``Form Responses 1``) and
    ``post.csv`` (UTF-8)."""
    exports = survey_exports() if exports is None else exports
    summary = [["Summary of the pre2 form"], ["Responses", str(len(exports["pre2"]) - 1)]]
    post = pd.DataFrame(exports["post"][1:], columns=exports["post"][0])
    return {"pre1.xlsx": xlsx_bytes({SURVEY_SHEET: exports["pre1"]}),
            "pre2.xlsx": xlsx_bytes({"Summary": summary, SURVEY_SHEET: exports["pre2"]}),
            "post.csv": to_csv_bytes(post)}


def survey_coding_files(responses: pd.DataFrame, pilot: dict[str, pd.DataFrame] | None = None, *,
                        cohort: str, questions: dict, coding_key: str) -> dict[str, bytes]:
    """The survey example's filled workbooks: ``codes/coder_a.xlsx``, ``codes/coder_b.xlsx``
    and ``adjudication.xlsx``, as the team would save them.

    Each is the blinded workbook the workflow writes (``coding_sheets/<coder>.xlsx``,
    ``adjudication_sheet.xlsx``) for ``responses`` (the exports read by intake), with the
    pilot's codes, agreed codes and rationales ticked in (:func:`sheets.fill_workbook`);
    pilot response ids are mapped to survey ids through (participant, time point, question).
    """
    from alliance_pipeline.coding.sheets import (
        adjudication_workbook,
        coding_workbook,
        fill_workbook,
    )
    pilot = pilot_cohort() if pilot is None else pilot
    ids = {r["response_id"]: response_id(r["participant_id"], r["timepoint"], r["question"])
           for r in pilot["responses"].to_dict("records")}
    question_of = dict(zip(responses["response_id"], responses["question"], strict=True))
    files, codings = {}, []
    for coder in ("coder_a", "coder_b"):
        codes = pilot[f"codes/{coder}"].assign(response_id=lambda f: f["response_id"].map(ids))
        blank = coding_workbook(responses, cohort=cohort, coder=coder, questions=questions,
                                coding_key=coding_key)
        files[f"codes/{coder}.xlsx"] = fill_workbook(io.BytesIO(blank), codes, questions=questions,
                                                     coding_key=coding_key)
        question = codes["response_id"].map(question_of)
        codings.append(pd.DataFrame({
            "response_id": codes["response_id"], "question": question, "coder": coder,
            "codes": [normalise_codes(c, q, questions) for c, q in zip(codes["codes"], question, strict=True)]}))
    responses = responses.assign(identifying=scan_texts(responses))
    worksheet = disagreements(withhold_identifying(responses, allow=False), pd.concat(codings),
                              pd.DataFrame(columns=["response_id", "codes", "rationale"]),
                              ["coder_a", "coder_b"])
    agreed = pilot["adjudication"].assign(response_id=lambda f: f["response_id"].map(ids))
    blank = adjudication_workbook(responses, worksheet, cohort=cohort, questions=questions,
                                  coding_key=coding_key)
    files["adjudication.xlsx"] = fill_workbook(
        io.BytesIO(blank), agreed, questions=questions, coding_key=coding_key,
        rationale=dict(zip(agreed["response_id"], agreed["rationale"], strict=True)))
    return files
