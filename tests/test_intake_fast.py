"""The column-at-a-time intake (issue #25) against the record-by-record one, on seeded data.

Independent references: the ``csv`` module's record-by-record reading
(``parse_csv(strict=True)``, the fallback, unchanged from before) for the CSV reader; the
checks as they were before, one row at a time (tests/intake_reference.py) for the checks of
responses, coder files, adjudication and the privacy scan; ``DataFrame.to_csv`` for the
writer of the derived tables. Every generated input, valid or not, must give the same frame
(values, dtypes, spreadsheet rows) and the same messages in the same order.
"""
import csv
import io
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import intake_reference as reference
from alliance_pipeline.common.privacy import (
    participant_id_problem,
    participant_id_problems,
    scan_texts,
)
from alliance_pipeline.common.tables import _csv_text, _lines
from alliance_pipeline.config import load as study_config
from alliance_pipeline.config.settings import questions_settings
from alliance_pipeline.intake.checks import codes, responses
from alliance_pipeline.intake.read.csv_fast import fast_records
from alliance_pipeline.intake.read.csv_parser import parse_csv

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = questions_settings(study_config.load_yaml(REPO / "config/codebook.yaml"))
TIMEPOINTS = ["pre1", "pre2", "post"]
PATTERN = r"[A-Za-z][A-Za-z0-9_-]{0,31}"

# Pieces of raw CSV text: separators, quotes in and out of place, line ends of every kind,
# whitespace (ASCII, full-width, NEL, line separator), a byte-order mark, letters.
TOKENS = ["a", "b", "7", ",", '"', '""', "\n", "\r\n", "\r", " ", "\t", "\u3000", "日本",
          '"x,y"', 'p"q', ",,", "\ufeff", "\x85", "\u2028", "\x1a", "\x0b", "é"]
CELLS = ["", " ", "x", "a b", "x,y", 'say "hi"', "two\nlines", "cr\r\nlf", "日本語", " pad ",
         "=1+1", "\u3000", "R1", "P01"]


def strict_counts(text: str) -> list[int] | None:
    """The number of cells of each record as the csv module's strict reader reads them (None
    when it refuses the text): the reference for csv_fast's cell counts."""
    try:
        return list(map(len, csv.reader(io.StringIO(text, newline=""), strict=True)))
    except csv.Error:
        return None


def assert_counts_when_fast(text: str) -> None:
    """When pandas' reading is taken, each record's cells are counted as the csv module's
    strict reader counts them, and pandas has the csv module's records."""
    fast = fast_records(text)
    if fast is not None:
        assert fast.cells.tolist() == strict_counts(text), text
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        assert [row[:len(r)] for row, r in zip(fast.records.values.tolist(), records, strict=True)
                ] == records, text


def assert_same_reading(text: str, required: list[str], optional=(), **options) -> None:
    fast, fast_problems = parse_csv(text, "f.csv", required, optional, **options)
    strict, strict_problems = parse_csv(text, "f.csv", required, optional, strict=True, **options)
    assert fast_problems == strict_problems, text
    if strict is None:
        assert fast is None, text
    else:
        pd.testing.assert_frame_equal(fast, strict)


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(TOKENS) for _ in range(rng.randint(0, 30)))


def written_csv(rng: random.Random, header: list[str]) -> str:
    """A CSV file as Python's csv module writes it (as a spreadsheet would), sometimes with
    blank lines, short or long records, Excel's trailing empty columns and no final line end."""
    line_end = rng.choice(["\n", "\r\n"])
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=line_end)
    trailing = [""] * rng.choice([0, 0, 2])
    writer.writerow(header + trailing)
    for _ in range(rng.randint(0, 8)):
        roll = rng.random()
        if roll < 0.08:
            buffer.write(line_end)  # a blank line
            continue
        width = len(header) + len(trailing) + (rng.choice([-1, 1]) if roll < 0.15 else 0)
        writer.writerow([rng.choice(CELLS) for _ in range(max(width, 0))])
    text = buffer.getvalue()
    return text.rstrip("\r\n") if rng.random() < 0.1 else text


@pytest.mark.parametrize("seed", range(4))
def test_random_text_reads_as_the_csv_module_reads_it(seed):
    rng = random.Random(seed)
    for _ in range(1500):
        text = random_text(rng)
        assert_counts_when_fast(text)
        header = "a,b\n" if rng.random() < 0.5 else ""
        assert_same_reading(header + text, ["a", "b"], allow_no_rows=rng.random() < 0.5)


