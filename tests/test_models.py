"""models.csv: the sign-flip test of a difference of changes, the saturated GEE, the table.

References: hand enumerations written out below; scipy's ``permutation_test`` (one sample:
signs flipped) for the exact branch; statsmodels' ``GEE`` (its own cluster loop) for the
vectorised fit; a direct per-participant numpy implementation of Mancl & DeRouen (2001,
Biometrics 57:126-134, eq. 5) written here for the bias-reduced covariance. R's geepack is in
tests/test_r_differential.py.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from alliance_pipeline.change.difference import (
    complete_differences,
    difference_weights,
    signflip_test,
    t_interval,
)
from alliance_pipeline.change.gee import saturated_gee
from alliance_pipeline.change.models import MODELS_COLUMNS, models_table
from conftest import DERIVED_HEADERS, make_final_codes

TIMEPOINTS = ["pre1", "pre2", "post"]
CONTRASTS = {"baseline": ["pre1", "pre2"], "training": ["pre2", "post"], "overall": ["pre1", "post"]}


# --------------------------------------------------------------------------- sign-flip test

def test_signflip_hand_enumeration():
    # d = (1, 1, 2, -1): m = 4, observed |Σd| = 3. Flipping signs gives S = s1 + s2 + 2 s3 + s4.
    # s3 = +1: S = 2 + (s1 + s2 + s4), the bracket is 3 (1 way), 1 (3), -1 (3), -3 (1), so
    # S = 5, 3, 1, -1 with counts 1, 3, 3, 1: |S| >= 3 in 4 patterns; s3 = -1 mirrors it: 4.
    # p = 8 / 16 = 0.5.
    result = signflip_test(np.array([1, 1, 2, -1]))
    assert result.p_value == 0.5 and result.exact and result.patterns == 16 and result.mcse == 0
    # all six d = +1: only all-plus and all-minus reach |S| = 6: p = 2 / 64
    assert signflip_test(np.ones(6)).p_value == 2 / 64
    # zeros change no sum: (0, 0, 1, 1, 1) is m = 3, p = 2 / 8
    result = signflip_test(np.array([0, 0, 1, 1, 1]))
    assert result.p_value == 0.25 and result.patterns == 8
    # (2, -2): S in {4, 0, 0, -4}, observed 0: every pattern is as extreme, p = 1
    assert signflip_test(np.array([2, -2])).p_value == 1.0
    # nothing to test
    assert np.isnan(signflip_test(np.zeros(5)).p_value)
    assert np.isnan(signflip_test(np.array([])).p_value)


@pytest.mark.parametrize("seed", range(6))
def test_signflip_exact_matches_scipy_permutation_test(seed):
    from scipy import stats

    rng = np.random.default_rng(seed)
    d = rng.integers(-2, 3, size=rng.integers(3, 13))
    if not d.any():
        d[0] = 1
    ours = signflip_test(d)
    theirs = stats.permutation_test((d,), np.sum, permutation_type="samples",
                                    alternative="two-sided", n_resamples=np.inf)
    assert ours.exact
    assert ours.p_value == pytest.approx(theirs.pvalue, abs=1e-12)


def test_signflip_monte_carlo_p_is_one_plus_extreme_over_b_plus_one():
    # 40 participants all with d = +1: |S*| = 40 needs all 40 signs alike, probability 2^-39;
    # no seeded draw reaches it, so p = (1 + 0) / (B + 1) exactly, never 0
    b = 999
    result = signflip_test(np.ones(40), permutations=b, rng=np.random.default_rng(3))
    assert not result.exact and result.patterns == b
    assert result.p_value == 1 / (b + 1)
    assert result.mcse == pytest.approx(np.sqrt(result.p_value * (1 - result.p_value) / b))
    # a case with extremes: p * (B + 1) is a whole number >= 1
    d = np.random.default_rng(8).integers(-2, 3, size=60)
    result = signflip_test(d, permutations=b, rng=np.random.default_rng(4))
    assert result.p_value * (b + 1) == pytest.approx(round(result.p_value * (b + 1)), abs=1e-9)
    assert round(result.p_value * (b + 1)) >= 1
    assert np.isnan(signflip_test(np.ones(40), permutations=0).p_value)


def test_signflip_monte_carlo_agrees_with_exact_within_its_se():
    # the Monte Carlo branch (forced with exact_max=0) draws binomial counts per |d| value;
    # its p must agree with the exact enumeration of the same d within 4 Monte Carlo SEs
    d = np.array([1, 1, 2, -1, 2, 1, -2, 1, 1, 0, 1, -1, 2, 1])
    exact = signflip_test(d)
    mc = signflip_test(d, exact_max=0, permutations=40_000, rng=np.random.default_rng(1))
    assert abs(mc.p_value - exact.p_value) <= 4 * mc.mcse
    assert mc == signflip_test(d, exact_max=0, permutations=40_000, rng=np.random.default_rng(1))


def test_differences_and_t_interval_by_hand():
    # [training, baseline]: d = y_post - 2 y_pre2 + y_pre1 (weights post +1, pre2 -2, pre1 +1)
    assert difference_weights(["training", "baseline"], CONTRASTS) == {"pre2": -2, "post": 1, "pre1": 1}
    # disjoint contrasts keep all four time points; a = [t1, t2], b = [t3, t4]
    four = {"a": ["t1", "t2"], "b": ["t3", "t4"]}
    assert difference_weights(["a", "b"], four) == {"t1": -1, "t2": 1, "t3": 1, "t4": -1}
    responded = np.array([[1, 1, 1], [1, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=bool)
    present = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 0], [1, 0, 1]])
    d = complete_differences(responded, present, TIMEPOINTS, difference_weights(["training", "baseline"], CONTRASTS))
    # rows 1, 2, 4 (row 3 missed pre2): 0-2+1 = -1, 1-2+0 = -1, 1-0+1 = 2
    assert d.tolist() == [-1, -1, 2]
    # mean 0, sd = sqrt((1 + 1 + 4) / 2) = sqrt(3); t_{0.975, 2} = 4.302653 (tables)
    low, high = t_interval(d)
    assert high == pytest.approx(4.302653 * np.sqrt(3) / np.sqrt(3), rel=1e-6)
    assert low == pytest.approx(-high)
    assert np.isnan(t_interval(np.array([1, 1, 1]))[0])


# --------------------------------------------------------------------------- the GEE

def cohort_arrays(seed: int, n: int, missing: float = 0.25, shares=(0.3, 0.35, 0.6)):
    """Seeded participants x 3 time points: answered mask (pre1 always) and codes with a
    participant effect (so the working correlation is not 0). NOT REAL DATA."""
    rng = np.random.default_rng(seed)
    responded = rng.random((n, 3)) >= missing
    responded[:, 0] = True
    own = rng.random(n)[:, None] < 0.5
    y = np.where(rng.random((n, 3)) < 0.5, own, rng.random((n, 3)) < np.array(shares)).astype(int)
    return responded, y


def statsmodels_fit(responded, y, cov_type):
    import statsmodels.api as sm

    i, t = np.nonzero(responded)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sm.GEE(y[i, t].astype(float), np.eye(responded.shape[1])[t], groups=i,
                       family=sm.families.Binomial(link=sm.families.links.Identity()),
                       cov_struct=sm.cov_struct.Exchangeable())
        result = model.fit(cov_type=cov_type, ctol=1e-12, maxiter=200)
    return result, model.cov_struct.dep_params


def mancl_derouen(responded, y, mu, alpha):
    """Mancl & DeRouen (2001) eq. 5, cluster by cluster: B = (Σ DᵢᵀVᵢ⁻¹Dᵢ)⁻¹,
    Hᵢᵢ = Dᵢ B DᵢᵀVᵢ⁻¹, cov = B [Σ DᵢᵀVᵢ⁻¹ (I − Hᵢᵢ)⁻¹ eᵢeᵢᵀ (I − Hᵢᵢ)⁻ᵀ Vᵢ⁻¹Dᵢ] B."""
    n_t = len(mu)
    clusters = []
    for row_r, row_y in zip(responded, y, strict=True):
        obs = np.flatnonzero(row_r)
        dmat = np.eye(n_t)[obs]
        sd = np.sqrt(mu[obs] * (1 - mu[obs]))
        corr = np.full((len(obs), len(obs)), alpha)
        np.fill_diagonal(corr, 1.0)
        clusters.append((dmat, np.linalg.inv(np.diag(sd) @ corr @ np.diag(sd)), row_y[obs] - mu[obs]))
    bread = np.linalg.inv(sum(d.T @ v @ d for d, v, _ in clusters))
    meat = np.zeros((n_t, n_t))
    for d, v, e in clusters:
        h = d @ bread @ d.T @ v
        adjusted = np.linalg.solve(np.eye(len(e)) - h, e)
        u = d.T @ v @ adjusted
        meat += np.outer(u, u)
    return bread @ meat @ bread


@pytest.mark.parametrize("seed, n", [(1, 25), (2, 40), (3, 60), (4, 33)])
def test_gee_equals_statsmodels_and_mancl_derouen(seed, n):
    responded, y = cohort_arrays(seed, n)
    fit = saturated_gee(responded, y, TIMEPOINTS)
    assert fit.note == ""
    assert fit.n_participants == n and fit.n_observations == int(responded.sum())
    robust, alpha = statsmodels_fit(responded, y, "robust")
    reduced, _ = statsmodels_fit(responded, y, "bias_reduced")
    np.testing.assert_allclose(fit.params, robust.params, rtol=0, atol=1e-8)
    assert fit.alpha == pytest.approx(alpha, abs=1e-8)
    np.testing.assert_allclose(fit.cov_robust, robust.cov_params(), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(fit.cov_bias_reduced, reduced.cov_params(), rtol=1e-6, atol=1e-12)
    # the bias-reduced covariance from the paper's formula, at statsmodels' estimates
    direct = mancl_derouen(responded, y, np.asarray(robust.params), alpha)
    np.testing.assert_allclose(fit.cov_bias_reduced, direct, rtol=1e-5, atol=1e-12)
    # with missing waves the exchangeable GEE is not the per-time-point mean
    means = (y * responded).sum(axis=0) / responded.sum(axis=0)
    assert np.abs(fit.params - means).max() > 1e-4


def test_gee_refuses_the_identity_link_where_it_fails():
    responded, y = cohort_arrays(5, 30)
    y[:, 1] = 0                                             # share 0 at pre2
    fit = saturated_gee(responded, y, TIMEPOINTS)
    assert np.isnan(fit.params).all() and np.isnan(fit.cov_bias_reduced).all()
    assert fit.note.startswith("share 0 at pre2")
    y[:, 1] = 1
    assert saturated_gee(responded, y, TIMEPOINTS).note.startswith("share 1 at pre2")
    responded[:, 2] = False
    assert saturated_gee(responded, y, TIMEPOINTS).note.startswith("no responses at post")
    assert saturated_gee(responded[:1], y[:1], TIMEPOINTS).note == "too few participants (1)"
    responded, y = cohort_arrays(6, 40)
    assert "no convergence in 1 iterations" in saturated_gee(responded, y, TIMEPOINTS, maxiter=1).note
    # two time points nobody answered together: no within-participant pair for α
    alone = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 0]], dtype=bool)
    note = saturated_gee(alone, np.array([[1, 0], [0, 0], [0, 1], [0, 0], [1, 0]]), ["pre2", "post"]).note
    assert note.startswith("too few pairs of answers within participants (0)")


# --------------------------------------------------------------------------- the table

def hand_cohort() -> pd.DataFrame:
    """Six participants; P6 missed pre2. hooked by time point (pre1, pre2, post):
    P1 1 1 0, P2 1 0 0, P3 0 1 0, P4 1 1 1, P5 0 0 1, P6 1 - 0."""
    pattern = {"P1": (1, 1, 0), "P2": (1, 0, 0), "P3": (0, 1, 0), "P4": (1, 1, 1),
               "P5": (0, 0, 1), "P6": (1, None, 0)}
    records = [(pid, tp, "session", "", {"hooked"} if v else set())
               for pid, values in pattern.items() for tp, v in zip(TIMEPOINTS, values, strict=True)
               if v is not None]
    return make_final_codes(records, {"session": ["hooked", "calm"]})


def test_models_table_rows_and_signflip_by_hand():
    questions = {"session": {"timepoints": TIMEPOINTS, "codes": ["hooked", "calm"]},
                 "later": {"timepoints": ["post"], "codes": ["x"]}}
    table = models_table(hand_cohort(), cohort="c", questions=questions, timepoints=TIMEPOINTS,
                         contrasts=CONTRASTS, compare=[["training", "baseline"]])
    assert list(table.columns) == MODELS_COLUMNS == DERIVED_HEADERS["models.csv"]
    hooked = table[table["code"] == "hooked"]
    assert hooked[["term", "method"]].values.tolist() == [
        ["baseline", "gee_bias_reduced"], ["baseline", "gee_bias_reduced_t"],
        ["training", "gee_bias_reduced"], ["training", "gee_bias_reduced_t"],
        ["overall", "gee_bias_reduced"], ["overall", "gee_bias_reduced_t"],
        ["training - baseline", "gee_bias_reduced"], ["training - baseline", "gee_bias_reduced_t"],
        ["training - baseline", "signflip"]]
    assert set(table["question"]) == {"session"}            # asked once: no model
    assert (table["scale"] == "risk_difference").all()
    flip = hooked[hooked["method"] == "signflip"].iloc[0]
    # d = post - 2 pre2 + pre1 for P1..P5: 0-2+1=-1, 0-0+1=1, 0-2+0=-2, 1-2+1=0, 1-0+0=1
    # mean = -1/5; non-zero (-1, 1, -2, 1), observed |S| = 1; S* = ±1 ±1 ±2 ±1 takes
    # |S*| in {5: 2, 3: 6, 1: 8} over 16 patterns, all >= 1: p = 1
    assert flip["estimate"] == pytest.approx(-0.2)
    assert flip["p_value"] == 1.0
    assert flip["n_participants"] == 5 and flip["n_observations"] == 15
    assert "exact p over all 16 sign patterns" in flip["note"]
    gee = hooked[hooked["method"] == "gee_bias_reduced"]
    assert (gee["n_participants"] == 6).all() and (gee["n_observations"] == 17).all()
    # calm is never present: share 0 at every time point, GEE rows empty with the reason;
    # the complete-case rows say there is nothing to test
    calm = table[table["code"] == "calm"]
    assert calm[calm["method"] == "gee_bias_reduced"]["estimate"].isna().all()
    assert calm[calm["method"] == "gee_bias_reduced"]["note"].str.startswith("share 0 at pre1").all()
    calm_flip = calm[calm["method"] == "signflip"].iloc[0]
    assert np.isnan(calm_flip["p_value"]) and "every d is 0" in calm_flip["note"]
    # the contrast rows are linear contrasts of the fitted shares: overall = baseline + training
    est = gee.set_index("term")["estimate"]
    assert est["overall"] == pytest.approx(est["baseline"] + est["training"], abs=1e-12)
    assert est["training - baseline"] == pytest.approx(est["training"] - est["baseline"], abs=1e-12)
    # without compare pairs there are no sign-flip rows
    plain = models_table(hand_cohort(), cohort="c", questions=questions, timepoints=TIMEPOINTS,
                         contrasts=CONTRASTS)
    assert set(plain["method"]) == {"gee_bias_reduced", "gee_bias_reduced_t"}


def test_every_gee_interval_is_estimate_plus_minus_its_reference_quantile_times_se():
    """z(0.975) on the normal rows, t(0.975, K − p) on the t rows (K participants, p time
    points), the SE recovered from the normal row: a 1.645 in place of 1.96, or the wrong
    degrees of freedom, fails here."""
    from scipy import stats

    responded, y = cohort_arrays(5, 14, missing=0.25)
    records = [(f"P{i:02d}", tp, "session", "", {"hooked"} if y[i, t] else set())
               for i in range(len(y)) for t, tp in enumerate(TIMEPOINTS) if responded[i, t]]
    codes = make_final_codes(records, {"session": ["hooked"]})
    table = models_table(codes, cohort="c", questions={"session": {"timepoints": TIMEPOINTS,
                                                                   "codes": ["hooked"]}},
                         timepoints=TIMEPOINTS, contrasts=CONTRASTS, compare=[["training", "baseline"]])
    z = table[table["method"] == "gee_bias_reduced"].set_index("term")
    t = table[table["method"] == "gee_bias_reduced_t"].set_index("term")
    assert list(z.index) == list(t.index) == ["baseline", "training", "overall", "training - baseline"]
    assert z["estimate"].notna().all()
    np.testing.assert_array_equal(t["estimate"], z["estimate"])
    k = int(responded.any(axis=1).sum())
    assert (t["n_participants"] == k).all()
    se = (z["ci_high"] - z["ci_low"]) / 2 / 1.959963984540054
    q_t = stats.t.ppf(0.975, k - len(TIMEPOINTS))
    for rows, q in ((z, 1.959963984540054), (t, q_t)):
        np.testing.assert_allclose(rows["ci_low"], rows["estimate"] - q * se, rtol=0, atol=1e-12)
        np.testing.assert_allclose(rows["ci_high"], rows["estimate"] + q * se, rtol=0, atol=1e-12)
    # SE itself, independent of the table's intervals: c'Σc of the bias-reduced covariance
    arrays_fit = saturated_gee(responded[responded.any(axis=1)], y[responded.any(axis=1)], TIMEPOINTS)
    c = np.array([-1.0, 1.0, 0.0])
    assert se["baseline"] == pytest.approx(float(np.sqrt(c @ arrays_fit.cov_bias_reduced @ c)), rel=1e-10)
    np.testing.assert_allclose(z["p_value"], 2 * stats.norm.sf((z["estimate"] / se).abs()), rtol=1e-10)
    np.testing.assert_allclose(t["p_value"], 2 * stats.t.sf((t["estimate"] / se).abs(), k - 3),
                               rtol=1e-10)
    assert (t["p_value"] > z["p_value"]).all()


@pytest.mark.parametrize("k", [4, 6, 10, 20, 40])
def test_t_to_normal_width_ratio_matches_scipy(k):
    from scipy import stats

    from alliance_pipeline.change.models import wald_row

    rng = np.random.default_rng(k)
    y = rng.random((k, 3)) < 0.5
    y[0], y[1] = [0, 1, 0], [1, 0, 1]  # every time point has both values
    fit = saturated_gee(np.ones((k, 3), dtype=bool), y.astype(int), TIMEPOINTS)
    weights = {"pre2": -1, "post": 1}
    z = wald_row(fit, TIMEPOINTS, weights, 0.95)
    t = wald_row(fit, TIMEPOINTS, weights, 0.95, t_reference=True)
    ratio = (t["ci_high"] - t["ci_low"]) / (z["ci_high"] - z["ci_low"])
    assert ratio == pytest.approx(stats.t.ppf(0.975, k - 3) / stats.norm.ppf(0.975), abs=1e-6)


def test_t_reference_without_degrees_of_freedom_is_empty_with_a_note():
    from alliance_pipeline.change.models import wald_row

    fit = saturated_gee(np.ones((3, 3), dtype=bool), [[0, 1, 0], [1, 0, 1], [0, 0, 1]], TIMEPOINTS)
    row = wald_row(fit, TIMEPOINTS, {"pre1": -1, "post": 1}, 0.95, t_reference=True)
    assert np.isnan(row["ci_low"]) and np.isnan(row["p_value"]) and not np.isnan(row["estimate"])
    assert row["note"] == "3 participants for 3 time points: no degrees of freedom for the t reference"


@pytest.mark.parametrize("seed, n", [(11, 25), (12, 47)])
def test_gee_on_complete_data_has_a_closed_form(seed, n):
    # Everyone answered every time point: one pattern, so Σ DᵢᵀVᵢ⁻¹(yᵢ − μ) = V⁻¹ Σ (yᵢ − μ) = 0
    # gives μ = the time points' means whatever α is; B = V/n, so the robust covariance is
    # Σ rᵢrᵢᵀ / n²; Hᵢᵢ = B V⁻¹ = I/n, so (I − Hᵢᵢ)⁻¹ = n/(n − 1) I and the bias-reduced one is
    # Σ rᵢrᵢᵀ / (n − 1)². For a contrast c, d_i = c'yᵢ: estimate mean d, bias-reduced variance
    # Σ (d_i − mean d)² / (n − 1)².
    responded, y = cohort_arrays(seed, n, missing=0.0)
    fit = saturated_gee(responded, y, TIMEPOINTS)
    np.testing.assert_allclose(fit.params, y.mean(axis=0), rtol=0, atol=1e-12)
    for c in ([-1, 1, 0], [0, -1, 1], [1, -2, 1]):
        d = y @ np.array(c)
        assert np.array(c) @ fit.params == pytest.approx(d.mean(), abs=1e-12)
        ss = ((d - d.mean()) ** 2).sum()
        assert np.array(c) @ fit.cov_robust @ np.array(c) == pytest.approx(ss / n ** 2, rel=1e-9)
        assert np.array(c) @ fit.cov_bias_reduced @ np.array(c) == pytest.approx(ss / (n - 1) ** 2, rel=1e-9)
