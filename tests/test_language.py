"""The reports' message catalogue (#24): English unchanged, every message in Japanese, the
language plumbing (report/language, report/notes, report/render/translate, .../webfont).

The byte-identity test rebuilds the English cohort report's fragments and figures from the
pilot's derived tables committed in tests/english_baseline/ and compares them with what the
code before the catalogue wrote from the same tables (tests/english_baseline/snapshot.py).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import string
from pathlib import Path

import pytest

from alliance_pipeline.report import language, notes
from alliance_pipeline.report.render import translate

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / "tests" / "english_baseline"
PO = language.po_path("ja")


# ------------------------------------------------------------------ English byte for byte

def test_english_fragments_and_figures_are_byte_identical_to_before_the_catalogue(tmp_path):
    from english_baseline.snapshot import snapshot

    snapshot(BASELINE / "tables", tmp_path)
    expected = sorted(p.name for p in (BASELINE / "fragments").iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == expected
    for name in expected:
        before = (BASELINE / "fragments" / name).read_bytes()
        assert (tmp_path / name).read_bytes() == before, f"{name} changed"


def test_the_snapshot_would_see_a_changed_word(tmp_path, monkeypatch):
    """The comparison above can fail: one English message changed shows in the fragments."""
    from alliance_pipeline.report.sections import summary
    from english_baseline.snapshot import snapshot

    real = summary._
    monkeypatch.setattr(summary, "_", lambda m: real(m).replace("answered at", "responded at"))
    snapshot(BASELINE / "tables", tmp_path)
    assert (tmp_path / "summary.md").read_bytes() != (BASELINE / "fragments" / "summary.md").read_bytes()


# ------------------------------------------------------------------ the catalogue

def catalogue():
    from babel.messages.pofile import read_po

    with PO.open("rb") as handle:
        return read_po(handle)


def extracted() -> dict:
    """Every message the code and the .qmd sources hold, as Babel's extraction finds them
    (the same mapping as ``pybabel extract -F .../babel.cfg``)."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    cfg = language.LOCALE_DIR / "babel.cfg"
    method_map, options_map = parse_mapping_cfg(cfg.open(encoding="utf-8"))
    keywords = {"_": None, "N_": None, "ngettext": (1, 2)}
    found = {}
    for _path, _line, message, _comments, _context in extract_from_dir(
            str(REPO), method_map, options_map, keywords=keywords):
        found[message if isinstance(message, str) else tuple(message)] = True
    return found


def placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


def test_every_message_of_the_code_has_a_japanese_translation():
    cat = catalogue()
    by_id = {m.id if isinstance(m.id, str) else tuple(m.id): m for m in cat if m.id}
    found = extracted()
    assert len(found) > 200, "the extraction found too few messages: is babel.cfg right?"
    missing = [m for m in found if m not in by_id]
    assert not missing, (f"{len(missing)} messages are not in {PO.name}; run the extraction and "
                         f"update (docs/languages.md): {missing[:5]}")
    untranslated = [k for k in found if not all(by_id[k].string if isinstance(by_id[k].string, tuple)
                                                  else [by_id[k].string])]
    assert not untranslated, f"messages without a Japanese translation: {untranslated[:5]}"
    fuzzy = [k for k in found if by_id[k].fuzzy]
    assert not fuzzy, f"fuzzy (unchecked) translations: {fuzzy[:5]}"


def test_translations_keep_every_placeholder():
    """A translation that drops or renames a {placeholder} would lose a number (or fail)."""
    wrong = []
    for m in catalogue():
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        want = set().union(*(placeholders(i) for i in ids))
        wrong += [(ids[0], s) for s in strings if placeholders(s) != want]
    assert not wrong, wrong[:5]


def test_obsolete_messages_are_removed():
    assert not catalogue().obsolete, "the .po keeps messages the code no longer has"


