"""The difference of changes pooled across cohorts (#22): inverse-variance fixed effect over
the cohorts' GEE rows, checked against statsmodels' meta-analysis (an implementation
independent of ours: ``statsmodels.stats.meta_analysis.combine_effects``, its fixed-effect
mean, scale-1 interval and Q) and against a hand computation."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alliance_pipeline.study.difference import (
    DIFFERENCE_COLUMNS,
    pooled_differences,
    wald_std_error,
)

NAN = float("nan")
Z = stats.norm.ppf(0.975)


def gee_row(cohort, estimate, se, code="hooked", term="training - baseline", z=Z, n=20):
    return dict(cohort=cohort, question="session_experience", code=code, term=term,
                estimate=estimate, ci_low=estimate - z * se, ci_high=estimate + z * se,
                p_value=2 * stats.norm.sf(abs(estimate / se)), scale="risk_difference",
                n_participants=n, n_observations=3 * n - 2, method="gee_bias_reduced", note="")


def test_two_cohorts_by_hand():
    # D1 = −0.40, se 0.20 (w = 25); D2 = −0.10, se 0.10 (w = 100):
    # D = (25·(−0.40) + 100·(−0.10)) / 125 = −20/125 = −0.16, se = 1/sqrt(125) = 0.0894427
    # Q = 25·(−0.40 + 0.16)² + 100·(−0.10 + 0.16)² = 1.44 + 0.36 = 1.80 on 1 df
    models = pd.DataFrame([gee_row("a", -0.40, 0.20), gee_row("b", -0.10, 0.10, n=30)])
    row = pooled_differences(models, compare=[["training", "baseline"]], cohorts=["a", "b"]).iloc[0]
    assert row["estimate"] == pytest.approx(-0.16)
    assert row["std_error"] == pytest.approx(1 / np.sqrt(125))
    assert row["ci_low"] == pytest.approx(-0.16 - Z / np.sqrt(125))
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(0.16 * np.sqrt(125)))
    assert row["het_statistic"] == pytest.approx(1.80) and row["het_df"] == 1
    assert row["het_i2"] == pytest.approx((1.80 - 1) / 1.80)
    assert row["n_cohorts"] == 2 and row["cohorts"] == "a|b" and row["n_participants"] == 50


def test_seeded_cohorts_agree_with_statsmodels_meta_analysis():
    from statsmodels.stats.meta_analysis import combine_effects

    rng = np.random.default_rng(22)
    estimates = rng.normal(-0.2, 0.15, size=6)
    ses = rng.uniform(0.05, 0.3, size=6)
    names = [f"c{i}" for i in range(6)]
    models = pd.DataFrame([gee_row(n, e, s) for n, e, s in zip(names, estimates, ses, strict=True)])
    row = pooled_differences(models, compare=[["training", "baseline"]], cohorts=names).iloc[0]
    ref = combine_effects(estimates, ses ** 2, method_re="chi2", alpha=0.05)
    low, high = ref.conf_int(alpha=0.05)[0]               # fixed effect, scale 1
    assert row["estimate"] == pytest.approx(ref.mean_effect_fe, rel=1e-10)
    assert row["std_error"] == pytest.approx(ref.sd_eff_w_fe, rel=1e-10)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-10)
    assert row["het_statistic"] == pytest.approx(ref.q, rel=1e-10)


def test_each_cohort_confidence_gives_its_own_z():
    z90 = stats.norm.ppf(0.95)
    models = pd.DataFrame([gee_row("a", -0.3, 0.1, z=z90), gee_row("b", -0.3, 0.1)])
    row = pooled_differences(models, compare=[["training", "baseline"]], cohorts=["a", "b"],
                             confidences={"a": 0.90, "b": 0.95}).iloc[0]
    assert row["std_error"] == pytest.approx(0.1 / np.sqrt(2))


def test_undefined_and_asymmetric_rows_are_left_out_and_named():
    bad = gee_row("b", -0.2, 0.1)
    bad["ci_high"] += 0.05                                  # not estimate ± z·se
    undefined = {**gee_row("c", 0, 1), "estimate": NAN, "ci_low": NAN, "ci_high": NAN,
                 "p_value": NAN, "note": "share 0 at pre2"}
    models = pd.DataFrame([gee_row("a", -0.4, 0.2), bad, undefined,
                           {**gee_row("a", -0.5, 0.1), "method": "signflip"},     # never pooled
                           gee_row("a", -0.9, 0.1, term="training")])               # not a compare term
    out = pooled_differences(models, compare=[["training", "baseline"]], cohorts=["a", "b", "c"])
    assert list(out.columns) == DIFFERENCE_COLUMNS and len(out) == 1
    row = out.iloc[0]
    assert row["estimate"] == pytest.approx(-0.4) and row["n_cohorts"] == 1
    assert "left out (no Wald interval of the difference): b, c" in row["note"]
    assert np.isnan(row["het_statistic"]) and "needs two cohorts" in row["note"]
    assert np.isnan(wald_std_error(0.1, 0.0, 0.3, 0.95))


def test_no_models_or_no_compare_gives_the_header_only():
    assert pooled_differences(pd.DataFrame(), compare=[["training", "baseline"]], cohorts=["a"]).empty
    models = pd.DataFrame([gee_row("a", -0.4, 0.2)])
    assert list(pooled_differences(models, compare=[], cohorts=["a"]).columns) == DIFFERENCE_COLUMNS
