"""The mutation fuzzer (tests/fuzz/fuzzer.py, issue 11) at its CI budget, and checks that its
net catches what it must (a silent change, a traceback, a hang, a misleading refusal).

CI runs ``FUZZ_CASES`` cases (300 by default) from seed ``FUZZ_SEED`` (1) in-process, and two
of them through the whole workflow. ``make fuzz`` runs 2000; ``make fuzz SEED=<n>`` reruns
one case and prints it in full. A failure lists every failing case with its seed.
"""
from __future__ import annotations

import os
import time

import pytest

from conftest import SNAKEMAKE
from fuzz import fuzzer

CASES = int(os.environ.get("FUZZ_CASES", "300"))
FIRST_SEED = int(os.environ.get("FUZZ_SEED", "1"))


def test_the_ci_budget_has_no_traceback_hang_or_unexplained_change(tmp_path):
    outcomes = fuzzer.fuzz(CASES, FIRST_SEED, tmp_path)
    failed = [o.line() for o in outcomes if o.status in fuzzer.FAILURES]
    assert not failed, ("\n".join(failed) + "\nreproduce one: make fuzz SEED=<seed>")
    statuses = {o.status for o in outcomes}
    # the budget reaches every kind of input and both sides of the net
    assert {o.kind for o in outcomes} == set(fuzzer.KINDS)
    assert {"identical", "refused", "changed"} <= statuses, statuses


@pytest.mark.workflow
@pytest.mark.parametrize("seed", [FIRST_SEED + 3, FIRST_SEED + 6])  # a pilot and a survey case
def test_a_sample_agrees_with_the_whole_workflow(seed, tmp_path):
    outcome, problem = fuzzer.workflow_case(seed, tmp_path, SNAKEMAKE)
    assert not problem, outcome.line() + "\n" + problem


# --- the net itself --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    return fuzzer.prepare(tmp_path_factory.mktemp("fuzz"))["pilot"]


def test_a_dropped_adjudication_is_an_unexpected_change(baseline):
    """Issue 11 item 1 as the fuzzer would have seen it: the run succeeds, the final codes of
    the adjudicated responses are the coders' (here: a coder's), not adjudication.csv's."""
    folder, cohort, tables = baseline
    silent = {**tables, "adjudication": {}}
    silent["final"] = {**tables["final"], "R002": frozenset({"hooked"})}
    status, detail = fuzzer.classify({"outcome": "ok", "tables": silent, "warnings": []},
                                     "reference", tables, folder, cohort,
                                     "data/raw/pilot/adjudication.csv")
    assert status == "unexpected"
    assert "adjudication: 9 difference(s): R002" in detail


def test_a_refusal_blaming_another_file_is_flagged(baseline):
    folder, cohort, tables = baseline
    result = {"outcome": "refused", "error": "IntakeError", "longest": 90, "files": [],
              "message": "data/raw/pilot/codes/coder_b.csv, row 12, column response_id: 'R011' "
                         "is not a response_id of responses.csv"}
    assert fuzzer.classify(result, "reference", tables, folder, cohort,
                           "data/raw/pilot/adjudication.csv")[0] == "unexpected"
    assert fuzzer.classify(result, "reference", tables, folder, cohort,
                           "data/raw/pilot/responses.csv")[0] == "refused"


def test_a_traceback_and_a_hang_are_caught(monkeypatch, baseline, tmp_path):
    folder, cohort, tables = baseline

    def broken(root, cohort):
        raise KeyError("text")

    monkeypatch.setattr(fuzzer, "pipeline", broken)
    result = fuzzer.run_in_child(folder, cohort, timeout=30)
    assert result["outcome"] == "traceback" and "KeyError: 'text'" in result["message"]

    monkeypatch.setattr(fuzzer, "pipeline", lambda root, cohort: time.sleep(60))
    assert fuzzer.run_in_child(folder, cohort, timeout=1)["outcome"] == "hang"


def test_the_same_seed_makes_the_same_mutation(tmp_path):
    made = []
    for name in ("a", "b"):
        root = tmp_path / name
        fuzzer.build_pilot(root)
        kind, file, what, expect, touched = fuzzer.mutate(12345, root, "pilot")
        made.append(((kind, file, what, expect), fuzzer._hashes(root)))
    assert made[0] == made[1]
