"""The pilot's Japanese report (#24): written beside the English one, in Japanese, with the
same numbers, and shown by Chromium and in the PDF without a missing glyph.

The workflow runs once on a copy of the pilot (its config asks for ``report.languages:
[en, ja]``). Checks:

- both reports and both sets of figures exist; the Japanese HTML says ``lang="ja"`` and the
  PDF embeds IPAexGothic;
- the Japanese text (HTML, and the PDF's text by poppler's pdftotext) has no run of three or
  more English words, outside code (``<code>``, ``<pre>``), quoted responses
  (``<blockquote>``), the study's ids (questions, codes, time points, contrasts, cohort) and
  names (pipeline, renderer and package names of the appendix);
- every number of every table, and every decimal number of the running text, is the same in
  both reports (the tables are matched by their ids);
- Chromium draws every character of the Japanese page: each distinct character, drawn on a
  canvas in the page's font, differs from the drawing of a character no font has.
"""
from __future__ import annotations

import html as html_lib
import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import copy_run, require_component

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]

ENGLISH = "reports/pilot/report.html"
JAPANESE = "reports/pilot/report.ja.html"
IDS = {"session_experience", "training_feedback", "hooked", "engaged_well", "anxious",
       "noticing_captivity", "relating_with_intention", "not_being_upset", "mindful_pause",
       "self_understanding", "no_change", "contingency_unclear", "pre1", "pre2", "post",
       "baseline", "training", "overall", "pilot"}
