"""The synthetic pilot: deterministic bytes and the published shares it reconstructs.

The shares are computed here by hand from the raw files (csv module, no pipeline code):
the consensus code set of a response is the adjudicated one where adjudication.csv has a
row, otherwise the coders' (which then agree).
"""
import csv
import subprocess
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RAW = REPO / "data/raw/pilot"


def rows(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def consensus_sets():
    responses = rows(RAW / "responses.csv")
    a = {r["response_id"]: r["codes"] for r in rows(RAW / "codes/coder_a.csv")}
    b = {r["response_id"]: r["codes"] for r in rows(RAW / "codes/coder_b.csv")}
    adjudicated = {r["response_id"]: r["codes"] for r in rows(RAW / "adjudication.csv")}
    out = []
    for r in responses:
        rid = r["response_id"]
        if rid in adjudicated:
            codes = adjudicated[rid]
        else:
            assert a[rid] == b[rid], f"{rid}: coders differ but no adjudication"
            codes = a[rid]
        out.append((r["participant_id"], r["question"], r["timepoint"], set(filter(None, codes.split(";")))))
    return out


def share(question, timepoint, code):
    at = [codes for _, q, t, codes in consensus_sets() if q == question and t == timepoint]
    return sum(code in codes for codes in at), len(at)


def test_generator_reproduces_the_committed_bytes():
    result = subprocess.run([sys.executable, "scripts/make_synthetic_pilot.py", "--check"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_session_experience_shares_match_the_documented_targets():
    # Targets documented in src/alliance_pipeline/examples/synthetic.py and data/raw/pilot/README.md
    assert share("session_experience", "pre1", "hooked") == (15, 23)        # 65.2 % (published 65 %)
    assert share("session_experience", "pre2", "hooked") == (11, 22)        # 50.0 % (published 50 %)
    assert share("session_experience", "post", "hooked") == (4, 23)         # 17.4 % (published 17 %)
    assert share("session_experience", "pre1", "engaged_well") == (5, 23)   # 21.7 % (published 22 %)
    assert share("session_experience", "pre2", "engaged_well") == (8, 22)   # 36.4 % (published 36 %)
    assert share("session_experience", "post", "engaged_well") == (19, 23)  # 82.6 % (published 84 %)


def test_published_percentages_round_right_except_the_documented_one():
    published = {("pre1", "hooked"): 65, ("pre2", "hooked"): 50, ("post", "hooked"): 17,
                 ("pre1", "engaged_well"): 22, ("pre2", "engaged_well"): 36, ("post", "engaged_well"): 84}
    off = {key for key, pct in published.items()
           if round(100 * share("session_experience", *key) [0] / share("session_experience", *key)[1]) != pct}
    assert off == {("post", "engaged_well")}


def test_no_post_sample_up_to_40_reaches_both_17_and_84_percent():
    # Why post engaged_well cannot be exact: no n <= 40 has integers k1, k2 with
    # round(100 k1/n) = 17 and round(100 k2/n) = 84.
    both = [n for n in range(1, 41)
            if any(round(100 * k / n) == 17 for k in range(n + 1))
            and any(round(100 * k / n) == 84 for k in range(n + 1))]
    assert both == []  # e.g. n = 23: 4/23 = 17.4 % but 19/23 = 82.6 % and 20/23 = 87.0 %


def test_feedback_shares_of_all_codes_match_the_published_percentages():
    codes = Counter(c for _, q, _, cs in consensus_sets() if q == "training_feedback" for c in cs)
    total = sum(codes.values())
    assert total == 42
    assert round(100 * codes["noticing_captivity"] / total) == 24        # 10/42 = 23.8 %
    assert round(100 * codes["relating_with_intention"] / total) == 21   # 9/42 = 21.4 %
    assert round(100 * codes["not_being_upset"] / total) == 14           # 6/42 = 14.3 %


def test_design_one_missing_at_pre2_and_coders_disagree_realistically():
    sets = consensus_sets()
    per_tp = Counter(t for _, q, t, _ in sets if q == "session_experience")
    assert per_tp == {"pre1": 23, "pre2": 22, "post": 23}
    a = {r["response_id"]: r["codes"] for r in rows(RAW / "codes/coder_a.csv")}
    b = {r["response_id"]: r["codes"] for r in rows(RAW / "codes/coder_b.csv")}
    differ = sum(a[r] != b[r] for r in a)
    assert 0.05 <= differ / len(a) <= 0.15  # not zero, not random: about one response in ten
    adjudicated = {r["response_id"] for r in rows(RAW / "adjudication.csv")}
    assert adjudicated == {r for r in a if a[r] != b[r]}


def test_some_texts_are_japanese_and_the_cohort_is_marked_synthetic():
    texts = [r["text"] for r in rows(RAW / "responses.csv")]
    assert any("巻き込まれ" in t or "気づ" in t for t in texts)
    assert "NOT REAL DATA" in (RAW / "README.md").read_text(encoding="utf-8")
