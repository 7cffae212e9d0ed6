"""runner.run: how a script's step is run, logged and failed."""
from __future__ import annotations

import gc
from types import SimpleNamespace

import pytest

from alliance_pipeline.common.runner import run


def fake_snakemake(tmp_path):
    return SimpleNamespace(log=[str(tmp_path / "logs" / "step.log")], output=[str(tmp_path / "out.csv")],
                           rule="demo")


def test_step_runs_with_the_imported_objects_frozen_and_unfrozen_after(tmp_path):
    before = gc.get_freeze_count()
    seen = {}

    def step(smk, log):
        seen["frozen"] = gc.get_freeze_count()
        log.info("working")

    run(fake_snakemake(tmp_path), step)
    assert seen["frozen"] > before   # the modules imported so far are out of the collector's view
    assert gc.get_freeze_count() == before
    assert "INFO working" in (tmp_path / "logs" / "step.log").read_text(encoding="utf-8")


def test_expected_problem_exits_1_with_its_message_and_unfreezes(tmp_path, capsys):
    before = gc.get_freeze_count()

    def step(smk, log):
        raise ValueError("responses.csv, row 3, column text: empty")

    with pytest.raises(SystemExit) as stop:
        run(fake_snakemake(tmp_path), step)
    assert stop.value.code == 1
    assert gc.get_freeze_count() == before
    assert "ERROR in demo: responses.csv, row 3, column text: empty" in capsys.readouterr().err
    assert "ERROR responses.csv, row 3" in (tmp_path / "logs" / "step.log").read_text(encoding="utf-8")


def test_garbage_cycles_made_by_the_step_are_still_collected(tmp_path):
    collected = {}

    def step(smk, log):
        class Node:
            pass
        a, b = Node(), Node()
        a.other, b.other = b, a        # a reference cycle only the collector can free
        del a, b
        collected["n"] = gc.collect()

    run(fake_snakemake(tmp_path), step)
    assert collected["n"] >= 2
