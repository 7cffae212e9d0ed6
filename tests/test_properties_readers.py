"""Property tests: any text survives intake and the table round trip unchanged.

Texts are written into responses.csv by Python's csv module (as a spreadsheet or a script
would), read by ``read_cohort``, written by ``tables.write_table`` and read back by
``tables.read_table``: machine tables keep every character (newlines of every kind, quotes,
commas, tabs, Japanese, leading = + - @); the sheet for people differs only by the leading
apostrophe that neutralises formulas.
"""
import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance_pipeline.common.tables import neutralise_formula, read_table, write_table
from alliance_pipeline.config import load as study_config
from alliance_pipeline.config.settings import questions_settings
from alliance_pipeline.intake.cohort import read_cohort
from alliance_pipeline.intake.read.csv_parser import read_csv_text

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = questions_settings(study_config.load_yaml(REPO / "config/codebook.yaml"))
SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

AWKWARD = list('\n\r",;\t=+-@ \'') + ["\r\n", "日本語", "。", "、", "\u3000", "ｶﾀｶﾅ", "😀", "\ufeff"]
# NUL is left out: intake refuses it (a text file never holds one; issue 11, test_robustness)
pieces = st.one_of(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
                   st.sampled_from(AWKWARD))


def text(max_size: int) -> st.SearchStrategy[str]:
    return st.lists(pieces, max_size=max_size).map("".join)


texts = st.lists(text(60), min_size=1, max_size=6)


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)  # Python's default: \r\n, minimal quoting
    return buffer.getvalue().encode(encoding)


def write_pilot(folder: Path, answers: list[str], encoding: str = "utf-8") -> None:
    """One response per participant at pre1; both coders agree on ``hooked``."""
    (folder / "codes").mkdir(parents=True)
    ids = [f"R{i:03d}" for i in range(len(answers))]
    responses = [["response_id", "participant_id", "timepoint", "question", "text"]]
    responses += [[rid, f"P{i:03d}", "pre1", "session_experience", text]
                  for i, (rid, text) in enumerate(zip(ids, answers, strict=True))]
    (folder / "responses.csv").write_bytes(csv_bytes(responses, encoding))
    for coder in ("coder_a", "coder_b"):
        (folder / "codes" / f"{coder}.csv").write_bytes(
            csv_bytes([["response_id", "codes"]] + [[rid, "hooked"] for rid in ids]))


@SETTINGS
@given(answers=texts)
def test_any_text_round_trips_through_intake_and_the_tables(answers):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "raw"
        write_pilot(folder, answers)
        tables = read_cohort(folder, cohort="pilot", encoding="utf-8", timepoints=["pre1", "pre2", "post"],
                             questions=QUESTIONS, id_pattern="^[A-Za-z][A-Za-z0-9_-]{0,31}$")
        responses = tables.responses
        assert responses["text"].tolist() == answers

        machine = Path(tmp) / "responses.csv"
        write_table(responses, machine)
        back = read_table(machine)
        assert back["text"].tolist() == answers
        assert back["response_id"].tolist() == responses["response_id"].tolist()
        assert back["participant_id"].tolist() == responses["participant_id"].tolist()

        sheet = Path(tmp) / "sheet.csv"
        write_table(responses[["response_id", "text"]], sheet, for_people=True)
        assert sheet.read_bytes().startswith(b"\xef\xbb\xbf")
        people = read_table(sheet)
        assert people["text"].tolist() == [neutralise_formula(t) for t in answers]
        assert not any(t.startswith(("=", "+", "-", "@", "\t", "\r")) for t in people["text"])


@SETTINGS
@given(answers=st.lists(st.text(alphabet=st.sampled_from(
    list("こんにちは、私は緊張していた。①②髙﨑") + list('",\n =-')), max_size=40), min_size=1, max_size=4))
def test_cp932_text_round_trips_when_the_encoding_is_configured(answers):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "raw"
        write_pilot(folder, answers, encoding="cp932")
        tables = read_cohort(folder, cohort="pilot", encoding="cp932", timepoints=["pre1", "pre2", "post"],
                             questions=QUESTIONS, id_pattern="^[A-Za-z][A-Za-z0-9_-]{0,31}$")
        assert tables.responses["text"].tolist() == answers


@SETTINGS
@given(cells=st.lists(st.lists(text(20), min_size=3, max_size=3),
                      min_size=1, max_size=5),
       line_end=st.sampled_from(["\r\n", "\n"]))
def test_read_csv_text_returns_every_cell_as_written(cells, line_end):
    rows = [["a", "b", "c"]] + [["k"] + c[1:] for c in cells]  # first cell non-empty: row kept
    buffer = io.StringIO(newline="")
    # With "\n" line ends the csv module would leave a bare "\r" unquoted (it quotes only the
    # characters of its line terminator), which no spreadsheet writes: quote every cell then.
    quoting = csv.QUOTE_MINIMAL if line_end == "\r\n" else csv.QUOTE_ALL
    csv.writer(buffer, lineterminator=line_end, quoting=quoting).writerows(rows)
    frame, problems = read_csv_text(buffer.getvalue(), "f.csv", ["a", "b", "c"])
    assert problems == []
    assert frame[["a", "b", "c"]].values.tolist() == rows[1:]
    assert frame["spreadsheet_row"].tolist() == list(range(2, len(rows) + 1))


@SETTINGS
@given(values=st.lists(st.one_of(text(30),
                                 st.sampled_from(["", "NA", "nan", "None", "1e5", "007", "-0"])),
                       min_size=1, max_size=8))
def test_machine_tables_keep_ids_and_codes_exactly(values):
    import pandas as pd
    frame = pd.DataFrame({"response_id": values, "codes": values, "note": values,
                          "n": range(len(values))})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        write_table(frame, path)
        back = read_table(path)
    assert back["response_id"].tolist() == values
    assert back["codes"].tolist() == values
    assert back["note"].tolist() == values
    assert back["n"].tolist() == list(range(len(values)))
