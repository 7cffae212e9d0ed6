"""Tests of alliance_pipeline.report.figures: the figure modules and cohort_figures.

The tables are small and hand-made; every expected value is read from the table the
figure was drawn from (a figure must show exactly what the table says), so each expected
number's source is the fixture right above its test.
"""
from __future__ import annotations

import datetime
import logging
import re
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.lines import Line2D

from alliance_pipeline.common.outputs import figure_paths, figure_stems
from alliance_pipeline.report.figures.agreement import agreement_figure
from alliance_pipeline.report.figures.cohort_figures import write_cohort_figures
from alliance_pipeline.report.figures.flow import flow_figure
from alliance_pipeline.report.figures.forest import forest_figure
from alliance_pipeline.report.figures.frequencies import frequencies_figure
from alliance_pipeline.report.figures.shares import shares_figure
from alliance_pipeline.report.figures.style import (
    DOUBLE_COLUMN,
    SINGLE_COLUMN,
    merge_labels,
    register_fonts,
    save_figure,
)

TIMEPOINTS = ["pre1", "pre2", "post"]
CONTRASTS = {"baseline": ["pre1", "pre2"], "training": ["pre2", "post"],
             "overall": ["pre1", "post"]}
QUESTIONS = {
    "session_experience": {"timepoints": TIMEPOINTS, "codes": ["hooked", "engaged_well"],
                           "multi_label": True},
    "training_feedback": {"timepoints": ["post"],
                          "codes": ["noticing_captivity", "relating_with_intention",
                                    "not_being_upset"],
                          "multi_label": True},
}
LABELS = {"hooked": "Hooked", "engaged_well": "Engaged well",
          "noticing_captivity": "Noticing captivity objectively",
          "relating_with_intention": "Relating with intention",
          "not_being_upset": "Not being upset"}


# --------------------------------------------------------------------------- fixtures

def agreement_table() -> pd.DataFrame:
    return pd.DataFrame([
        ["pilot", "session_experience", "hooked", 0.82, 0.70, 0.91, "good"],
        ["pilot", "session_experience", "engaged_well", 0.71, 0.55, 0.84, "tentative"],
        ["pilot", "session_experience", "*", 0.74, 0.63, 0.83, "tentative"],
        ["pilot", "training_feedback", "noticing_captivity", 0.55, 0.31, 0.76, "insufficient"],
        ["pilot", "training_feedback", "relating_with_intention", np.nan, np.nan, np.nan, ""],
        ["pilot", "training_feedback", "not_being_upset", -0.05, -0.20, 0.30, "insufficient"],
        ["pilot", "training_feedback", "*", 0.68, 0.50, 0.80, "tentative"],
    ], columns=["cohort", "question", "code", "krippendorff_alpha", "alpha_ci_low",
                "alpha_ci_high", "verdict"])


def proportions_table() -> pd.DataFrame:
    rows = [
        # shuffled time points: the figure must put them in study order
        ["pilot", "session_experience", "hooked", "post", 23, 4, 4 / 23, 0.07, 0.37],
        ["pilot", "session_experience", "hooked", "pre1", 23, 15, 15 / 23, 0.45, 0.81],
        ["pilot", "session_experience", "hooked", "pre2", 22, 11, 11 / 22, 0.31, 0.69],
        ["pilot", "session_experience", "engaged_well", "pre1", 23, 5, 5 / 23, 0.10, 0.42],
        ["pilot", "session_experience", "engaged_well", "pre2", 22, 8, 8 / 22, 0.20, 0.57],
        ["pilot", "session_experience", "engaged_well", "post", 23, 19, 19 / 23, 0.63, 0.93],
        ["pilot", "training_feedback", "noticing_captivity", "post", 21, 5, 5 / 21, 0.11, 0.45],
        ["pilot", "training_feedback", "relating_with_intention", "post", 21, 4, 4 / 21,
         0.08, 0.40],
        ["pilot", "training_feedback", "not_being_upset", "post", 21, 0, 0.0, 0.0, 0.15],
    ]
    return pd.DataFrame(rows, columns=["cohort", "question", "code", "timepoint", "n", "k",
                                       "proportion", "ci_low", "ci_high"])