# names a Japanese methods section writes in Latin letters too
NAMES = {"Pandoc", "Typst", "Quarto", "quarto", "CLI", "PATH", "Connor", "Biometrics", "MASI",
         "Obuchowski", "README", "For", "reviewers", "make", "verify", "REPORT", "this", "file",
         "SHA", "RD", "OR", "AC1", "CI", "df", "mid", "requirements", "lock"}
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’\-]+(?:[\s,.:;()]+[A-Za-z][A-Za-z'’\-]+){2,}")


@pytest.fixture(scope="module")
def run(pilot_run, tmp_path_factory):
    """A copy of the shared pilot run (its default target makes both reports): the browser
    checks write their probe pages next to the report."""
    return copy_run(pilot_run, tmp_path_factory.mktemp("japanese_report") / "study")


def body_text(path: Path) -> str:
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    for tag in soup(["script", "style", "code", "pre", "blockquote", "nav"]):
        tag.decompose()
    return re.sub(r"\s+", " ", soup.get_text(" "))


def squeeze(text: str) -> str:
    """Whitespace as one space, none after a hyphen (a line broken at a hyphen joins again)."""
    return re.sub(r"-\s+", "-", re.sub(r"\s+", " ", text))


def quoted_texts(run: Path) -> list[str]:
    """The responses the pilot's config allows the report to quote (report.quotes)."""
    import yaml

    from alliance_pipeline.common.tables import read_table

    allowed = yaml.safe_load((run / "config/config.yaml").read_text(encoding="utf-8"))["report"]["quotes"]
    responses = read_table(run / "data/derived/pilot/responses.csv")
    texts = responses.set_index("response_id").loc[allowed, "text"]
    return [squeeze(t) for t in texts]


def english_runs(text: str) -> list[str]:
    """Runs of three or more English words, ids and names taken out first."""
    words = re.sub(r"[A-Za-z0-9_]+", lambda m: " ¦ " if m.group(0) in IDS | NAMES else m.group(0), text)
    words = re.sub(r"\b\w*[_\d]\w*\b", " ¦ ", words)  # ids with underscores, hashes, versions
    return ENGLISH_RUN.findall(words)


def test_both_reports_and_both_figure_sets_are_written(run):
    for name in ("report.html", "report.pdf", "report.ja.html", "report.ja.pdf", "manifest.json"):
        assert (run / "reports/pilot" / name).is_file(), name
    english = sorted(p.name for p in (run / "data/derived/pilot/figures").glob("*.png"))
    japanese = sorted(p.name for p in (run / "data/derived/pilot/figures/ja").glob("*.png"))
    assert english and english == japanese
    page = (run / JAPANESE).read_text(encoding="utf-8")
    assert re.search(r'<html[^>]*\blang="ja"', page)
    assert (run / "reports/pilot/report.ja.pdf").read_bytes()[:5] == b"%PDF-"


def test_the_japanese_pdf_uses_ipaexgothic_and_breaks_japanese_lines(run):
    pdf = run / "reports/pilot/report.ja.pdf"
    pdffonts = require_component("pdffonts", "fonts of the Japanese PDF", "Debian: poppler-utils")
    fonts = subprocess.run([pdffonts, str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "IPAexGothic" in fonts
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "要約" in text and "クリッペンドルフ" in text and "マクネマー検定" in text
    # lines of the running text fill the measure: Japanese is broken between characters, not
    # only at spaces (a paragraph without spaces would otherwise overflow or stay one line)
    long_lines = [line for line in text.splitlines() if len(line.strip()) >= 45
                  and re.search(r"[\u3040-\u30ff\u4e00-\u9fff]{10}", line)]
    assert len(long_lines) > 20


@pytest.mark.parametrize("source", ["html", "pdf"])
def test_no_english_sentence_in_the_japanese_report(run, source):
    if source == "html":
        text = body_text(run / JAPANESE)
    else:
        require_component("pdftotext", "the Japanese PDF's text", "Debian: poppler-utils")
        text = subprocess.run(["pdftotext", str(run / "reports/pilot/report.ja.pdf"), "-"],
                              capture_output=True, text=True, check=True).stdout
        # the appendix's code blocks (command, configuration) are code in the PDF too
        text = text.split("本報告は次のコマンドで再生成できる")[0]
        text = squeeze(text.replace("\u2060", ""))
        for quote in quoted_texts(run):  # quoted responses: in the PDF, not set apart by a tag
            assert quote in text, quote
            text = text.replace(quote, " ")
    # the cited paper is printed in its own words, as a Japanese journal prints an English source
    for words in reference_words(run):
        text = text.replace(words, " ")
    runs = english_runs(text)
    assert not runs, f"English in the Japanese report ({source}): {runs[:10]}"


def reference_words(run: Path) -> list[str]:
    """The config's study.reference as the report prints it: title, journal, 'X et al.'."""
    import yaml

    reference = yaml.safe_load((run / "config/config.yaml").read_text(encoding="utf-8"))["study"]["reference"]
    return [squeeze(reference["title"]), reference["journal"],
            f"{reference['authors'][0].split()[0]} et al."]


def test_the_source_is_cited_with_its_doi_in_both_reports(run):
    """study.reference: under the title, in the published section and in the reference list."""
    doi = "10.1186/s40359-025-02882-y"
    for page, heading in ((ENGLISH, "References"), (JAPANESE, "引用文献")):
        html = (run / page).read_text(encoding="utf-8")
        assert html.count(f'href="https://doi.org/{doi}"') >= 3, page
        text = body_text(run / page)
        assert heading in text and "Kawamura et al. (2025)" in text, page
        assert "BMC Psychology . 2025;13:627" in text or "BMC Psychology. 2025;13:627" in text, page
    japanese = body_text(run / JAPANESE)
    assert "出典：Kawamura et al. (2025)" in japanese
    assert "合成コホートはこれらの公表値から構成したため" in japanese
    assert "19/23 = 0.826" in japanese and "20/23 = 0.870" in japanese


def test_the_english_run_check_finds_english():
    assert english_runs("要約 The share rose by 12 points。") == ["The share rose by"]
    assert english_runs("session_experience と pre1 → pre2 、RD 0.45") == []


def table_numbers(path: Path) -> dict[str, list[list[str]]]:
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    out = {}
    for table in soup.find_all("table"):
        ident = table.get("id") or (table.find_parent(id=True) or {}).get("id")
        rows = [[" ".join(re.findall(r"[−-]?\d+(?:[.,]\d+)*%?", td.get_text(" ")))
                 for td in tr.find_all("td")] for tr in table.find_all("tr")]
        out[str(ident)] = [r for r in rows if r]
    return out


def decimals(path: Path) -> Counter:
    return Counter(re.findall(r"[−-]?\d+\.\d+%?", body_text(path)))


def test_the_numbers_are_the_same_in_both_languages(run):
    english, japanese = table_numbers(run / ENGLISH), table_numbers(run / JAPANESE)
    assert len(english) >= 8 and set(english) == set(japanese)
    for ident, rows in english.items():
        assert japanese[ident] == rows, f"table {ident} differs"
    assert decimals(run / ENGLISH) == decimals(run / JAPANESE)
    assert sum(decimals(run / ENGLISH).values()) > 100


# ------------------------------------------------------------------ Chromium

GLYPH_PROBE = """<script>
window.addEventListener('load', function () {
  document.fonts.ready.then(function () {
    var font = '32px ' + getComputedStyle(document.body).fontFamily;
    var canvas = document.createElement('canvas');
    canvas.width = 48; canvas.height = 48;
    var ctx = canvas.getContext('2d', {willReadFrequently: true});
    var draw = function (ch) {
      ctx.clearRect(0, 0, 48, 48); ctx.font = font; ctx.fillStyle = '#000';
      ctx.fillText(ch, 4, 36);
      return Array.prototype.join.call(ctx.getImageData(0, 0, 48, 48).data, ',');
    };
    var tofu = draw('\\u{10FFFD}');
    var seen = {}, missing = [], checked = 0;
    Array.from(document.body.innerText).forEach(function (ch) {
      if (seen[ch] || ch.charCodeAt(0) < 128 || /\\s|\\p{Cf}/u.test(ch)) { return; }
      seen[ch] = true; checked += 1;
      if (draw(ch) === tofu) { missing.push(ch); }
    });
    var out = document.createElement('pre');
    out.id = '__glyphs__';
    out.textContent = JSON.stringify({checked: checked, missing: missing});
    document.body.appendChild(out);
  });
});
</script>"""


def glyph_check(exe: str, page: Path, profile: Path) -> dict:
    probed = page.with_name(page.stem + ".glyphs.html")
    text = page.read_text(encoding="utf-8")
    at = text.find("</body>")
    probed.write_text(text[:at] + GLYPH_PROBE + text[at:], encoding="utf-8")
    result = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             f"--user-data-dir={profile}", "--virtual-time-budget=10000",
                             "--dump-dom", probed.as_uri()],
                            capture_output=True, text=True, timeout=180)
    match = re.search(r'<pre id="__glyphs__">(.*?)</pre>', result.stdout, re.S)
    assert match, f"the glyph probe wrote nothing:\n{result.stderr[-2000:]}"
    return json.loads(html_lib.unescape(match.group(1)))


@pytest.mark.browser
def test_chromium_shows_every_character_of_the_japanese_report(run, tmp_path):
    exe = require_component("chromium", "the Japanese report's glyph check",
                            "Debian: apt-get install chromium")
    found = glyph_check(exe, run / JAPANESE, tmp_path / "profile")
    assert found["checked"] > 300, found
    assert found["missing"] == [], f"characters Chromium cannot draw: {''.join(found['missing'])}"
    shot = Path(__file__).parent / "artifacts" / "report_pilot_ja.png"
    shot.parent.mkdir(exist_ok=True)
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--user-data-dir={tmp_path / 'shot'}", "--virtual-time-budget=5000",
                    "--window-size=1280,2000", f"--screenshot={shot}", (run / JAPANESE).as_uri()],
                   capture_output=True, timeout=180, check=True)
    assert shot.stat().st_size > 0


