"""The bad-input corpus (tests/corpus/cases.yaml) run against the whole workflow.

Each case mutates a fresh copy of config/ and the raw pilot, runs Snakemake up to the target
the case needs, and checks the outcome: a clean run with the right numbers, or a non-zero
exit whose output carries the expected message. In every case the raw files are
byte-identical afterwards and no derived file is left half-written.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import yaml

from conftest import derived_problems, pilot_copy, raw_hashes, run_workflow

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))["cases"]
RAW = "data/raw/pilot"
DERIVED = "data/derived/pilot"
TARGETS = {
    "intake": [f"{DERIVED}/{t}.csv" for t in ("responses", "codings", "adjudication", "coverage")],
    "disagreements": [f"{DERIVED}/disagreements.csv"],
    "final_codes": [f"{DERIVED}/final_codes.csv"],
    "proportions": [f"{DERIVED}/proportions.csv"],
}

pytestmark = pytest.mark.workflow


# --- mutations -----------------------------------------------------------------------------

def _path(root: Path, name: str) -> Path:
    return root / name if name.startswith(("config/", "data/")) else root / RAW / name


def _raw_csvs(root: Path) -> list[Path]:
    raw = root / RAW
    return [p for p in [raw / "responses.csv", *sorted((raw / "codes").glob("*.csv")),
                        raw / "adjudication.csv"] if p.is_file()]


def _files(root: Path, name: str) -> list[Path]:
    return _raw_csvs(root) if name == "*" else [_path(root, name)]


def _read_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))


def _write_rows(path: Path, rows: list[list[str]], delimiter: str = ",") -> None:
    # "\r\n" when a cell holds a bare "\r": with "\n" the csv module would not quote it
    crlf = any("\r" in cell for row in rows for cell in row)
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8"))


def step_replace(root, name, old, new):
    path = _path(root, name)
    text = path.read_bytes().decode("utf-8")
    assert text.count(old) == 1, f"{name}: {old!r} occurs {text.count(old)} times"
    path.write_bytes(text.replace(old, new).encode("utf-8"))


def step_append(root, name, text):
    path = _path(root, name)
    path.write_bytes(path.read_bytes() + text.encode("utf-8"))


def step_write(root, name, text):
    path = _path(root, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def step_remove(root, name):
    _path(root, name).unlink()


def step_set_text(root, response_id, text, length=None):
    if length:
        text = (text * (length // len(text) + 1))[:length]
    path = root / RAW / "responses.csv"
    rows = _read_rows(path)
    column = rows[0].index("text")
    (row,) = [r for r in rows if r[0] == response_id]
    row[column] = text
    _write_rows(path, rows)


def step_drop_column(root, name, column):
    path = _path(root, name)
    rows = _read_rows(path)
    index = rows[0].index(column)
    _write_rows(path, [r[:index] + r[index + 1:] for r in rows])


def step_delimiter(root, name, delimiter):
    path = _path(root, name)
    _write_rows(path, _read_rows(path), delimiter=delimiter)


def step_drop_responses(root, *response_ids):
    for path in _raw_csvs(root):
        rows = _read_rows(path)
        kept = [rows[0]] + [r for r in rows[1:] if r and r[0] not in response_ids]
        assert len(kept) < len(rows) or path.name == "adjudication.csv", path
        _write_rows(path, kept)


def step_reencode(root, name, encoding):
    for path in _files(root, name):
        path.write_bytes(path.read_bytes().decode("utf-8").encode(encoding))


def step_crlf(root, name):
    for path in _files(root, name):
        data = path.read_bytes()
        assert b"\r" not in data
        path.write_bytes(data.replace(b"\n", b"\r\n"))


def step_yaml_set(root, name, key, value):
    path = _path(root, name)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    node = document
    *parents, last = key.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")


STEPS = {name[len("step_"):]: func for name, func in globals().items() if name.startswith("step_")}


def apply(root: Path, steps: list[dict]) -> None:
    for step in steps:
        ((kind, args),) = step.items()
        args = args if isinstance(args, list) else [args]
        STEPS[kind](root, *args)


# --- expected numbers, by hand from the mutated raw files ----------------------------------

def raw_table(path: Path, encoding: str) -> list[dict]:
    codec = "utf-8-sig" if encoding in ("utf-8", "utf8") else encoding
    text = path.read_bytes().decode(codec)
    return [{k.strip(): v for k, v in row.items() if k and k.strip()}
            for row in csv.DictReader(io.StringIO(text, newline=""))]


def hand_share(root: Path, encoding: str, question: str, code: str, timepoint: str) -> tuple[int, int]:
    """(k, n): participants whose final codes for ``question`` at ``timepoint`` include ``code``.

    Final codes: the adjudicated codes if adjudication.csv has the response, else the codes
    all its coders gave (the case must not leave a disagreement unresolved).
    """
    raw = root / RAW
    responses = [r for r in raw_table(raw / "responses.csv", encoding)
                 if r["question"].strip() == question and r["timepoint"].strip() == timepoint]
    coders = [{r["response_id"].strip(): r["codes"] for r in raw_table(p, encoding)}
              for p in sorted((raw / "codes").glob("*.csv"))]
    adjudicated = {}
    if (raw / "adjudication.csv").is_file():
        adjudicated = {r["response_id"].strip(): r["codes"]
                       for r in raw_table(raw / "adjudication.csv", encoding)}
    with_code = {}
    for response in responses:
        rid = response["response_id"].strip()
        if rid in adjudicated:
            final = adjudicated[rid]
        else:
            given = {frozenset(c.strip() for c in coder[rid].split(";") if c.strip())
                     for coder in coders if rid in coder}
            assert len(given) == 1, f"{rid}: coders disagree and no adjudication"
            final = ";".join(given.pop())
        has = code in {c.strip() for c in final.split(";")}
        participant = response["participant_id"].strip()
        with_code[participant] = with_code.get(participant, False) or has
    return sum(with_code.values()), len(with_code)


def derived_rows(root: Path, name: str) -> list[dict]:
    text = (root / DERIVED / name).read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def check_ok(root: Path, case: dict) -> None:
    checks = case.get("checks", {})
    config = yaml.safe_load((root / "config/config.yaml").read_text(encoding="utf-8"))
    encoding = config["cohorts"]["pilot"].get("encoding", "utf-8")
    if "shares" in checks:
        proportions = {(r["question"], r["code"], r["timepoint"]): r
                       for r in derived_rows(root, "proportions.csv")}
        for question, code, timepoint in checks["shares"]:
            k, n = hand_share(root, encoding, question, code, timepoint)
            row = proportions[(question, code, timepoint)]
            assert (int(row["k"]), int(row["n"])) == (k, n), (question, code, timepoint)
            assert float(row["proportion"]) == pytest.approx(k / n, rel=1e-12)
    if "text_exact" in checks:
        raw_texts = {r["response_id"].strip(): r["text"]
                     for r in raw_table(root / RAW / "responses.csv", encoding)}
        derived = {r["response_id"]: r["text"] for r in derived_rows(root, "responses.csv")}
        for rid in checks["text_exact"]:
            assert derived[rid] == raw_texts[rid], rid
    if "worksheet_text" in checks:
        assert (root / DERIVED / "disagreements.csv").read_bytes().startswith(b"\xef\xbb\xbf")
        sheet = {r["response_id"]: r["text"] for r in derived_rows(root, "disagreements.csv")}
        for rid, text in checks["worksheet_text"].items():
            assert sheet[rid] == text, rid
    if "coverage" in checks:
        coverage = {r["coder"]: int(r["n_missing"]) for r in derived_rows(root, "coverage.csv")}
        assert coverage == checks["coverage"]


def _param(case):
    # strict: a known gap that gets fixed (XPASS) fails too, so the case is updated honestly
    marks = [pytest.mark.xfail(reason=case["xfail"], strict=True)] if case.get("xfail") else []
    return pytest.param(case, id=case["name"], marks=marks)


def test_a_known_gap_is_a_strict_xfail():
    # an xfail case that starts to pass (the gap fixed, or a new gap hiding it) must fail the run
    (mark,) = _param({"name": "gap", "xfail": "message not given yet"}).marks
    assert mark.name == "xfail" and mark.kwargs["strict"] is True
    assert not _param({"name": "fine"}).marks


def test_the_corpus_has_at_least_30_distinct_cases():
    names = [c["name"] for c in CASES]
    assert len(names) >= 30 and len(set(names)) == len(names)
    for case in CASES:
        assert case["expect"] in ("ok", "error") and case["target"] in TARGETS, case["name"]
        assert case.get("message") if case["expect"] == "error" else case.get("checks"), case["name"]
        for step in case["steps"]:
            assert len(step) == 1 and next(iter(step)) in STEPS, (case["name"], step)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(case, tmp_path):
    root = pilot_copy(tmp_path / "study")
    apply(root, case["steps"])
    before = raw_hashes(root)

    result = run_workflow(root, *TARGETS[case["target"]])
    output = result.stdout + result.stderr

    assert raw_hashes(root) == before, "raw files changed"
    assert derived_problems(root) == []
    if case["expect"] == "error":
        assert result.returncode != 0, output[-3000:]
        missing = [m for m in case["message"] if m not in output]
        assert not missing, f"not in the output: {missing}\n{output[-4000:]}"
        assert "unexpected failure" not in output, output[-4000:]
    else:
        assert result.returncode == 0, output[-4000:]
        check_ok(root, case)