def mcnemar_table() -> pd.DataFrame:
    columns = ["cohort", "question", "code", "test", "contrast", "timepoints", "n", "b", "c",
               "method", "p_value", "p_adjusted", "risk_difference", "rd_ci_low",
               "rd_ci_high", "note"]
    rows = [
        ["pilot", "session_experience", "hooked", "cochran_q", "omnibus", "pre1|pre2|post",
         21, np.nan, np.nan, "", 0.001, np.nan, np.nan, np.nan, np.nan, ""],
        ["pilot", "session_experience", "hooked", "mcnemar", "overall", "pre1|post", 23, 12,
         1, "exact", 0.003, 0.009, -0.48, -0.70, -0.25, ""],
        ["pilot", "session_experience", "hooked", "mcnemar", "baseline", "pre1|pre2", 22, 5,
         2, "exact", 0.45, 0.45, -0.14, -0.38, 0.10, ""],
        ["pilot", "session_experience", "hooked", "mcnemar", "training", "pre2|post", 22, 8,
         1, "exact", 0.04, 0.08, -0.32, -0.55, -0.08, ""],
        # a clustered variant of the same contrast must not be drawn
        ["pilot", "session_experience", "hooked", "mcnemar", "training", "pre2|post", 22, 8,
         1, "clustered", 0.05, 0.05, -0.9, -0.95, -0.85, ""],
        ["pilot", "session_experience", "engaged_well", "mcnemar", "baseline", "pre1|pre2",
         22, 1, 4, "exact", 0.38, 0.38, 0.14, -0.08, 0.35, ""],
        ["pilot", "session_experience", "engaged_well", "mcnemar", "training", "pre2|post",
         22, 0, 0, "exact", np.nan, np.nan, np.nan, np.nan, np.nan,
         "no discordant pairs"],
        # overall of engaged_well missing on purpose
    ]
    return pd.DataFrame(rows, columns=columns)


def flow_table() -> pd.DataFrame:
    return pd.DataFrame([
        ["session_experience", "pre1", 23, 20],
        ["session_experience", "pre2", 22, 20],
        ["session_experience", "post", 23, 20],
        ["training_feedback", "post", 21, np.nan],
    ], columns=["question", "timepoint", "n_participants", "n_complete"])


# --------------------------------------------------------------------------- helpers

def by_gid(fig, gid, kind=None):
    found = [a for a in fig.findobj(lambda a: a.get_gid() == gid)]
    return [a for a in found if kind is None or isinstance(a, kind)]


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


def segments(collection: LineCollection) -> list[tuple[float, float, float, float]]:
    return [tuple(np.asarray(s).ravel()) for s in collection.get_segments()]


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.axison]


# --------------------------------------------------------------------------- saving

