"""Tests of alliance_pipeline.coding.consensus: worksheet, final codes, sources."""
from __future__ import annotations

import pandas as pd
import pytest

from alliance_pipeline.coding.consensus import (
    FINAL_COLUMNS,
    disagreements,
    final_codes,
    parse_codes,
    source_counts,
)
from alliance_pipeline.coding.majority import UnresolvedDisagreements

QUESTIONS = {
    "exp": {"multi_label": True, "codes": ["hooked", "engaged_well", "other"],
            "timepoints": ["pre", "post"]},
    "one": {"multi_label": False, "codes": ["yes", "no"], "timepoints": ["post"]},
}


def responses_frame(rows):
    """rows: (response_id, participant_id, timepoint, question, item, text)."""
    return pd.DataFrame(rows, columns=["response_id", "participant_id", "timepoint",
                                       "question", "item", "text"])


def codings_frame(rows):
    """rows: (response_id, question, coder, codes)."""
    return pd.DataFrame(rows, columns=["response_id", "question", "coder", "codes"])


def adjudication_frame(rows=()):
    return pd.DataFrame(list(rows), columns=["response_id", "codes", "rationale"])


RESPONSES = responses_frame([
    ("r1", "p1", "pre", "exp", "", "It went fine."),
    ("r2", "p1", "post", "exp", "", "He said \"no\",\nthen left;\n相手に巻き込まれた"),
    ("r3", "p2", "pre", "exp", "", "=cmd|' /C calc'!A0"),
    ("r4", "p2", "post", "exp", "", "short"),
    ("r5", "p3", "post", "one", "", "yes indeed"),
])


def final_by_response(table):
    """response_id -> (set of present codes, source)."""
    out = {}
    for rid, group in table.groupby("response_id", sort=False):
        out[rid] = (set(group.loc[group["present"] == 1, "code"]), group["source"].iloc[0])
    return out


# ------------------------------------------------------------------------ final codes

def test_unanimous_adjudicated_and_columns():
    codings = codings_frame([
        ("r1", "exp", "A", "hooked;engaged_well"), ("r1", "exp", "B", "engaged_well;hooked"),
        ("r2", "exp", "A", "hooked"), ("r2", "exp", "B", ""),
        ("r3", "exp", "A", ""), ("r3", "exp", "B", ""),
        ("r4", "exp", "A", "other"), ("r4", "exp", "B", "other"), ("r4", "exp", "C", None),
        ("r5", "one", "A", "yes"), ("r5", "one", "B", "yes"),
    ]).dropna()
    adjudication = adjudication_frame([("r2", "hooked", "the client pulled her in")])
    table = final_codes(RESPONSES, codings, adjudication, QUESTIONS)
    assert list(table.columns) == FINAL_COLUMNS
    # one row per response and code of its question: 4 x 3 + 1 x 2
    assert len(table) == 14
    assert table["present"].dtype == "int64"
    assert table.loc[table["response_id"] == "r1", "code"].tolist() == [
        "hooked", "engaged_well", "other"]  # codebook order
    got = final_by_response(table)
    assert got["r1"] == ({"hooked", "engaged_well"}, "unanimous")  # order of codes irrelevant
    assert got["r2"] == ({"hooked"}, "adjudicated")
    assert got["r3"] == (set(), "unanimous")  # both: no code applies
    assert got["r4"] == ({"other"}, "unanimous")  # third coder skipped it
    assert got["r5"] == ({"yes"}, "unanimous")
    assert table["response_id"].drop_duplicates().tolist() == ["r1", "r2", "r3", "r4", "r5"]
    first = table.iloc[0]
    assert (first["participant_id"], first["timepoint"], first["question"], first["item"]) == (
        "p1", "pre", "exp", "")


def test_adjudication_overrides_unanimous():
    codings = codings_frame([("r1", "exp", "A", "hooked"), ("r1", "exp", "B", "hooked")])
    adjudication = adjudication_frame([("r1", "engaged_well", "both missed the repair")])
    table = final_codes(RESPONSES.iloc[:1], codings, adjudication, QUESTIONS)
    assert final_by_response(table)["r1"] == ({"engaged_well"}, "adjudicated")


def test_fail_raises_with_count_and_ids():
    codings = codings_frame(
        [(f"r{i}", "exp", "A", "hooked") for i in range(1, 5)]
        + [(f"r{i}", "exp", "B", "other") for i in range(1, 5)])
    with pytest.raises(UnresolvedDisagreements) as info:
        final_codes(RESPONSES.iloc[:4], codings, adjudication_frame(), QUESTIONS)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.count == 4
    assert error.response_ids == ["r1", "r2", "r3", "r4"]
    assert "4 response(s)" in str(error) and "r1, r2, r3, r4" in str(error)


