"""Seeded generators of synthetic cohorts for benchmarks and workflow tests. NOT REAL DATA.

A generated cohort has the raw layout of the data contract (``responses.csv``,
``codes/<coder>.csv``, ``adjudication.csv``) and is a function of its arguments and seed only.

How it is drawn (vectorised, so 100,000 participants take seconds):

- The *true* code set of every response. Multi-label questions: each code is present with
  the share given for its time point (``shares[question][code][timepoint]``, default a
  seeded share between 0.1 and 0.6). Presence is made persistent within a participant by a
  Gaussian copula: participant i has a latent z_ik ~ N(0, 1) per code k, and at time point t
  the code is present when sqrt(ρ)·z_ik + sqrt(1 − ρ)·e_ikt < Φ⁻¹(share_kt), e ~ N(0, 1)
  independent; ρ = ``stability`` (0: no pairing, 1: everyone as before). Single-label
  questions: one code per response, drawn with the shares as weights.
- A fraction ``missing`` of (participant, time point) responses is left out (never the first
  time point of a question), as pilots lose a participant or two.
- Each coder departs from the truth independently: every code of a response is toggled with
  probability ``error`` (single-label: the code is replaced by another). Where the coders'
  sets differ, ``adjudication.csv`` restores the true set, so the consensus codes are the truth
  (``unresolved: fail`` holds).

:func:`write_study` lays out a whole study folder (config, codebook, raw cohorts) for
``snakemake -s <checkout>/Snakefile -d <folder>``.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

TIMEPOINTS = ["pre1", "pre2", "post"]
CONTRASTS = {"baseline": ["pre1", "pre2"], "training": ["pre2", "post"], "overall": ["pre1", "post"]}


def _code_strings(present: np.ndarray, codes: Sequence[str]) -> np.ndarray:
    """``;``-joined code ids (codebook order) of each row of a boolean (rows × codes) array."""
    n_codes = len(codes)
    if n_codes <= 16:  # a lookup of every subset: one vectorised take instead of a join per row
        masks = present.astype(np.int64) @ (1 << np.arange(n_codes, dtype=np.int64))
        lookup = np.array([";".join(codes[k] for k in range(n_codes) if m >> k & 1)
                           for m in range(1 << n_codes)], dtype=object)
        return lookup[masks]
    return np.array([";".join(codes[k] for k in np.flatnonzero(row)) for row in present], dtype=object)


def default_shares(questions: Mapping[str, Mapping], seed: int) -> dict:
    """Seeded shares in [0.1, 0.6] for every question, code and time point of the question."""
    rng = np.random.default_rng(seed)
    return {q: {code: {t: float(np.round(rng.uniform(0.1, 0.6), 3)) for t in spec["timepoints"]}
                for code in spec["codes"]}
            for q, spec in questions.items()}


def generate_cohort(n_participants: int, *, questions: Mapping[str, Mapping],
                    shares: Mapping | None = None, coders: Sequence[str] = ("coder_a", "coder_b"),
                    seed: int = 1, error: float = 0.03, stability: float = 0.6,
                    missing: float = 0.0, prefix: str = "P") -> dict[str, pd.DataFrame]:
    """Frames of one synthetic cohort: ``responses``, ``codes/<coder>`` per coder, ``adjudication``.

    ``questions``: ``{qid: {"timepoints": [...], "codes": [...], "multi_label": bool}}`` (the
    codebook's questions, e.g. :func:`alliance_pipeline.config.settings.questions_settings`). Returns
    also ``truth`` (response_id, participant_id, question, timepoint, codes): the consensus
    codes the pipeline should arrive at; it is not a raw file.
    """
    rng = np.random.default_rng(seed)
    shares = shares or default_shares(questions, seed + 1)
    width = len(str(n_participants))
    participants = np.array([f"{prefix}{i:0{width}d}" for i in range(1, n_participants + 1)], dtype=object)
    blocks = []
    for qid, spec in questions.items():
        codes, tps = list(spec["codes"]), list(spec["timepoints"])
        latent = rng.standard_normal((n_participants, len(codes)))
        for t_index, tp in enumerate(tps):
            target = np.array([shares.get(qid, {}).get(code, {}).get(tp, 0.3) for code in codes])
            if spec.get("multi_label", True):
                noise = rng.standard_normal((n_participants, len(codes)))
                score = np.sqrt(stability) * latent + np.sqrt(1 - stability) * noise
                truth = score < stats.norm.ppf(np.clip(target, 1e-9, 1 - 1e-9))
            else:
                weights = target / target.sum()
                choice = rng.choice(len(codes), size=n_participants, p=weights)
                truth = np.zeros((n_participants, len(codes)), dtype=bool)
                truth[np.arange(n_participants), choice] = True
            keep = np.ones(n_participants, dtype=bool) if t_index == 0 else rng.random(n_participants) >= missing
            blocks.append((qid, tp, codes, bool(spec.get("multi_label", True)), keep, truth[keep]))
    responses, truth_rows, coded = [], [], {coder: [] for coder in coders}
    adjudication = []
    offset = 0
    for qid, tp, codes, multi, keep, truth in blocks:
        n = int(keep.sum())
        ids = np.array([f"R{i:08d}" for i in range(offset + 1, offset + n + 1)], dtype=object)
        offset += n
        responses.append(pd.DataFrame({"response_id": ids, "participant_id": participants[keep],
                                       "timepoint": tp, "question": qid,
                                       "text": "synthetic response (generated, not real data)"}))
        true_strings = _code_strings(truth, codes)
        truth_rows.append(pd.DataFrame({"response_id": ids, "participant_id": participants[keep],
                                        "question": qid, "timepoint": tp, "codes": true_strings}))
        given_sets = []
        for coder in coders:
            if multi:
                given = truth ^ (rng.random(truth.shape) < error)
            else:
                given = truth.copy()
                swap = np.flatnonzero(rng.random(n) < error)
                if len(codes) > 1 and len(swap):
                    old = truth[swap].argmax(axis=1)
                    new = (old + rng.integers(1, len(codes), size=len(swap))) % len(codes)
                    given[swap] = False
                    given[swap, new] = True
            given_sets.append(given)
            coded[coder].append(pd.DataFrame({"response_id": ids, "codes": _code_strings(given, codes)}))
        differ = np.zeros(n, dtype=bool)
        for given in given_sets[1:]:
            differ |= (given != given_sets[0]).any(axis=1)
        adjudication.append(pd.DataFrame({"response_id": ids[differ], "codes": true_strings[differ],
                                          "rationale": "generated: the true code set"}))
    frames = {"responses": pd.concat(responses, ignore_index=True),
              "adjudication": pd.concat(adjudication, ignore_index=True)}
    for coder, parts in coded.items():
        frames[f"codes/{coder}"] = pd.concat(parts, ignore_index=True)
    frames["truth"] = pd.concat(truth_rows, ignore_index=True)
    return frames


def write_cohort(frames: Mapping[str, pd.DataFrame], folder: str | Path) -> Path:
    """Write a cohort's raw files (every frame but ``truth``) under ``folder``."""
    folder = Path(folder)
    for name, frame in frames.items():
        if name == "truth":
            continue
        path = folder / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False, lineterminator="\n")
    return folder


