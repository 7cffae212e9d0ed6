"""An independent models.csv for tests of the report (#22): written here without the package's
change step, from final_codes.csv, so that the report and the study report can be rendered end
to end before (and independently of) the pipeline's own models step.

- ``signflip`` rows (compare terms only): per participant with every needed time point,
  d = (y_A2 − y_A1) − (y_B2 − y_B1); estimate mean d; p by full enumeration of the 2^m sign
  patterns of the nonzero d (|Σ ±d| ≥ |Σ d|, m ≤ 20 here); interval: the t interval of mean d
  (a test stand-in; the pipeline's own interval may differ).
- ``gee_bias_reduced`` rows (every contrast and compare term): statsmodels ``GEE`` called
  directly (binomial family, identity link, exchangeable, participants as groups, one mean
  per time point, ``cov_type="bias_reduced"``), contrasts L·β with Wald 95 % intervals; empty
  with a note when a time point's share is 0 or 1 (identity link undefined).
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats

COLUMNS = ["cohort", "question", "code", "term", "estimate", "ci_low", "ci_high", "p_value",
           "scale", "n_participants", "n_observations", "method", "note"]
NAN = float("nan")


def _presence(final_codes: pd.DataFrame, question: str) -> pd.DataFrame:
    """participant_id, timepoint, code -> present (any item), one row per answered time point."""
    sub = final_codes[final_codes["question"] == question]
    return (sub.groupby(["participant_id", "timepoint", "code"])["present"].max()
            .astype(int).reset_index())


def signflip_p(d: np.ndarray) -> float:
    """Exact two-sided sign-flip p: the share of the 2^m sign patterns of the nonzero d whose
    |sum| reaches the observed |sum| (a pattern list, not a formula)."""
    nonzero = d[d != 0]
    observed = abs(nonzero.sum())
    hits = sum(abs(np.dot(signs, np.abs(nonzero))) >= observed - 1e-12
               for signs in itertools.product((-1, 1), repeat=len(nonzero)))
    return hits / 2 ** len(nonzero)


def _row(cohort, question, code, term, method, **values):
    base = dict.fromkeys(COLUMNS, NAN)
    base.update(cohort=cohort, question=question, code=code, term=term, method=method,
                scale="risk_difference", note="")
    base.update(values)
    return base


def reference_models(final_codes: pd.DataFrame, *, cohort: str, questions: dict,
                     contrasts: dict, compare: list) -> pd.DataFrame:
    import warnings

    import statsmodels.api as sm

    warnings.filterwarnings("ignore", message="The Identity link function does not respect")

    rows = []
    for question, spec in questions.items():
        tps = list(spec["timepoints"])
        if len(tps) < 2:
            continue
        presence = _presence(final_codes, question)
        for code in spec["codes"]:
            wide = presence[presence["code"] == code].pivot(index="participant_id", columns="timepoint",
                                                            values="present")
            for a, b in compare:
                needed = sorted(set(contrasts[a]) | set(contrasts[b]), key=tps.index)
                cc = wide[needed].dropna()
                d = ((cc[contrasts[a][1]] - cc[contrasts[a][0]])
                     - (cc[contrasts[b][1]] - cc[contrasts[b][0]])).to_numpy(float)
                values = dict(n_participants=len(d), n_observations=len(d) * len(needed))
                if not (d != 0).any():
                    rows.append(_row(cohort, question, code, f"{a} - {b}", "signflip", **values,
                                     estimate=float(d.mean()), note="every d is 0: nothing to test"))
                    continue
                half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
                rows.append(_row(cohort, question, code, f"{a} - {b}", "signflip", **values,
                                 estimate=float(d.mean()), ci_low=float(d.mean() - half),
                                 ci_high=float(d.mean() + half), p_value=signflip_p(d)))
            long = wide.stack().rename("y").reset_index()
            long = long[long["timepoint"].isin(tps)].dropna(subset=["y"])
            shares = long.groupby("timepoint")["y"].mean()
            def weights(*signed):  # time point -> summed weight (pre2 twice in training − baseline)
                out = {}
                for tp, w in signed:
                    out[tp] = out.get(tp, 0) + w
                return out
            terms = {**{name: weights((pair[1], 1), (pair[0], -1)) for name, pair in contrasts.items()},
                     **{f"{a} - {b}": weights((contrasts[a][1], 1), (contrasts[a][0], -1),
                                              (contrasts[b][1], -1), (contrasts[b][0], 1))
                        for a, b in compare}}
            n_values = dict(n_participants=long["participant_id"].nunique(), n_observations=len(long))
            if ((shares == 0) | (shares == 1)).any():
                at = ", ".join(shares.index[(shares == 0) | (shares == 1)])
                for term in terms:
                    rows.append(_row(cohort, question, code, term, "gee_bias_reduced", **n_values,
                                     note=f"share 0 or 1 at {at}: identity link undefined"))
                continue
            long = long.sort_values(["participant_id", "timepoint"])
            exog = pd.get_dummies(long["timepoint"]).reindex(columns=tps).astype(float)
            model = sm.GEE(long["y"].to_numpy(float), exog.to_numpy(), groups=long["participant_id"],
                           family=sm.families.Binomial(link=sm.families.links.Identity()),
                           cov_struct=sm.cov_struct.Exchangeable())
            # start at the observed shares (GLM's own start fails on the identity link)
            fit = model.fit(start_params=shares.reindex(tps).to_numpy(float), cov_type="bias_reduced")
            beta, cov = np.asarray(fit.params), np.asarray(fit.cov_params())
            for term, weights in terms.items():
                L = np.array([weights.get(t, 0) for t in tps], dtype=float)
                estimate, se = float(L @ beta), float(np.sqrt(L @ cov @ L))
                rows.append(_row(cohort, question, code, term, "gee_bias_reduced", **n_values,
                                 estimate=estimate, ci_low=estimate - 1.959963984540054 * se,
                                 ci_high=estimate + 1.959963984540054 * se,
                                 p_value=float(2 * stats.norm.sf(abs(estimate) / se))))
    return pd.DataFrame(rows, columns=COLUMNS)