def test_fail_message_shows_first_ids_only():
    many = responses_frame([(f"x{i:02d}", "p", "pre", "exp", "", "t") for i in range(12)])
    codings = codings_frame([(f"x{i:02d}", "exp", "A", "hooked") for i in range(12)]
                            + [(f"x{i:02d}", "exp", "B", "") for i in range(12)])
    with pytest.raises(UnresolvedDisagreements, match=r"12 response\(s\).*x04 and 7 more"):
        final_codes(many, codings, adjudication_frame(), QUESTIONS)


def test_single_coder_response_needs_adjudication():
    codings = codings_frame([("r1", "exp", "A", "hooked")])
    with pytest.raises(UnresolvedDisagreements) as info:
        final_codes(RESPONSES.iloc[:1], codings, adjudication_frame(), QUESTIONS)
    assert info.value.response_ids == ["r1"]
    # one vote is no majority either
    with pytest.raises(UnresolvedDisagreements):
        final_codes(RESPONSES.iloc[:1], codings, adjudication_frame(), QUESTIONS,
                    unresolved="majority")


def test_majority_per_code_set():
    codings = codings_frame([
        # r1: 2 of 3 coders chose {hooked, other} -> majority
        ("r1", "exp", "A", "hooked;other"), ("r1", "exp", "B", "other;hooked"),
        ("r1", "exp", "C", "hooked"),
        # r2: 3 different sets; per code, hooked would have 3/3 and other 2/3, but no SET has
        # a majority -> unresolved under the per-set rule
        ("r2", "exp", "A", "hooked"), ("r2", "exp", "B", "hooked;other"),
        ("r2", "exp", "C", "hooked;other;engaged_well"),
        # r3: 2 coders who differ: tie -> unresolved
        ("r3", "exp", "A", "hooked"), ("r3", "exp", "B", ""),
        # r4: unanimous
        ("r4", "exp", "A", "other"), ("r4", "exp", "B", "other"), ("r4", "exp", "C", "other"),
    ])
    with pytest.raises(UnresolvedDisagreements) as info:
        final_codes(RESPONSES.iloc[:4], codings, adjudication_frame(), QUESTIONS,
                    unresolved="majority")
    assert info.value.response_ids == ["r2", "r3"]
    assert "majority" in str(info.value)
    adjudication = adjudication_frame([("r2", "hooked", ""), ("r3", "", "none applies")])
    table = final_codes(RESPONSES.iloc[:4], codings, adjudication, QUESTIONS,
                        unresolved="majority")
    got = final_by_response(table)
    assert got["r1"] == ({"hooked", "other"}, "majority")
    assert got["r2"] == ({"hooked"}, "adjudicated")
    assert got["r3"] == (set(), "adjudicated")
    assert got["r4"] == ({"other"}, "unanimous")


def test_unknown_code_and_single_label_violations_raise():
    codings = codings_frame([("r1", "exp", "A", "nope"), ("r1", "exp", "B", "nope")])
    with pytest.raises(ValueError, match="not codes of question"):
        final_codes(RESPONSES.iloc[:1], codings, adjudication_frame(), QUESTIONS)
    codings = codings_frame([("r5", "one", "A", "yes;no"), ("r5", "one", "B", "no;yes")])
    with pytest.raises(ValueError, match="single-label"):
        final_codes(RESPONSES.iloc[4:], codings, adjudication_frame(), QUESTIONS)
    with pytest.raises(ValueError, match="unresolved must be"):
        final_codes(RESPONSES.iloc[:1], codings, adjudication_frame(), QUESTIONS,
                    unresolved="coin")
    with pytest.raises(ValueError, match="not in responses"):
        final_codes(RESPONSES.iloc[:1], codings_frame([("zz", "exp", "A", "")]),
                    adjudication_frame(), QUESTIONS)


def test_source_counts():
    codings = codings_frame([
        ("r1", "exp", "A", "hooked"), ("r1", "exp", "B", "hooked"),
        ("r2", "exp", "A", "hooked"), ("r2", "exp", "B", ""),
        ("r5", "one", "A", "no"), ("r5", "one", "B", "no"),
    ])
    table = final_codes(RESPONSES.iloc[[0, 1, 4]], codings,
                        adjudication_frame([("r2", "", "")]), QUESTIONS)
    counts = source_counts(table)
    assert list(counts.columns) == ["question", "source", "n_responses"]
    assert counts.values.tolist() == [
        ["exp", "unanimous", 1], ["exp", "adjudicated", 1], ["exp", "majority", 0],
        ["one", "unanimous", 1], ["one", "adjudicated", 0], ["one", "majority", 0]]


def test_parse_codes():
    assert parse_codes("a; b;;a") == {"a", "b"}
    assert parse_codes("") == frozenset()
    assert parse_codes(float("nan")) == frozenset()


# -------------------------------------------------------------------------- worksheet