@pytest.mark.parametrize("seed", range(4))
def test_written_csv_files_read_the_same_both_ways(seed):
    rng = random.Random(100 + seed)
    for _ in range(400):
        header = rng.sample(["response_id", "codes", "rationale", "", "extra", "codes "], k=rng.randint(1, 5))
        text = written_csv(rng, header)
        assert_counts_when_fast(text)
        assert_same_reading(text, ["response_id", "codes"], ["rationale"],
                            allow_no_rows=rng.random() < 0.5, only_kept=rng.random() < 0.3)


@pytest.mark.parametrize("seed", range(4))
def test_records_are_whole_only_when_each_is(seed):
    """A file is taken whole when its commas outside quotes are as many as whole records
    need: a long record and a short one that balance it, blank, whitespace-only and
    empty-cell lines, quoted cells with commas, both line ends, must still be counted (or
    refused) as the csv module counts them."""
    rng = random.Random(200 + seed)
    cells = ["", " ", "x", "R1", "\t", "日本", "\u3000"] + (["a,b", 'say "hi"', ","] if seed % 2 else [])
    for _ in range(500):
        width, end = rng.randint(1, 4), rng.choice(["\n", "\r\n"])
        rows = [[f"h{i}" for i in range(width)]]
        for _ in range(rng.randint(0, 6)):
            rows.append([rng.choice(cells) for _ in range(max(width + rng.choice([0, 0, 0, -1, 1, -width]), 0))])
        if rng.random() < 0.3 and len(rows) > 2 and rows[2]:  # one more cell here, one fewer there
            rows[1].append("y")
            rows[2].pop()
        buffer = io.StringIO(newline="")
        csv.writer(buffer, lineterminator=end).writerows(rows)
        text = buffer.getvalue()
        text = text if rng.random() < 0.9 else text.removesuffix(end)
        assert_counts_when_fast(text)
        assert_same_reading(text, ["h0"], allow_no_rows=rng.random() < 0.5)


def test_the_fast_reading_is_taken_for_plain_and_quoted_files():
    """Not only the fallback is compared: the usual files are read by pandas (a coder file,
    and a responses file with quoted texts), with the same frame as the strict reading."""
    plain = "response_id,codes\nR1,hooked\nR2,\n\nR3,anxious;hooked\n"
    quoted = 'response_id,text\nR1,"a, b"\r\nR2,"say ""hi"""\r\nR3,plain\r\n'
    for text, required in ((plain, ["response_id", "codes"]), (quoted, ["response_id", "text"])):
        assert fast_records(text) is not None
        assert_counts_when_fast(text)
        assert_same_reading(text, required, allow_no_rows=False)


# ------------------------------------------------------------------ checks of responses.csv

PARTICIPANTS = ["P01", "P02", "p01", "P1", " P03 ", "P0003", "", "taro@example.jp",
                "090-1234-5678", "12345678", "Ｐ０４", "P 05", "x" * 40, "P06"]
RESPONSE_IDS = ["R1", "R2", "R3", "", " R4 ", "R 5", "-R6", "Rё7", "R\u200b8", "R9"]


def responses_frame(rng: random.Random, n: int, items: bool) -> pd.DataFrame:
    questions, timepoints = list(QUESTIONS) + ["session", ""], TIMEPOINTS + ["pre 1", "later"]
    frame = pd.DataFrame({
        "response_id": [rng.choice(RESPONSE_IDS) if rng.random() < 0.3 else f"R{i}" for i in range(n)],
        "participant_id": [rng.choice(PARTICIPANTS) for _ in range(n)],
        "timepoint": [rng.choice(timepoints) if rng.random() < 0.2 else rng.choice(TIMEPOINTS) for _ in range(n)],
        "question": [rng.choice(questions) if rng.random() < 0.15 else rng.choice(list(QUESTIONS)) for _ in range(n)],
        "text": ["t"] * n}, dtype=object)
    if items:
        frame["item"] = [rng.choice(["", "s1", "s2", " s1"]) for _ in range(n)]
    frame["spreadsheet_row"] = list(range(2, n + 2))
    return frame