@pytest.mark.browser
def test_the_glyph_check_sees_a_missing_glyph(tmp_path):
    exe = require_component("chromium", "the glyph check's own test", "Debian: apt-get install chromium")
    page = tmp_path / "bad.html"
    page.write_text("<html><head><meta charset='utf-8'></head><body><p>ab \U0010FFFC</p></body></html>",
                    encoding="utf-8")
    assert glyph_check(exe, page, tmp_path / "profile")["missing"] == ["\U0010FFFC"]


FULL_WIDTH_EDGES = "、。，．・：；）」』］｝〉》（「『［｛〈《"


def test_japanese_tables_keep_each_row_on_one_line_in_the_pdf(run):
    """As tests/test_render.py checks the English PDF: no table row wraps, no word leaves the
    text block. A full-width punctuation mark at a line's edge is the exception: Typst sets it
    half-width there (CJK punctuation trimming), while poppler reports its full glyph box."""
    require_component("pdftotext", "the Japanese PDF's layout", "Debian: poppler-utils")
    from pdf_layout import html_rows, layout_problems
    from test_render import QMD, margin_pt

    problems = layout_problems(run / "reports/pilot/report.ja.pdf", html_rows(run / JAPANESE), margin_pt(QMD))
    real = [p for p in problems
            if not (m := re.match(r"page \d+: '(.*)' outside the text block", p))
            or not (m.group(1)[-1] in FULL_WIDTH_EDGES or m.group(1)[0] in FULL_WIDTH_EDGES)]
    assert not real, real


@pytest.mark.browser
def test_chromium_lays_out_the_japanese_tables_and_figures(run, tmp_path):
    """The English report's browser checks (tests/test_browser.py) on the Japanese page: every
    figure decoded, every table within the text column with its headers on one line."""
    from test_browser import PROBE_ID, WINDOW, chromium, run_chromium, with_probe

    exe = chromium()
    page = run / JAPANESE
    probed = page.with_name("report.ja.probe.html")
    probed.write_text(with_probe(page.read_text(encoding="utf-8")), encoding="utf-8")
    dumped = run_chromium(exe, tmp_path / "profile", probed.as_uri(), "--dump-dom",
                          f"--window-size={WINDOW[0]},{WINDOW[1]}")
    match = re.search(rf'<pre id="{PROBE_ID}">(.*?)</pre>', dumped.stdout, re.S)
    assert match, "the probe wrote no result"
    probe = json.loads(html_lib.unescape(match.group(1)))
    assert probe["errors"] == []
    figures = list((run / "data/derived/pilot/figures/ja").glob("*.png"))
    shown = [i for i in probe["images"] if i["complete"] and i["naturalWidth"] > 0 and i["width"] > 0]
    assert len(shown) >= len(figures) > 0
    assert len(probe["tables"]) >= 5
    assert [t for t in probe["tables"] if t["width"] > t["room"] + 0.5] == []
    assert [t for t in probe["tables"] if t["wrapped"]] == []