def test_save_is_deterministic_and_dateless(tmp_path):
    fig = shares_figure(proportions_table(), question="session_experience",
                        codes=["hooked", "engaged_well"], labels=LABELS,
                        timepoints=TIMEPOINTS)
    first = save_figure(fig, tmp_path / "a" / "shares")
    second = save_figure(fig, tmp_path / "b" / "shares")
    assert [p.name for p in first] == ["shares.png", "shares.svg"]
    for one, two in zip(first, second, strict=True):
        assert one.read_bytes() == two.read_bytes()
    # a fresh figure from the same table gives the same bytes too
    again = shares_figure(proportions_table(), question="session_experience",
                          codes=["hooked", "engaged_well"], labels=LABELS,
                          timepoints=TIMEPOINTS)
    third = save_figure(again, tmp_path / "c" / "shares")
    assert [p.read_bytes() for p in third] == [p.read_bytes() for p in first]

    png, svg = (p.read_bytes() for p in first)
    assert png.startswith(b"\x89PNG")
    assert b"tIME" not in png and b"Software" not in png and b"Matplotlib" not in png
    text = svg.decode("utf-8")
    assert "dc:date" not in text and "Matplotlib v" not in text
    today = datetime.date.today()
    for data in (png, svg):
        assert str(today.year).encode() + b"-" not in data
        assert not re.search(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", data)
    # written atomically: no temporary files left behind
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["shares.png", "shares.svg"]


def test_png_is_300_dpi(tmp_path):
    fig = flow_figure(flow_table(), timepoints=TIMEPOINTS)
    png, _ = save_figure(fig, tmp_path / "flow")
    from PIL import Image
    with Image.open(png) as image:
        assert round(image.info["dpi"][0]) == 300
        width_in = image.size[0] / 300
    assert width_in == pytest.approx(SINGLE_COLUMN, abs=0.02)


def test_stem_with_dot_keeps_its_name(tmp_path):
    fig = flow_figure(flow_table(), timepoints=TIMEPOINTS)
    paths = save_figure(fig, tmp_path / "flow.v2")
    assert [p.name for p in paths] == ["flow.v2.png", "flow.v2.svg"]


def test_style_does_not_leak_into_global_rcparams():
    before = dict(matplotlib.rcParams)
    agreement_figure(agreement_table(), labels=LABELS, acceptable=0.667, good=0.8)
    assert matplotlib.rcParams["font.family"] == before["font.family"]
    assert matplotlib.rcParams["svg.hashsalt"] == before["svg.hashsalt"]


def test_no_text_below_7_pt():
    figs = [
        agreement_figure(agreement_table(), labels=LABELS, acceptable=0.667, good=0.8),
        shares_figure(proportions_table(), question="session_experience",
                      codes=["hooked", "engaged_well"], labels=LABELS,
                      timepoints=TIMEPOINTS),
        forest_figure(mcnemar_table(), question="session_experience",
                      codes=["hooked", "engaged_well"], labels=LABELS, contrasts=CONTRASTS),
        flow_figure(flow_table(), timepoints=TIMEPOINTS),
        frequencies_figure(proportions_table(), question="training_feedback",
                           codes=QUESTIONS["training_feedback"]["codes"], labels=LABELS),
    ]
    for fig in figs:
        assert fig.get_figwidth() in (SINGLE_COLUMN, DOUBLE_COLUMN)
        sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
        assert sizes and min(sizes) >= 7


# --------------------------------------------------------------------------- Japanese

def test_japanese_label_renders_without_missing_glyphs(tmp_path, caplog):
    labels = {**LABELS, "hooked": "巻き込まれ（フックされる）"}
    table = proportions_table()
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG,
                                                                         "matplotlib"):
        warnings.simplefilter("always")
        fig = shares_figure(table, question="session_experience",
                            codes=["hooked", "engaged_well"], labels=labels,
                            timepoints=TIMEPOINTS)
        save_figure(fig, tmp_path / "ja")
        agreement = agreement_figure(agreement_table(), labels=labels, acceptable=0.667,
                                     good=0.8, questions=QUESTIONS,
                                     question_labels={"session_experience": "面接体験"})
        save_figure(agreement, tmp_path / "ja_agreement")
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "Glyph" in m or "missing" in m.lower()], messages
    assert not [r for r in caplog.records
                if "findfont" in r.getMessage() and "not found" in r.getMessage()]
    assert "巻き込まれ（フックされる）" in texts(fig)


def test_ipaexgothic_is_registered():
    path = register_fonts()
    assert path is not None and path.name == "ipaexg.ttf"
    names = {entry.name for entry in matplotlib.font_manager.fontManager.ttflist}
    assert "IPAexGothic" in names
    register_fonts()  # idempotent
    count = sum(e.name == "IPAexGothic" for e in matplotlib.font_manager.fontManager.ttflist)
    assert count == 1


# --------------------------------------------------------------------------- agreement

def test_agreement_points_cis_and_thresholds():
    table = agreement_table()
    fig = agreement_figure(table, labels=LABELS, acceptable=0.667, good=0.8,
                           questions=QUESTIONS)
    (points,) = by_gid(fig, "estimate", PathCollection)
    defined = table.dropna(subset=["krippendorff_alpha"])
    # row order: codebook order within question, '*' last; NaN row not drawn
    expected_order = [("session_experience", "hooked"), ("session_experience", "engaged_well"),
                      ("session_experience", "*"), ("training_feedback", "noticing_captivity"),
                      ("training_feedback", "not_being_upset"), ("training_feedback", "*")]
    expected = defined.set_index(["question", "code"]).loc[expected_order]
    offsets = points.get_offsets()
    assert len(offsets) == 6
    assert list(offsets[:, 0]) == pytest.approx(list(expected["krippendorff_alpha"]))
    assert list(offsets[:, 1]) == sorted(offsets[:, 1], reverse=True)  # top to bottom
    (ci,) = by_gid(fig, "ci", LineCollection)
    got = segments(ci)
    assert [s[0] for s in got] == pytest.approx(list(expected["alpha_ci_low"]))
    assert [s[2] for s in got] == pytest.approx(list(expected["alpha_ci_high"]))
    assert texts(fig).count("undefined") == 1
    lines = by_gid(fig, "threshold", Line2D)
    assert sorted(line.get_xdata()[0] for line in lines) == [0.667, 0.8]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "acceptable 0.667" in legend and "good 0.800" in legend
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == ["session_experience", "Hooked", "Engaged well", "whole question (MASI)",
                     "training_feedback", "Noticing captivity objectively",
                     "Relating with intention", "Not being upset", "whole question (MASI)"]