def test_the_checks_above_see_a_missing_and_a_fuzzy_entry(tmp_path):
    from babel.messages.pofile import read_po, write_po

    cat = catalogue()
    first = next(m for m in cat if m.id and isinstance(m.id, str))
    first.string = ""
    second = next(m for m in cat if m.id and isinstance(m.id, str) and m is not first)
    second.flags.add("fuzzy")
    path = tmp_path / "x.po"
    with path.open("wb") as handle:
        write_po(handle, cat)
    with path.open("rb") as handle:
        back = {m.id: m for m in read_po(handle) if m.id}
    assert not back[first.id].string and back[second.id].fuzzy
    # a fuzzy entry is not used: compiled, the message stays English
    mo = language.compile_catalogue(path)
    import gettext
    import io

    assert gettext.GNUTranslations(io.BytesIO(mo)).gettext(second.id) == second.id


def test_the_catalogue_compiles_and_translates():
    with language.use_language("ja"):
        assert language._("Summary") == "要約"
        assert language._("Holm-adjusted") == "ホルム法で調整した"
        assert language.ngettext("The cohort has {n} participant.", "The cohort has {n} participants.", 1) \
            == "コホートの参加者は{n}名である。"
    assert language._("Summary") == "Summary"
    assert language.ngettext(" ({n} pair)", " ({n} pairs)", 1) == " ({n} pair)"
    assert language.ngettext(" ({n} pair)", " ({n} pairs)", 2) == " ({n} pairs)"


def test_an_unknown_language_is_refused_with_the_available_ones():
    with pytest.raises(ValueError, match=r"'xx' has no message catalogue.*en, ja"):
        language.load_language("xx")
    assert language.available_languages() == ["en", "ja"]


# ------------------------------------------------------------------ locale formats

def test_locale_formats():
    day = dt.date(2026, 12, 5)
    assert language.format_day(day) == "2026-12-05"
    assert language.format_list(["a", "b", "c"]) == "a, b and c"
    assert language.format_count(10000) == "10,000"
    with language.use_language("ja"):
        assert language.format_day(day) == "2026年12月5日"          # CLDR long date, ja
        assert language.format_list(["a", "b", "c"]) == "a、b、c"  # CLDR list pattern, ja
        assert language.format_list(["a", "b"], "or") == "aまたはb"
        assert language.localise_number("-1,234.5") == "-1,234.5"  # ja keeps . , and -
        assert language.format_count(10000) == "10,000"
        assert language.join_sentences(["一。", "二。"]) == "一。二。"
    assert language.join_sentences(["One.", "Two."]) == "One. Two."


def test_codebook_translations_and_what_is_missing():
    questions = {"q": {"prompt": "Why?", "codes": ["a", "b"], "labels": {"a": "A", "b": "B"},
                       "definitions": {"a": "def a", "b": ""},
                       "translations": {"ja": {"labels": {"a": "エー"}, "prompt": "なぜ？"}}}}
    with language.use_language("ja"):
        q = language.localised_questions(questions)["q"]
    assert q["prompt"] == "なぜ？" and q["labels"] == {"a": "エー", "b": "B"}
    assert q["definitions"] == {"a": "def a", "b": ""}
    assert language.localised_questions(questions)["q"]["labels"]["a"] == "A"
    assert language.untranslated(questions, "ja") == ["q.a.definition", "q.b.label"]


def test_settings_read_the_codebook_translations():
    from alliance_pipeline.config.settings import codebook_translations

    question = {"prompt": "Why?", "prompt_ja": "なぜ？",
                "codes": {"a": {"label": "A", "label_ja": "エー", "definition_ja": "定義"}}}
    assert codebook_translations(question) == {"ja": {"prompt": "なぜ？", "labels": {"a": "エー"},
                                                      "definitions": {"a": "定義"}}}


# ------------------------------------------------------------------ notes and the .qmd

