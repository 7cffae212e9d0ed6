"""The all-available-data model of ``models.csv`` against R's geepack, run by CI.

Seeded generated cohorts of 25-60 participants with missing waves (and a code whose share is
0 at one time point) go through :func:`alliance_pipeline.change.models.models_table` and
:func:`alliance_pipeline.change.gee.saturated_gee`. ONE Rscript process fits, per cohort and
code, ``geepack::geeglm(y ~ 0 + timepoint, id = participant, family = binomial("identity"),
corstr = "exchangeable", std.err = "san.se")`` (Halekoh, Højsgaard & Yan 2006, J Stat Softw
15(2)) and writes each term's c'β and √(c' vbeta c) (vbeta: the sandwich covariance).

Tolerances (the issue's, measured beforehand): estimates 1e-3 and robust standard errors 2 %,
because geepack estimates the exchangeable correlation with a slightly different divisor than
statsmodels (whose moment estimate the pipeline follows; tests/test_models.py checks that to
1e-8). geepack has no bias-reduced covariance; that one is checked against statsmodels and
a direct Mancl-DeRouen computation in tests/test_models.py. Where the identity link cannot be
fitted (share 0 at a time point) geepack stops without starting values, and the pipeline's
rows are empty with the reason. The t rows (``gee_bias_reduced_t``) are checked against R's
``qt(0.975, K − 3)``, K the participants R's fit clusters on. Without Rscript and geepack the
tests skip; in CI they fail.
"""
from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest

from alliance_pipeline.change.gee import saturated_gee
from alliance_pipeline.change.models import model_terms, models_table
from alliance_pipeline.change.participant_level import (
    participant_codes,
    question_plans,
    response_arrays,
)
from conftest import make_final_codes, require_r_package

pytestmark = pytest.mark.r_differential

TIMEPOINTS = ["pre1", "pre2", "post"]
CONTRASTS = {"baseline": ["pre1", "pre2"], "training": ["pre2", "post"], "overall": ["pre1", "post"]}
COMPARE = [["training", "baseline"], ["overall", "baseline"]]
CODES = ["hooked", "engaged", "anxious", "silent_pre2"]
QUESTIONS = {"session": {"timepoints": TIMEPOINTS, "codes": CODES}}
COHORTS = [(101, 25), (102, 31), (103, 38), (104, 44), (105, 52), (106, 60)]

R_SCRIPT = r"""
suppressPackageStartupMessages(library(geepack))
dir <- commandArgs(trailingOnly = TRUE)[1]
long <- read.csv(file.path(dir, "long.csv"), stringsAsFactors = FALSE)
terms <- read.csv(file.path(dir, "terms.csv"), stringsAsFactors = FALSE)
long$timepoint <- factor(long$timepoint, levels = c("pre1", "pre2", "post"))
out <- list()
for (key in unique(paste(long$cohort, long$code))) {
  d <- long[paste(long$cohort, long$code) == key, ]
  d <- d[order(d$participant, d$timepoint), ]
  d$id <- as.integer(factor(d$participant))
  fit <- tryCatch(geeglm(y ~ 0 + timepoint, id = id, data = d, family = binomial("identity"),
                         corstr = "exchangeable", std.err = "san.se"),
                  error = function(e) NULL)
  for (i in seq_len(nrow(terms))) {
    w <- as.numeric(terms[i, c("pre1", "pre2", "post")])
    est <- NA; se <- NA
    if (!is.null(fit)) {
      est <- sum(w * coef(fit)); se <- sqrt(drop(t(w) %*% fit$geese$vbeta %*% w))
    }
    k <- length(unique(d$id))
    out[[length(out) + 1]] <- data.frame(cohort = d$cohort[1], code = d$code[1],
                                         term = terms$term[i], estimate = est, se = se,
                                         k = k, qt = qt(0.975, k - 3))
  }
}
write.csv(do.call(rbind, out), file.path(dir, "out.csv"), row.names = FALSE)
"""


def generate(seed: int, n: int) -> pd.DataFrame:
    """final_codes of one seeded cohort: pre1 always answered, pre2 and post missed by about
    a quarter; codes persist within a participant; ``silent_pre2`` is never present at pre2.
    NOT REAL DATA."""
    rng = np.random.default_rng(seed)
    shares = {"hooked": (0.6, 0.5, 0.2), "engaged": (0.25, 0.35, 0.75),
              "anxious": (0.4, 0.4, 0.3), "silent_pre2": (0.3, 0.0, 0.4)}
    own = {code: rng.random(n) < 0.5 for code in CODES}
    records = []
    for i in range(n):
        for t, tp in enumerate(TIMEPOINTS):
            if t > 0 and rng.random() < 0.25:
                continue
            present = {code for code in CODES if shares[code][t] > 0 and
                       (own[code][i] if rng.random() < 0.4 else rng.random() < shares[code][t])}
            records.append((f"P{i + 1:03d}", tp, "session", "", present))
    return make_final_codes(records, {"session": CODES})


