"""The saturated time-point GEE of one binary code, vectorised by pattern of answered time points.

Model (Liang & Zeger 1986): E[y_it] = μ_t for participant i at time point t (one parameter
per time point, identity link, so μ_t is the share and a contrast of μ's a risk difference),
binomial variance v_t = μ_t(1 − μ_t), exchangeable working correlation α, participants as
clusters, every answered time point used (all available data). Equivalent to statsmodels
``GEE(y, one-hot(timepoint), groups=participant, family=Binomial(link=identity),
cov_struct=Exchangeable())`` and R's ``geepack::geeglm(y ~ 0 + timepoint, id = participant,
family = binomial("identity"), corstr = "exchangeable")``; the tests check both.

Why by pattern: with a saturated mean, participants who answered the same set of time
points share μ, V and the hat matrix, so every cluster sum becomes a sum over at most
2^T − 1 patterns of per-pattern totals S_p = Σ y_i and cross-products Q_p = Σ y_i y_iᵀ.
statsmodels loops over clusters in Python (minutes for 100,000 participants × 10 codes);
this takes milliseconds.

- Fisher scoring: β ← β + (Σ D_iᵀV_i⁻¹D_i)⁻¹ Σ D_iᵀV_i⁻¹(y_i − μ_i), D_i the rows of the
  identity for i's time points, V_i = A_i^½ R_i(α) A_i^½, scale φ = 1 (as statsmodels fixes
  it for the binomial; it cancels from β and the sandwich).
- α by moments exactly as statsmodels' ``Exchangeable.update``: Pearson residuals
  r_it = (y_it − μ_t)/√v_t, φ̂ = Σ r²/(N − p), α = Σ_{i, j<k} r_ij r_ik / [φ̂ (N_pairs − p)]
  (N observations, p parameters). geepack divides slightly differently, hence its α differs
  in the fourth decimal and its contrasts by ~1e-4.
- Robust (sandwich) covariance B M B, B = (Σ D_iᵀV_i⁻¹D_i)⁻¹, M = Σ D_iᵀV_i⁻¹ r_i r_iᵀ V_i⁻¹D_i;
  bias-reduced (Mancl & DeRouen 2001, Biometrics 57:126-134): r_i replaced by
  (I − H_ii)⁻¹ r_i, H_ii = D_i B D_iᵀ V_i⁻¹ (statsmodels' ``cov_type="bias_reduced"``).

A fit that cannot be made on the identity link returns NaNs and a note, never another model:
no responses at a time point, a share of 0 or 1 at a time point (v_t = 0), a fitted share
outside [0, 1], α outside the range where R is positive definite, no convergence.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NAN = float("nan")


@dataclass(frozen=True)
class GeeFit:
    """One code's fit: shares per time point and their covariances (NaN when ``note``)."""

    params: np.ndarray
    cov_robust: np.ndarray
    cov_bias_reduced: np.ndarray
    alpha: float
    iterations: int
    n_participants: int
    n_observations: int
    note: str = ""


@dataclass(frozen=True)
class _Patterns:
    masks: np.ndarray      # (P, T) bool: time points answered in pattern p
    counts: np.ndarray     # (P,) participants with pattern p
    sums: np.ndarray       # (P, T) Σ y over the pattern's participants
    cross: np.ndarray      # (P, T, T) Σ y yᵀ over the pattern's participants


def _patterns(responded: np.ndarray, y: np.ndarray) -> _Patterns:
    n_t = responded.shape[1]
    key = responded.astype(np.int64) @ (np.int64(1) << np.arange(n_t, dtype=np.int64))
    codes, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    masks = ((codes[:, None] >> np.arange(n_t)) & 1).astype(bool)
    sums = np.zeros((len(codes), n_t))
    cross = np.zeros((len(codes), n_t, n_t))
    for p in range(len(codes)):
        rows = y[inverse == p]
        sums[p] = rows.sum(axis=0)
        cross[p] = rows.T @ rows
    return _Patterns(masks, counts, sums, cross)


def _working_inverse(mu: np.ndarray, alpha: float, idx: np.ndarray) -> np.ndarray:
    sd = np.sqrt(mu[idx] * (1 - mu[idx]))
    k = len(idx)
    corr = (1 - alpha) * np.eye(k) + alpha * np.ones((k, k))
    return np.linalg.inv(corr * np.outer(sd, sd))