@pytest.mark.parametrize("seed", range(6))
def test_response_checks_give_the_row_by_row_messages(seed):
    rng = random.Random(200 + seed)
    for _ in range(40):
        frame = responses_frame(rng, rng.randint(1, 40), items=rng.random() < 0.4)
        options = dict(timepoints=TIMEPOINTS, questions=QUESTIONS, id_pattern=PATTERN,
                       allow_similar_ids=rng.random() < 0.3)
        fast, strict = frame.copy(), frame.copy()
        assert (responses.validate_responses(fast, "r.csv", **options)
                == reference.validate_responses(strict, "r.csv", **options))
        pd.testing.assert_frame_equal(fast, strict)


def test_participant_ids_are_judged_as_one_by_one():
    ids = pd.Series(PARTICIPANTS * 3 + ["P" + "0" * 9 + "1", "a@b", "Ｐ１２３４５６７８９"], dtype=object)
    assert participant_id_problems(ids, PATTERN).tolist() == [
        participant_id_problem(v, PATTERN) for v in ids]


# ------------------------------------------------------------------ coder files, adjudication

def coding_frame(rng: random.Random, known: list[str], in_order: bool) -> pd.DataFrame:
    if in_order:
        ids = list(known)
    else:
        ids = [rng.choice(known + ["R999", "r1", "R１", "R0001", " R2", "RX"]) for _ in range(rng.randint(1, 30))]
    codes_of = {q: spec["codes"] for q, spec in QUESTIONS.items()}
    every = sorted({c for cs in codes_of.values() for c in cs})
    cells = [";".join(rng.sample(every + ["nope", "hooked, anxious", " hooked "], k=rng.randint(0, 3)))
             for _ in ids]
    return pd.DataFrame({"response_id": ids, "codes": cells,
                         "spreadsheet_row": list(range(2, len(ids) + 2))}, dtype=object).astype(
        {"spreadsheet_row": int})


@pytest.mark.parametrize("seed", range(6))
def test_coding_checks_and_normalised_codes_match_row_by_row(seed):
    rng = random.Random(300 + seed)
    for _ in range(40):
        known = [f"R{i}" for i in range(1, rng.randint(2, 25))]
        response_question = {r: rng.choice(list(QUESTIONS)) for r in known}
        frame = coding_frame(rng, known, in_order=rng.random() < 0.3)
        fast, strict = frame.copy(), frame.copy()
        checked = codes.check_coding(fast, "c.csv", response_question=response_question,
                                     questions=QUESTIONS)
        expected = reference.validate_coding(strict, "c.csv", response_question=response_question,
                                             questions=QUESTIONS)
        assert checked.problems == expected
        pd.testing.assert_frame_equal(fast, strict)
        # positions: each id's place among responses.csv's ids, -1 for an unknown one
        known = list(response_question)
        assert checked.positions.tolist() == [known.index(r) if r in response_question else -1
                                              for r in fast["response_id"]]
        # normalised codes: for every row without a problem, as normalised one by one
        refused = {p.row for p in expected}
        for row, id_, cell, got in zip(fast["spreadsheet_row"], fast["response_id"], fast["codes"],
                                       checked.codes, strict=True):
            if row in refused:
                assert got is None
            else:
                assert got == reference.normalise_code_column([cell], [response_question[id_]],
                                                              QUESTIONS)[0]


@pytest.mark.parametrize("seed", range(3))
def test_adjudication_of_agreed_responses_matches_row_by_row(seed):
    rng = random.Random(400 + seed)
    for _ in range(50):
        ids = [f"R{i}" for i in range(rng.randint(1, 15))]
        codings = pd.DataFrame([{"response_id": r, "question": "q", "coder": c, "codes": rng.choice(["", "a", "a;b"])}
                                for r in ids for c in ("c1", "c2", "c3") if rng.random() < 0.7])
        if codings.empty:
            continue
        adjudication = pd.DataFrame({"response_id": rng.sample(ids, k=rng.randint(0, len(ids))),
                                     "codes": "a", "rationale": ""})
        adjudication["spreadsheet_row"] = range(2, len(adjudication) + 2)
        expected = reference.adjudication_of_agreed(adjudication, codings, "a.csv")
        assert codes.adjudication_of_agreed(adjudication, codings, "a.csv") == expected
        number = {r: i for i, r in enumerate(rng.sample(ids, k=len(ids)))}  # as intake numbers them
        positions = (codings["response_id"].map(number).to_numpy(),
                     adjudication["response_id"].map(number).to_numpy(dtype=np.int64))
        assert codes.adjudication_of_agreed(adjudication, codings, "a.csv", positions) == expected