def test_notes_of_the_tables_are_translated_with_their_numbers():
    note = "alpha over code sets with the MASI distance; alpha CI from the 1997 of 2000 resamples with variation"
    assert notes.note_text(note) == note
    with language.use_language("ja"):
        text = notes.note_text(note)
        assert "1997" in text and "2000" in text and "MASI" in text
        assert not re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", text), text
        assert notes.note_text("a note no pattern knows") == "a note no pattern knows"


def test_every_note_a_step_writes_has_a_pattern():
    """The fixed notes the steps write (string literals in coding/ and change/) are known."""
    sources = [*(REPO / "src/alliance_pipeline/coding").glob("*.py"),
               *(REPO / "src/alliance_pipeline/change").glob("*.py")]
    literals = set()
    for path in sources:
        text = path.read_text(encoding="utf-8")
        literals |= set(re.findall(r'notes\.append\("([^"{]+)"\)', text))
        literals |= set(re.findall(r'note = "([^"{]+)"', text))
    literals = {part.strip() for lit in literals for part in lit.split(";")}
    assert literals, "found no notes in the steps' code"
    unknown = [lit for lit in literals if lit not in notes.NOTES]
    assert not unknown, f"notes with no pattern in report/notes.py: {unknown}"


def test_the_report_source_is_localised():
    source = (REPO / "reports" / "report.qmd").read_text(encoding="utf-8")
    assert translate.localise_source(source) == source
    messages = [m for *_, m in translate.qmd_messages(source)]
    assert "Summary" in messages and "Appendix: reproducibility" in messages
    assert "Synthetic data" in messages  # the callout's title
    with language.use_language("ja"):
        ja = translate.localise_source(source)
    assert re.search(r"^lang: ja$", ja, re.M) and "\n# 要約\n" in ja and "\n# Summary\n" not in ja
    assert '#set text(lang: "ja")' in ja
    assert "{{< include _fragments/summary.md >}}" in ja  # includes and code untouched


def test_the_japanese_html_embeds_a_subset_of_the_font():
    from alliance_pipeline.report.render.webfont import embed_font

    page = "<html><head><title>t</title></head><body><p>要約 Summary</p></body></html>".encode()
    out = embed_font(page).decode()
    assert "@font-face" in out and out.index("@font-face") < out.index("</head>")
    data = re.search(r"base64,([A-Za-z0-9+/=]+)", out).group(1)
    import base64
    import io

    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(base64.b64decode(data)))
    cmap = font.getBestCmap()
    assert ord("要") in cmap and ord("約") in cmap and ord("S") not in cmap
    assert len(data) < 100_000  # two glyphs, not the 4 MB font
    assert embed_font(b"<html><head></head><body>ascii</body></html>") == \
        b"<html><head></head><body>ascii</body></html>"


def test_figure_hashes_are_listed_for_every_figure():
    hashes = json.loads((BASELINE / "fragments" / "figures.json").read_text(encoding="utf-8"))
    assert set(hashes) == {f"{stem}.svg" for stem in ("agreement", "flow", "forest_session_experience",
                                                      "frequencies_training_feedback",
                                                      "shares_session_experience")}
    assert all(len(h) == len(hashlib.sha256().hexdigest()) for h in hashes.values())


@pytest.mark.workflow
def test_a_language_without_catalogue_stops_the_run_with_the_available_ones(tmp_path):
    import yaml

    from conftest import pilot_copy, run_workflow

    study = pilot_copy(tmp_path / "study")
    path = study / "config/config.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["report"]["languages"] = ["en", "xx"]
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    result = run_workflow(study, extra=("-n",))
    assert result.returncode != 0
    output = result.stdout + result.stderr  # snakemake prints the config error on stdout
    assert "report.languages: 'xx' has no message catalogue" in output
    assert "available: en, ja" in output
    config["report"]["languages"] = ["ja", "en"]  # Japanese first: report.html is Japanese
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    result = run_workflow(study, extra=("-n",))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "reports/pilot/report.en.html" in result.stdout + result.stderr