def test_agreement_without_questions_and_with_two_cohorts():
    table = agreement_table()
    other = table.assign(cohort="replication", krippendorff_alpha=0.9)
    fig = agreement_figure(pd.concat([table, other], ignore_index=True), labels=LABELS,
                           acceptable=0.667, good=0.8)
    points = by_gid(fig, "estimate", PathCollection)
    assert [len(p.get_offsets()) for p in points] == [6, 7]
    assert "whole question" in [t.get_text() for t in fig.axes[0].get_yticklabels()]


# --------------------------------------------------------------------------- shares

def test_shares_panels_points_and_wilson_cis():
    table = proportions_table()
    fig = shares_figure(table, question="session_experience",
                        codes=["hooked", "engaged_well"], labels=LABELS,
                        timepoints=TIMEPOINTS)
    axes = visible_axes(fig)
    assert len(axes) == 2
    assert [ax.get_title() for ax in axes] == ["Hooked", "Engaged well"]
    for ax, code in zip(axes, ["hooked", "engaged_well"], strict=True):
        expected = (table[table["code"] == code].set_index("timepoint").loc[TIMEPOINTS])
        (line,) = [a for a in ax.get_lines() if a.get_gid() == "estimate"]
        assert list(line.get_xdata()) == [0.0, 1.0, 2.0]
        assert list(line.get_ydata()) == pytest.approx(list(expected["proportion"]))
        (ci,) = [c for c in ax.collections if c.get_gid() == "ci"]
        got = segments(ci)
        assert [s[1] for s in got] == pytest.approx(list(expected["ci_low"]))
        assert [s[3] for s in got] == pytest.approx(list(expected["ci_high"]))
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert ticks == [f"{tp}\nn={n}" for tp, n in zip(TIMEPOINTS, expected["n"], strict=True)]
        (span,) = [p for p in ax.patches if p.get_gid() == "training"]
        assert (span.get_x(), span.get_x() + span.get_width()) == (1.0, 2.0)  # pre2..post
        assert "training" in [t.get_text() for t in ax.texts]


def test_shares_published_overlay_and_wrapping():
    published = {"hooked": {"pre1": 0.65, "pre2": 0.50, "post": 0.17}}
    fig = shares_figure(proportions_table(), question="session_experience",
                        codes=["hooked", "engaged_well", "absent", "also_absent"],
                        labels=LABELS, timepoints=TIMEPOINTS, published=published)
    assert len(visible_axes(fig)) == 4          # 3 + 1 panels, the sixth slot hidden
    (pub,) = by_gid(fig, "published", Line2D)
    assert list(pub.get_ydata()) == [0.65, 0.50, 0.17]
    assert texts(fig).count("no data") == 2


def test_shares_without_training_timepoints_has_no_span():
    fig = shares_figure(proportions_table(), question="session_experience",
                        codes=["hooked"], labels=LABELS, timepoints=["pre1", "pre2"],
                        training_contrast=("pre2", "post"))
    assert not by_gid(fig, "training")
    assert fig.get_figwidth() == SINGLE_COLUMN


# --------------------------------------------------------------------------- forest

def test_forest_rows_points_and_missing_contrasts():
    table = mcnemar_table()
    fig = forest_figure(table, question="session_experience",
                        codes=["hooked", "engaged_well"], labels=LABELS,
                        contrasts=CONTRASTS)
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["Hooked", "baseline (pre1 → pre2)", "training (pre2 → post)",
                     "overall (pre1 → post)",
                     "Engaged well", "baseline (pre1 → pre2)", "training (pre2 → post)",
                     "overall (pre1 → post)"]
    (points,) = by_gid(fig, "estimate", PathCollection)
    # hooked baseline, training (the non-clustered row), overall; engaged_well baseline
    assert list(points.get_offsets()[:, 0]) == pytest.approx([-0.14, -0.32, -0.48, 0.14])
    (ci,) = by_gid(fig, "ci", LineCollection)
    assert [s[0] for s in segments(ci)] == pytest.approx([-0.38, -0.55, -0.70, -0.08])
    assert [s[2] for s in segments(ci)] == pytest.approx([0.10, -0.08, -0.25, 0.35])
    (zero,) = by_gid(fig, "zero", Line2D)
    assert list(zero.get_xdata()) == [0, 0]
    notes = [t for t in texts(fig) if t.startswith(("undefined", "not tested"))]
    assert notes == ["undefined: no discordant pairs", "not tested"]
    assert "p(adj) = 0.080" in " ".join(texts(fig))


