"""Which cohorts wait for their coders, read from the files in codes/ (status module)."""
from alliance_pipeline.app import status


def test_configured_coders_are_waited_for_until_their_file_is_back(tmp_path):
    entry = {"raw": str(tmp_path), "coders": ["coder_a", "coder_b", "coder_c"]}
    assert status.waiting_for(entry) == ["coder_a", "coder_b", "coder_c"]
    (tmp_path / "codes").mkdir()
    (tmp_path / "codes/coder_a.xlsx").write_bytes(b"")
    (tmp_path / "codes/coder_b.csv").write_bytes(b"")
    (tmp_path / "codes/~$coder_c.xlsx").write_bytes(b"")  # Excel's lock file while it is open
    (tmp_path / "codes/.~lock.coder_c.xlsx#").write_bytes(b"")  # LibreOffice's
    (tmp_path / "codes/coder_c.ods").write_bytes(b"")  # not a coder file (intake says why)
    assert status.returned_coders(tmp_path) == ["coder_a", "coder_b"]
    assert status.waiting_for(entry) == ["coder_c"]
    (tmp_path / "codes/coder_c.xlsx").write_bytes(b"")
    assert status.waiting_for(entry) == []


def test_without_a_coder_list_two_coder_files_are_needed(tmp_path):
    entry = {"raw": str(tmp_path)}
    assert status.waiting_for(entry) == ["two or more coders"]
    (tmp_path / "codes").mkdir()
    (tmp_path / "codes/coder_a.csv").write_bytes(b"")
    assert status.waiting_for(entry) == ["two or more coders"]
    (tmp_path / "codes/coder_b.csv").write_bytes(b"")
    assert status.waiting_for(entry) == []


def test_next_steps_without_a_coder_list_say_how_to_get_workbooks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the responses are in: intake has written them (#21)
    (tmp_path / "data/derived/a").mkdir(parents=True)
    (tmp_path / "data/derived/a/responses.csv").write_text("response_id\n", encoding="utf-8")
    config = {"cohorts": {"a": {"raw": "data/raw/a"}, "b": {"raw": "data/raw/b"}}}
    assert status.next_steps({"a": ["two or more coders"]}, config) == (
        "Cohort a: the responses are in (data/derived/a/responses.csv); waiting for two or more "
        "coders. Next:\n"
        "  list the coders under cohorts.a.coders in config/config.yaml (and a coding_key) to get "
        "blinded coding workbooks from alliance coding-sheets, or put two or more coder files in "
        "data/raw/a/codes/ (<coder>.xlsx or <coder>.csv), then alliance run again.\n"
        "(every other cohort was built; the cross-cohort report waits until every cohort is coded.)")
    assert status.next_steps({}, config) == ""