def _residual_cross(pat: _Patterns, p: int, mu: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Σ_i r_i r_iᵀ over pattern p's participants, r_i = y_i − μ (raw residuals)."""
    s, m = pat.sums[p, idx], mu[idx]
    return (pat.cross[p][np.ix_(idx, idx)] - np.outer(m, s) - np.outer(s, m)
            + pat.counts[p] * np.outer(m, m))


def _exchangeable_alpha(pat: _Patterns, mu: np.ndarray, n_params: int) -> tuple[float, str]:
    """statsmodels' moment estimate of α (see the module docstring), or NaN and why not."""
    ssr = cross_sum = 0.0
    n_obs = n_pairs = 0
    sd = np.sqrt(mu * (1 - mu))
    for p, mask in enumerate(pat.masks):
        idx = np.flatnonzero(mask)
        k = len(idx)
        resid = _residual_cross(pat, p, mu, idx) / np.outer(sd[idx], sd[idx])
        ssr += float(np.trace(resid))
        cross_sum += float(resid.sum() - np.trace(resid)) / 2
        n_obs += int(pat.counts[p]) * k
        n_pairs += int(pat.counts[p]) * k * (k - 1) // 2
    if n_pairs - n_params <= 0 or n_obs - n_params <= 0:
        return NAN, (f"too few pairs of answers within participants ({n_pairs}) to estimate the "
                     "working correlation: model not fitted")
    scale = ssr / (n_obs - n_params)
    alpha = cross_sum / scale / (n_pairs - n_params)
    return alpha, ""


def _empty(n_t: int, n_participants: int, n_observations: int, note: str,
           alpha: float = NAN, iterations: int = 0) -> GeeFit:
    nan = np.full(n_t, NAN)
    return GeeFit(nan, np.full((n_t, n_t), NAN), np.full((n_t, n_t), NAN), alpha, iterations,
                  n_participants, n_observations, note)


def saturated_gee(responded: np.ndarray, y: np.ndarray, timepoints: Sequence[str], *,
                  maxiter: int = 100, tol: float = 1e-10) -> GeeFit:
    """Fit the saturated time-point GEE of one binary code (all available data).

    Parameters
    ----------
    responded : array_like of bool, shape (participants, time points)
        Whether participant i answered at time point t; participants with no answer are left
        out.
    y : array_like of int, shape (participants, time points)
        The code, 0/1 (ignored where not answered).
    timepoints : sequence of str
        Names of the columns (for the notes).
    maxiter : int, default 100
        Maximum Fisher scoring iterations.
    tol : float, default 1e-10
        Convergence when the largest step is below ``tol``.

    Returns
    -------
    GeeFit
        ``params`` (the share μ_t per time point), ``cov_robust`` (sandwich),
        ``cov_bias_reduced`` (Mancl–DeRouen), ``alpha``, ``iterations``, ``n_participants``,
        ``n_observations`` and ``note``; NaN estimates with the reason in ``note`` when the
        model cannot be fitted on the identity link (see the module docstring).

    Notes
    -----
    E[y_it] = μ_t (identity link), binomial variance v_t = μ_t (1 − μ_t), exchangeable working
    correlation α (Liang & Zeger 1986), participants as clusters. Fisher scoring
    β ← β + (Σ D_iᵀV_i⁻¹D_i)⁻¹ Σ D_iᵀV_i⁻¹(y_i − μ_i) with V_i = A_i^½ R_i(α) A_i^½; α by
    moments as statsmodels' ``Exchangeable``: Pearson residuals r_it, φ̂ = Σ r² / (N − p),
    α = Σ_{i, j<k} r_ij r_ik / [φ̂ (N_pairs − p)]. Covariances B M B with
    B = (Σ D_iᵀV_i⁻¹D_i)⁻¹, M = Σ D_iᵀV_i⁻¹ r_i r_iᵀ V_i⁻¹D_i; bias-reduced: r_i replaced by
    (I − H_ii)⁻¹ r_i, H_ii = D_i B D_iᵀ V_i⁻¹. Computed per pattern of answered time points.
    Equivalent to statsmodels' ``GEE(..., cov_struct=Exchangeable())`` with
    ``cov_type="bias_reduced"``.

    References
    ----------
    .. [1] Liang, K.-Y. & Zeger, S. L. (1986). Longitudinal data analysis using generalized
       linear models. Biometrika, 73(1), 13-22.
    .. [2] Mancl, L. A. & DeRouen, T. A. (2001). A covariance estimator for GEE with improved
       small-sample properties. Biometrics, 57(1), 126-134.
       doi:10.1111/j.0006-341X.2001.00126.x

    Examples
    --------
    Four participants answer at both time points. With complete data the shares are the
    sample means (1/4, 3/4), the robust variance of μ_2 − μ_1 is Σ(d_i − d̄)² / N² = 1/16
    (d = y_2 − y_1 = 1, 1, 0, 0), and the bias-reduced one (N / (N − 1))² times that = 1/9,
    since H_ii = I / N. The Pearson residuals give φ̂ = 8/6 and α = (4/3) / φ̂ / (4 − 2):

    >>> import numpy as np
    >>> from alliance_pipeline.change.gee import saturated_gee
    >>> y = np.array([[0, 1], [0, 1], [1, 1], [0, 0]])
    >>> fit = saturated_gee(np.ones((4, 2), dtype=bool), y, ["pre", "post"])
    >>> fit.params.round(4).tolist(), round(fit.alpha, 4)
    ([0.25, 0.75], 0.5)
    >>> c = np.array([-1, 1])
    >>> print(f"{c @ fit.cov_robust @ c:.4f} {c @ fit.cov_bias_reduced @ c:.4f}")
    0.0625 0.1111

    A share of 1 at a time point leaves the identity-link variance 0 there:

    >>> saturated_gee(np.ones((2, 2), dtype=bool), [[0, 1], [1, 1]], ["pre", "post"]).note
    'share 1 at post: the identity-link binomial variance μ(1 − μ) is 0 there, so the model is not fitted'
    """
    responded = np.asarray(responded, dtype=bool)
    keep = responded.any(axis=1)
    responded = responded[keep]
    y = np.where(responded, np.asarray(y, dtype=float)[keep], 0.0)
    n_i, n_t = responded.shape
    n_obs = int(responded.sum())
    answered = responded.sum(axis=0)
    if n_i < 2:
        return _empty(n_t, n_i, n_obs, f"too few participants ({n_i})")
    silent = [tp for tp, n in zip(timepoints, answered, strict=True) if n == 0]
    if silent:
        return _empty(n_t, n_i, n_obs, f"no responses at {', '.join(silent)}: model not fitted")
    mu = y.sum(axis=0) / answered
    for bound in (0, 1):
        at = [tp for tp, m in zip(timepoints, mu, strict=True) if m == bound]
        if at:
            return _empty(n_t, n_i, n_obs,
                          f"share {bound} at {', '.join(at)}: the identity-link binomial variance "
                          "μ(1 − μ) is 0 there, so the model is not fitted")
    pat = _patterns(responded, y)
    k_max = int(pat.masks.sum(axis=1).max())
    alpha, converged, iteration = 0.0, False, 0
    for iteration in range(1, maxiter + 1):
        alpha, why = _exchangeable_alpha(pat, mu, n_t)
        if why:
            return _empty(n_t, n_i, n_obs, why, alpha, iteration)
        if not (-1 / max(k_max - 1, 1) < alpha < 1):
            return _empty(n_t, n_i, n_obs, f"working correlation α = {alpha:.3g} is not a "
                          f"correlation of {k_max} answers: model not fitted", alpha, iteration)
        info, score = np.zeros((n_t, n_t)), np.zeros(n_t)
        for p, mask in enumerate(pat.masks):
            idx = np.flatnonzero(mask)
            vinv = _working_inverse(mu, alpha, idx)
            info[np.ix_(idx, idx)] += pat.counts[p] * vinv
            score[idx] += vinv @ (pat.sums[p, idx] - pat.counts[p] * mu[idx])
        step = np.linalg.solve(info, score)
        mu = mu + step
        if ((mu <= 0) | (mu >= 1)).any():
            return _empty(n_t, n_i, n_obs, "a fitted share left (0, 1) on the identity link: "
                          "model not fitted", alpha, iteration)
        if np.abs(step).max() < tol:
            converged = True
            break
    if not converged:
        return _empty(n_t, n_i, n_obs, f"no convergence in {maxiter} iterations", alpha, iteration)
    return _sandwiches(pat, mu, alpha, n_i, n_obs, iteration)


def _sandwiches(pat: _Patterns, mu: np.ndarray, alpha: float, n_i: int, n_obs: int,
                iterations: int) -> GeeFit:
    n_t = len(mu)
    info = np.zeros((n_t, n_t))
    parts = []
    for p, mask in enumerate(pat.masks):
        idx = np.flatnonzero(mask)
        vinv = _working_inverse(mu, alpha, idx)
        info[np.ix_(idx, idx)] += pat.counts[p] * vinv
        parts.append((idx, vinv, _residual_cross(pat, p, mu, idx)))
    bread = np.linalg.inv(info)
    meat, meat_br = np.zeros((n_t, n_t)), np.zeros((n_t, n_t))
    for idx, vinv, rr in parts:
        meat[np.ix_(idx, idx)] += vinv @ rr @ vinv
        hat = bread[np.ix_(idx, idx)] @ vinv
        try:
            g = np.linalg.inv(np.eye(len(idx)) - hat)
        except np.linalg.LinAlgError:
            return _empty(n_t, n_i, n_obs, "bias-reduced covariance undefined (I − H singular)",
                          alpha, iterations)
        meat_br[np.ix_(idx, idx)] += vinv @ g @ rr @ g.T @ vinv
    return GeeFit(mu, bread @ meat @ bread, bread @ meat_br @ bread, float(alpha), iterations,
                  n_i, n_obs)