def test_worksheet_rows_columns_and_text_unchanged():
    codings = codings_frame([
        ("r1", "exp", "A", "hooked"), ("r1", "exp", "B", "hooked"),          # unanimous
        ("r2", "exp", "A", "hooked;other"), ("r2", "exp", "B", "hooked"),    # differ
        ("r3", "exp", "A", ""), ("r3", "exp", "B", "other"),                 # differ, adjud.
        ("r4", "exp", "B", "other"),                                         # one coder
        ("r5", "one", "A", "yes"), ("r5", "one", "C", "yes"),               # B skipped: agree
    ])
    adjudication = adjudication_frame([("r3", "other", "see transcript")])
    sheet = disagreements(RESPONSES, codings, adjudication, ["A", "B", "C"])
    assert list(sheet.columns) == ["response_id", "participant_id", "question", "timepoint",
                                   "item", "text", "coder_A", "coder_B", "coder_C",
                                   "resolved", "adjudicated_codes", "note"]
    assert sheet["response_id"].tolist() == ["r2", "r3", "r4"]
    r2, r3, r4 = (sheet.iloc[i] for i in range(3))
    assert r2["text"] == "He said \"no\",\nthen left;\n相手に巻き込まれた"  # unchanged
    assert r3["text"] == "=cmd|' /C calc'!A0"  # neutralised only when written for people
    assert (r2["coder_A"], r2["coder_B"], r2["coder_C"]) == ("hooked;other", "hooked", "")
    assert (r2["resolved"], r2["adjudicated_codes"]) == ("no", "")
    assert (r3["resolved"], r3["adjudicated_codes"]) == ("yes", "other")
    assert r2["note"] == "not coded by C"
    assert r4["note"] == "coded by 1 coder; not coded by A, C"
    assert (r4["participant_id"], r4["timepoint"], r4["question"]) == ("p2", "post", "exp")


def test_worksheet_empty_when_all_unanimous_and_deterministic():
    codings = codings_frame([("r1", "exp", "A", "hooked"), ("r1", "exp", "B", "hooked")])
    sheet = disagreements(RESPONSES.iloc[:1], codings, adjudication_frame(), ["A", "B"])
    assert sheet.empty and "coder_B" in sheet.columns
    codings = codings_frame([(r, "exp", c, v) for r in ("r1", "r2", "r3")
                             for c, v in (("A", "hooked"), ("B", ""))])
    one = disagreements(RESPONSES.iloc[:3], codings, None, ["A", "B"])
    two = disagreements(RESPONSES.iloc[:3], codings.iloc[::-1], None, ["A", "B"])
    assert one.to_csv(index=False) == two.to_csv(index=False)
    with pytest.raises(ValueError, match="not in the coder list"):
        disagreements(RESPONSES.iloc[:3], codings, None, ["A"])


def test_majority_stop_message_says_which_have_no_majority_and_why():
    """Issue 11: with unresolved: majority, each response without a majority is named with
    the reason (by hand: two coders, a tie, a three-way split, 2 of 5 not more than half)."""
    responses = responses_frame([(f"m{i}", f"p{i}", "pre", "exp", "", "t") for i in range(1, 6)])
    codings = codings_frame([
        ("m1", "exp", "A", "hooked"), ("m1", "exp", "B", "other"),
        ("m2", "exp", "A", "hooked"), ("m2", "exp", "B", "hooked"),
        ("m2", "exp", "C", "other"), ("m2", "exp", "D", "other"),
        ("m3", "exp", "A", "hooked"), ("m3", "exp", "B", "other"), ("m3", "exp", "C", ""),
        ("m4", "exp", "A", "hooked"),
        ("m5", "exp", "A", "hooked"), ("m5", "exp", "B", "hooked"), ("m5", "exp", "C", "other"),
        ("m5", "exp", "D", "engaged_well"), ("m5", "exp", "E", ""),
    ])
    with pytest.raises(UnresolvedDisagreements) as info:
        final_codes(responses, codings, adjudication_frame(), QUESTIONS, unresolved="majority")
    assert str(info.value) == (
        "5 response(s) have no agreed codes and no majority (unresolved: majority takes the "
        "code set chosen by more than half of the coders who coded the response, and by at "
        "least two of them), and adjudication.csv has no row for them: "
        "m1 (two coders differ: hooked | other), "
        "m2 (tie, 2 against 2 coders: hooked | other), "
        "m3 (3-way split: hooked | other | (no code)), "
        "m4 (coded by fewer than two coders), "
        "m5 (2 of 5 coders is not more than half: hooked | other | engaged_well | (no code)). "
        "Resolve them in the consensus meeting and add them to adjudication.csv.")
    # with unresolved: fail the message does not explain majority
    with pytest.raises(UnresolvedDisagreements) as info:
        final_codes(responses, codings, adjudication_frame(), QUESTIONS)
    assert "no majority" not in str(info.value)