def test_forest_with_contrast_names_only_and_empty_table():
    fig = forest_figure(mcnemar_table().iloc[0:0], question="session_experience",
                        codes=["hooked"], labels=LABELS, contrasts=["training"])
    assert texts(fig).count("not tested") == 1
    fig = forest_figure(pd.DataFrame(), question="q", codes=[], labels={}, contrasts={})
    assert "no contrasts to show" in texts(fig)


# --------------------------------------------------------------------------- flow

def test_flow_bars_and_complete_cases():
    table = flow_table()
    fig = flow_figure(table, timepoints=TIMEPOINTS)
    heights = [b.get_height() for b in by_gid(fig, "participants")]
    # session_experience pre1, pre2, post then training_feedback post
    assert heights == [23, 22, 23, 21]
    (complete,) = by_gid(fig, "complete", LineCollection)
    assert {s[1] for s in segments(complete)} == {20.0}
    labels = texts(fig)
    assert "22\n(−1)" in labels                 # 23 at the largest time point − 22
    assert "complete cases, session_experience: 20" in labels


def test_flow_accepts_wide_table_and_totals():
    wide = pd.DataFrame({"question": ["session_experience"], "pre1": [23], "pre2": [22],
                         "post": [21], "complete_cases": [19], "n_enrolled": [25]})
    fig = flow_figure(wide, timepoints=TIMEPOINTS)
    heights = [b.get_height() for b in by_gid(fig, "participants")]
    assert heights == [23, 22, 21]
    assert "23\n(−2)" in texts(fig)             # enrolled 25 − 23
    assert "(−k): missing vs. enrolled" in texts(fig)


# --------------------------------------------------------------------------- frequencies

def test_frequencies_sorted_with_cis_and_counts():
    table = proportions_table()
    codes = QUESTIONS["training_feedback"]["codes"]
    fig = frequencies_figure(table, question="training_feedback", codes=codes,
                             labels=LABELS)
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["Noticing captivity objectively", "Relating with intention",
                     "Not being upset"]   # 5/21 > 4/21 > 0/21
    widths = [b.get_width() for b in by_gid(fig, "share")]
    assert widths == pytest.approx([5 / 21, 4 / 21, 0.0])
    (ci,) = by_gid(fig, "ci", LineCollection)
    assert [s[0] for s in segments(ci)] == pytest.approx([0.11, 0.08, 0.0])
    assert [s[2] for s in segments(ci)] == pytest.approx([0.45, 0.40, 0.15])
    values = [t.get_text() for t in by_gid(fig, "value")]
    assert values == ["5/21 (24%)", "4/21 (19%)", "0/21 (0%)"]


def test_frequencies_nan_share_goes_last_and_says_undefined():
    table = proportions_table()
    table.loc[table["code"] == "noticing_captivity", ["proportion", "ci_low", "ci_high"]] = \
        np.nan
    fig = frequencies_figure(table, question="training_feedback",
                             codes=QUESTIONS["training_feedback"]["codes"], labels=LABELS)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks[-1] == "Noticing captivity objectively"
    assert "undefined (5/21)" in texts(fig)


# --------------------------------------------------------------------------- per cohort

def test_figure_stems():
    assert figure_stems(QUESTIONS) == [
        "agreement", "flow", "shares_session_experience", "forest_session_experience",
        "frequencies_training_feedback"]


def test_write_cohort_figures_matches_stems(tmp_path):
    tables = {"agreement": agreement_table(), "proportions": proportions_table(),
              "tests": mcnemar_table(), "flow": flow_table()}
    written = write_cohort_figures(
        tables, out_dir=tmp_path / "figures", questions=QUESTIONS, labels=LABELS,
        timepoints=TIMEPOINTS, contrasts=CONTRASTS, acceptable=0.667, good=0.8)
    expected = [tmp_path / "figures" / f"{stem}.{fmt}"
                for stem in figure_stems(QUESTIONS) for fmt in ("png", "svg")]
    assert written == expected == figure_paths(tmp_path / "figures", QUESTIONS)
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == \
        sorted(p.name for p in expected)
    assert all(p.stat().st_size > 0 for p in written)