def paired_counts(truth: pd.DataFrame, question: str, code: str, first: str, second: str) -> dict:
    """n, b (first only), c (second only) of one code between two time points, from ``truth``.

    Independent of the pipeline: the hand count a test compares the pipeline's tables with.
    """
    sub = truth[truth["question"] == question]
    has = sub.assign(x=sub["codes"].str.split(";").map(lambda c: code in c))
    wide = has.pivot(index="participant_id", columns="timepoint", values="x")
    both = wide[[first, second]].dropna().astype(bool)
    return {"n": int(len(both)), "b": int((both[first] & ~both[second]).sum()),
            "c": int((~both[first] & both[second]).sum())}


def bench_codebook(n_codes: int = 10, timepoints: Sequence[str] = TIMEPOINTS) -> dict:
    """A codebook with one multi-label question of ``n_codes`` codes asked at every time point."""
    return {"version": "bench", "questions": {"session_experience": {
        "prompt": "How did you experience the interaction with the client?",
        "timepoints": list(timepoints), "multi_label": True,
        "codes": {f"code{k:02d}": {"label": f"Code {k}", "definition": "generated"}
                  for k in range(1, n_codes + 1)}}}}


def write_study(root: str | Path, cohorts: Mapping[str, Mapping[str, pd.DataFrame]], *,
                codebook: Mapping, base_config: Mapping | None = None,
                cohort_entries: Mapping[str, Mapping] | None = None) -> Path:
    """A study folder for ``snakemake -d root``: config/config.yaml, config/codebook.yaml and
    data/raw/<cohort>/ per cohort. ``base_config`` (e.g. the repository's config) gives the
    study, analysis and other blocks; its cohorts and ``published`` are replaced."""
    root = Path(root)
    config = copy.deepcopy(dict(base_config or {
        "study": {"title": "Benchmark study (synthetic)", "timepoints": TIMEPOINTS,
                  "contrasts": CONTRASTS, "compare": [["training", "baseline"]]}}))
    config["codebook"] = "config/codebook.yaml"
    config.pop("published", None)
    config["cohorts"] = {}
    for name, frames in cohorts.items():
        write_cohort(frames, root / "data" / "raw" / name)
        entry = {"raw": f"data/raw/{name}", "label": f"Generated cohort {name}", "synthetic": True}
        entry.update((cohort_entries or {}).get(name, {}))
        config["cohorts"][name] = entry
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
                                                 encoding="utf-8")
    (root / "config" / "codebook.yaml").write_text(yaml.safe_dump(dict(codebook), sort_keys=False,
                                                                  allow_unicode=True), encoding="utf-8")
    return root