def long_frame(cohort: str, final_codes: pd.DataFrame) -> pd.DataFrame:
    pc = participant_codes(final_codes)
    return pd.DataFrame({"cohort": cohort, "participant": pc["participant_id"],
                         "timepoint": pc["timepoint"], "code": pc["code"], "y": pc["present"]})


@pytest.fixture(scope="module")
def rscript() -> str:
    return require_r_package("geepack", "the GEE differential tests against geepack")


@pytest.fixture(scope="module")
def geepack(rscript, tmp_path_factory) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """(final codes per cohort, geepack's term estimates and robust SEs) from one R process."""
    folder = tmp_path_factory.mktemp("geepack")
    cohorts = {f"c{seed}": generate(seed, n) for seed, n in COHORTS}
    pd.concat([long_frame(c, fc) for c, fc in cohorts.items()]).to_csv(folder / "long.csv", index=False)
    plan = question_plans(QUESTIONS, TIMEPOINTS)[0]
    terms = pd.DataFrame([{"term": term, **{tp: weights.get(tp, 0) for tp in TIMEPOINTS}}
                          for term, weights, _ in model_terms(plan, CONTRASTS, COMPARE)])
    terms.to_csv(folder / "terms.csv", index=False)
    (folder / "script.R").write_text(R_SCRIPT, encoding="utf-8")
    done = subprocess.run([rscript, "--vanilla", str(folder / "script.R"), str(folder)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"Rscript failed:\n{done.stdout}\n{done.stderr}"
    return cohorts, pd.read_csv(folder / "out.csv")


def test_gee_estimates_match_geepack(geepack):
    cohorts, r = geepack
    ours = pd.concat([models_table(fc, cohort=c, questions=QUESTIONS, timepoints=TIMEPOINTS,
                                   contrasts=CONTRASTS, compare=COMPARE) for c, fc in cohorts.items()])
    ours = ours[ours["method"] == "gee_bias_reduced"]
    merged = ours.merge(r, on=["cohort", "code", "term"], suffixes=("", "_r"), validate="1:1")
    assert len(merged) == len(ours) == len(COHORTS) * len(CODES) * 5
    fitted = merged[merged["code"] != "silent_pre2"]
    assert fitted["estimate"].notna().all() and fitted["estimate_r"].notna().all()
    np.testing.assert_allclose(fitted["estimate"], fitted["estimate_r"], rtol=0, atol=1e-3)
    # the contrasts are not all trivially equal to differences of observed means
    assert (fitted["estimate"].abs() > 0.01).sum() > len(fitted) // 2
    # share 0 at pre2: geepack finds no starting values, the pipeline leaves the rows empty
    refused = merged[merged["code"] == "silent_pre2"]
    assert refused["estimate_r"].isna().all() and refused["estimate"].isna().all()
    assert refused["note"].str.startswith("share 0 at pre2").all()


def test_gee_robust_standard_errors_match_geepack(geepack):
    cohorts, r = geepack
    plan = question_plans(QUESTIONS, TIMEPOINTS)[0]
    terms = model_terms(plan, CONTRASTS, COMPARE)
    compared = 0
    for cohort, final_codes in cohorts.items():
        arrays = response_arrays(participant_codes(final_codes), plan)
        for j, code in enumerate(CODES[:-1]):
            fit = saturated_gee(arrays.responded, arrays.present[:, :, j], TIMEPOINTS)
            for term, weights, _ in terms:
                c = np.array([weights.get(tp, 0) for tp in TIMEPOINTS], dtype=float)
                se = float(np.sqrt(c @ fit.cov_robust @ c))
                row = r[(r["cohort"] == cohort) & (r["code"] == code) & (r["term"] == term)]
                assert se == pytest.approx(float(row["se"].iloc[0]), rel=0.02), (cohort, code, term)
                compared += 1
    assert compared == len(COHORTS) * 3 * len(terms)


def test_t_rows_use_rs_qt_with_k_minus_p_degrees_of_freedom(geepack):
    """Each t row's half-width over the normal row's, times z(0.975), is R's qt(0.975, K − 3)."""
    from scipy import stats

    cohorts, r = geepack
    ours = pd.concat([models_table(fc, cohort=c, questions=QUESTIONS, timepoints=TIMEPOINTS,
                                   contrasts=CONTRASTS, compare=COMPARE) for c, fc in cohorts.items()])
    keys = ["cohort", "code", "term"]
    z = ours[ours["method"] == "gee_bias_reduced"]
    t = ours[ours["method"] == "gee_bias_reduced_t"]
    merged = (t.merge(z, on=keys, suffixes=("", "_z"), validate="1:1")
              .merge(r, on=keys, suffixes=("", "_r"), validate="1:1").dropna(subset=["ci_high"]))
    assert len(merged) == len(COHORTS) * (len(CODES) - 1) * 5
    assert (merged["n_participants"] == merged["k"]).all()
    q = ((merged["ci_high"] - merged["estimate"]) / (merged["ci_high_z"] - merged["estimate_z"])
         * stats.norm.ppf(0.975))
    np.testing.assert_allclose(q, merged["qt"], rtol=0, atol=1e-6)