# ------------------------------------------------------------------ privacy scan, writing

@pytest.mark.parametrize("seed", range(3))
def test_cells_are_stripped_as_pandas_strips_them(seed):
    """``strip_cells`` (which leaves a column without whitespace as it is) against pandas'
    ``str.strip`` on columns of ids, with and without whitespace of every kind."""
    rng = random.Random(500 + seed)
    pieces = ["R1", "P01", "code_a", " ", "\t", "\u3000", "\x85", "\xa0", "\x1f", "日本", "", "\r"]
    for _ in range(300):
        column = pd.Series(["".join(rng.choices(pieces[:3] if rng.random() < 0.5 else pieces,
                                                k=rng.randint(0, 3)))
                            for _ in range(rng.randint(1, 6))], dtype="str", name="x")
        pd.testing.assert_series_equal(responses.strip_cells(column), column.str.strip())


@pytest.mark.parametrize("seed", range(3))
def test_a_column_that_cannot_identify_is_found_as_cell_by_cell(seed):
    """The joined test (at most 8 digits on each line, ASCII, no @) against the per-cell one."""
    from alliance_pipeline.common.privacy import _cannot_identify, _none_can_identify
    rng = random.Random(700 + seed)
    pieces = ["P", "0", "1234", "5", "-", " ", "a", "@", "０", "\n", "", "99"]
    for _ in range(2000):
        cells = ["".join(rng.choices(pieces, weights=[3, 4, 2, 4, 2, 2, 2, .2, .2, .2, 1, 2],
                                     k=rng.randint(0, 6))) for _ in range(rng.randint(0, 5))]
        if any("\n" in cell for cell in cells):
            assert not _none_can_identify(cells)  # not joinable: the caller goes cell by cell
        else:
            assert _none_can_identify(cells) == all(_cannot_identify(c) for c in cells), cells


@pytest.mark.parametrize("seed", range(3))
def test_privacy_scan_matches_text_by_text(seed):
    rng = random.Random(500 + seed)
    pieces = ["ok ", "mail me: taro@example.jp", "090-1234-5678", "０９０ー１２３４ー５６７８",
              "12345678", "123456789", "＠", "電話", "x@y", "(03) 1234 5678", "3.14159265", ",", "\n"]
    for _ in range(30):
        texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 4))) for _ in range(rng.randint(1, 20))]
        frame = pd.DataFrame({"text": texts}, dtype=object)
        assert scan_texts(frame).tolist() == reference.scan_texts(frame).tolist()


@pytest.mark.parametrize("seed", range(3))
def test_tables_are_written_as_pandas_writes_them(seed):
    rng = random.Random(600 + seed)
    cells = CELLS + ['"', ",", "\x1f", "a\nb", "", "é"]
    for _ in range(300):
        width, length = rng.randint(1, 4), rng.randint(0, 6)
        frame = pd.DataFrame({f"c{j}{rng.choice(['', ',', ' '])}": [rng.choice(cells) for _ in range(length)]
                              for j in range(width)})
        if rng.random() < 0.3 and length:
            frame = frame.astype("str")
        if rng.random() < 0.2 and length:
            frame["n"] = range(length)
        if rng.random() < 0.2 and length:  # a missing cell among texts (None or NaN)
            frame.iloc[rng.randrange(length), rng.randrange(width)] = rng.choice([None, np.nan])
        assert _csv_text(frame) == frame.to_csv(index=False, lineterminator="\n", na_rep="")


def test_rows_are_joined_block_by_block_as_all_at_once():
    """Rows joined in blocks (whole ones, a short last one, one block only) as row by row."""
    rng = random.Random(700)
    for _ in range(200):
        width, length = rng.randint(1, 4), rng.randint(0, 40)
        columns = [np.array([rng.choice(CELLS) for _ in range(length)], dtype=object)
                   for _ in range(width)]
        expected = "".join(",".join(row) + "\n" for row in zip(*columns, strict=True))
        assert _lines(columns, block=rng.randint(1, 12)) == expected
        assert _lines([list(c) for c in columns]) == expected