def test_write_cohort_figures_survives_missing_tables(tmp_path):
    # no tables at all, codebook-shaped questions (codes as a mapping with labels)
    questions = {"q": {"timepoints": ["post", "pre1"],
                       "codes": {"a": {"label": "A", "definition": "..."}},
                       "multi_label": False}}
    written = write_cohort_figures(
        {}, out_dir=tmp_path, questions=questions, labels={}, timepoints=TIMEPOINTS,
        contrasts=CONTRASTS, acceptable=0.667, good=0.8)
    assert [p.name for p in written] == [
        "agreement.png", "agreement.svg", "flow.png", "flow.svg", "shares_q.png",
        "shares_q.svg", "forest_q.png", "forest_q.svg"]


def test_nan_zero_and_single_timepoint_edge_cases(tmp_path):
    proportions = proportions_table()
    proportions.loc[0, ["proportion", "ci_low", "ci_high"]] = np.nan   # hooked, post
    agreement = agreement_table()
    agreement["krippendorff_alpha"] = np.nan
    tests = mcnemar_table()
    tests["risk_difference"] = np.nan
    written = write_cohort_figures(
        {"agreement": agreement, "proportions": proportions, "tests": tests},
        out_dir=tmp_path, questions=QUESTIONS, labels=LABELS, timepoints=TIMEPOINTS,
        contrasts={"training": ["pre2", "post"]}, acceptable=0.667, good=0.8)
    assert len(written) == 10
    fig = agreement_figure(agreement, labels=LABELS, acceptable=0.667, good=0.8)
    assert not by_gid(fig, "estimate") and texts(fig).count("undefined") == 7
    fig = shares_figure(proportions, question="session_experience", codes=["hooked"],
                        labels=LABELS, timepoints=TIMEPOINTS)
    (ci,) = by_gid(fig, "ci", LineCollection)
    assert len(ci.get_segments()) == 2
    assert "undefined" in texts(fig)


def test_flow_accepts_participant_flow_table():
    # the shape of proportions.participant_flow (FLOW_COLUMNS): 25 in the cohort
    flow = pd.DataFrame([
        ["session_experience", "timepoint", "pre1", "pre1", 25, 23, 2, "p24;p25"],
        ["session_experience", "timepoint", "pre2", "pre2", 25, 22, 3, "p01;p24;p25"],
        ["session_experience", "timepoint", "post", "post", 25, 21, 4, "p01;p02;p24;p25"],
        ["session_experience", "complete", "complete", "pre1|pre2|post", 25, 19, 4, ""],
        ["session_experience", "contrast", "training", "pre2|post", 25, 20, 3, ""],
        ["training_feedback", "timepoint", "post", "post", 25, 21, 4, ""],
        ["training_feedback", "complete", "complete", "post", 25, 21, 0, ""],
    ], columns=["question", "step", "name", "timepoints", "n_cohort", "n", "n_excluded",
                "missing"])
    fig = flow_figure(flow, timepoints=TIMEPOINTS)
    assert [b.get_height() for b in by_gid(fig, "participants")] == [23, 22, 21, 21]
    (complete,) = by_gid(fig, "complete", LineCollection)   # single-time-point: no line
    assert {s[1] for s in segments(complete)} == {19.0}
    labels = texts(fig)
    assert "23\n(−2)" in labels and "21\n(−4)" in labels      # n_cohort − n = n_excluded
    assert "(−k): missing vs. enrolled" in labels


def test_labels_from_questions_and_override():
    questions = {"q": {"timepoints": ["post"], "codes": ["a", "b"], "multi_label": False,
                       "labels": {"a": "Label A", "b": "Label B"}}}
    table = pd.DataFrame({"question": "q", "code": ["a", "b"], "timepoint": "post",
                          "n": 10, "k": [3, 6], "proportion": [0.3, 0.6],
                          "ci_low": [0.1, 0.3], "ci_high": [0.6, 0.85]})
    agreement = pd.DataFrame({"question": "q", "code": ["a", "*"],
                              "krippendorff_alpha": [0.7, 0.7], "alpha_ci_low": [0.5, 0.5],
                              "alpha_ci_high": [0.9, 0.9], "verdict": "tentative"})
    fig = agreement_figure(agreement, labels={"a": "Override A"}, acceptable=0.667,
                           good=0.8, questions=questions)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [
        "q", "Override A", "whole question (nominal)"]
    fig = frequencies_figure(table, question="q", codes=["a", "b"],
                             labels=merge_labels(questions, {}))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["Label B", "Label A"]
