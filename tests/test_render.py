"""Rendering: the fallback turns the Quarto source into self-contained HTML and a Typst PDF.

Unit tests feed small hand-written .qmd files to the fallback's steps; the full-report tests
render reports/report.qmd with fragments built from a small hand-made cohort and placeholder
figures drawn by matplotlib; the end-to-end test (marked ``workflow``) runs the pipeline on
the synthetic pilot and checks that the numbers shown are those of the derived tables.
"""
import base64
import hashlib
import os
import re
import shutil
import stat
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from alliance_pipeline.report import cohort_report as report  # noqa: E402
from alliance_pipeline.report.format import round_half_up, slug  # noqa: E402
from alliance_pipeline.report.render import renderer as render  # noqa: E402
from alliance_pipeline.report.render.fallback import column_widths  # noqa: E402
from alliance_pipeline.report.render.markdown import preprocess  # noqa: E402
from alliance_pipeline.report.render.metadata import RenderError  # noqa: E402
from conftest import copy_run  # noqa: E402
from pdf_layout import fragment_rows, html_rows, layout_problems  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# one worker renders the module's reports (the rendered and pilot fixtures) for all its tests
pytestmark = pytest.mark.xdist_group("render")
QMD = REPO / "reports" / "report.qmd"
JAPANESE = "「クライアントに巻き込まれた」"
NAN = float("nan")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def preprocess_fails(qmd: Path, text: str, match: str) -> None:
    """``text``, written to ``qmd``, fails HTML preprocessing with a RenderError matching ``match``."""
    write(qmd, text)
    with pytest.raises(RenderError, match=match):
        preprocess(qmd, "html")


def pdf_text(path: Path) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    return text.replace("\u2212", "-")  # Typst sets a minus sign for a leading hyphen


# ------------------------------------------------------------------ fallback steps

def test_includes_nest_and_meta_expands(tmp_path):
    write(tmp_path / "meta.yml", "who:\n  name: Aoki\nflag: true\n")
    write(tmp_path / "_f" / "a.md", "A says {{< meta who.name >}}.\n\n{{< include b.md >}}\n")
    write(tmp_path / "_f" / "b.md", "B is here.")
    qmd = write(tmp_path / "doc.qmd", "---\ntitle: T {{< meta who.name >}}\nmetadata-files: [meta.yml]\n---\n\n"
                "{{< include _f/a.md >}}\n\nLiteral {{{< meta who.name >}}}.\n")
    meta, body = preprocess(qmd, "html")
    assert "A says Aoki." in body and "B is here." in body
    assert "Literal {{< meta who.name >}}." in body  # escaped shortcode shown as written
    assert meta["title"] == "T Aoki"


def test_unknown_shortcodes_and_missing_keys_fail_loudly(tmp_path):
    qmd = tmp_path / "doc.qmd"
    preprocess_fails(qmd, "---\ntitle: T\n---\n\n{{< video x.mp4 >}}\n", "not supported")
    preprocess_fails(qmd, "---\ntitle: T\n---\n\n{{< meta nope >}}\n", "no such metadata key")
    preprocess_fails(qmd, "---\ntitle: T\n---\n\n{{< include missing.md >}}\n", "not found")


def test_conditional_content_follows_meta_and_format(tmp_path):
    qmd = write(tmp_path / "doc.qmd", "---\nsynthetic: true\nreal: false\n---\n\n"
                ":::: {.content-visible when-meta=\"synthetic\"}\nSYNTH\n::::\n\n"
                "::: {.content-visible when-meta=\"real\"}\nREAL\n:::\n\n"
                "::: {.content-visible when-format=\"html\"}\nHTMLONLY\n:::\n\n"
                "::: {.content-hidden when-format=\"pdf\"}\nNOTPDF\n:::\n")
    _, html = preprocess(qmd, "html")
    _, typ = preprocess(qmd, "typst")
    assert "SYNTH" in html and "REAL" not in html and "HTMLONLY" in html and "NOTPDF" in html
    assert "SYNTH" in typ and "HTMLONLY" not in typ and "NOTPDF" not in typ


def test_callouts_become_titled_boxes(tmp_path):
    qmd = write(tmp_path / "doc.qmd", "---\ntitle: T\n---\n\n::: {.callout-warning title=\"Synthetic data\"}\n"
                "Body text.\n:::\n\n::: {.callout-note}\n## Heading title\nNote body.\n:::\n")
    _, html = preprocess(qmd, "html")
    assert "::: {.callout .callout-warning}" in html and "**Synthetic data**" in html
    assert "**Heading title**" in html and "## Heading title" not in html
    _, typ = preprocess(qmd, "typst")
    assert "```{=typst}" in typ and "#block(" in typ and "**Synthetic data**" in typ


def test_cross_references_are_numbered_and_linked(tmp_path):
    qmd = write(tmp_path / "doc.qmd", "---\ntitle: T\n---\n\nSee @fig-b, @tbl-x and [-@fig-a].\n\n"
                "![First](a.png){#fig-b}\n\n| a |\n|---|\n| 1 |\n\n: A table {#tbl-x}\n\n"
                "![Second](a.png){#fig-a width=50%}\n\n```\n@fig-a stays in code\n```\n")
    (tmp_path / "a.png").write_bytes(b"")
    _, body = preprocess(qmd, "html")
    assert "See [Figure 1](#fig-b), [Table 1](#tbl-x) and [2](#fig-a)." in body
    assert "![Figure 1: First](a.png){#fig-b}" in body
    assert ": Table 1: A table {#tbl-x}" in body
    assert "![Figure 2: Second](a.png){#fig-a width=50%}" in body
    assert "@fig-a stays in code" in body
    preprocess_fails(qmd, "---\ntitle: T\n---\n\nSee @fig-zzz.\n", "fig-zzz")
    preprocess_fails(qmd, "---\ntitle: T\n---\n\n![a](a.png){#fig-a}\n\n![b](a.png){#fig-a}\n",
                     "duplicate")


def test_images_without_extension_take_the_format_s_own(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "flow.png").write_bytes(b"")
    (tmp_path / "figures" / "flow.svg").write_bytes(b"")
    (tmp_path / "figures" / "only.png").write_bytes(b"")
    qmd = write(tmp_path / "doc.qmd", "---\nformat:\n  html:\n    default-image-extension: png\n"
                "  typst:\n    default-image-extension: svg\n---\n\n![F](figures/flow){#fig-f}\n\n"
                "![O](figures/only){#fig-o}\n")
    assert "figures/flow.png" in preprocess(qmd, "html")[1]
    typ = preprocess(qmd, "typst")[1]
    assert "figures/flow.svg" in typ and "figures/only.png" in typ


# ------------------------------------------------------------------ a small full report

def study():
    return {
        "title": "Training clinical psychologists to recognize and repair alliance ruptures",
        "timepoints": ["pre1", "pre2", "post"],
        "contrasts": {"baseline": ["pre1", "pre2"], "training": ["pre2", "post"]},
        "questions": {
            "session_experience": {
                "prompt": "How did you experience the interaction with the client?",
                "timepoints": ["pre1", "pre2", "post"], "multi_label": True,
                "codes": ["hooked", "engaged_well"],
                "labels": {"hooked": "クライアントに巻き込まれた", "engaged_well": "Engaged well"},
                "definitions": {"hooked": "Caught up by the client.", "engaged_well": "Stays in contact."}},
            "training_feedback": {
                "prompt": "What did the training change for you?", "timepoints": ["post"],
                "multi_label": True, "codes": ["noticing"],
                "labels": {"noticing": "Noticing captivity objectively"},
                "definitions": {"noticing": "Notices it."}},
        },
        "codebook_version": "1.0", "cohorts": ["pilot"],
    }


def cohort():
    return {"cohort": "pilot", "label": "Pilot cohort (synthetic reconstruction)", "synthetic": True,
            "analysis": {"confidence": 0.95, "p_adjust": "holm",
                         "mcnemar": {"method": "auto", "exact_below": 25},
                         "agreement": {"good": 0.8, "acceptable": 0.667},
                         "consensus": {"unresolved": "fail"}},
            "published": {"session_experience": {"hooked": {"pre1": 0.65, "pre2": 0.50, "post": 0.17}}}}


def small_tables():
    rows = []
    for code, ks in {"hooked": [11, 8, 3], "engaged_well": [4, 6, 14]}.items():
        for tp, k in zip(["pre1", "pre2", "post"], ks, strict=True):
            rows.append(dict(cohort="pilot", question="session_experience", code=code, timepoint=tp,
                             n=17, k=k, proportion=k / 17, ci_low=k / 17 - 0.2, ci_high=k / 17 + 0.15))
    rows.append(dict(cohort="pilot", question="training_feedback", code="noticing", timepoint="post",
                     n=17, k=4, proportion=4 / 17, ci_low=0.1, ci_high=0.45))
    base = dict(cohort="pilot", question="session_experience", statistic=NAN, df=NAN, or_ci_low=0.02,
                or_ci_high=1.4, rd_ci_low=-0.55, rd_ci_high=-0.05, note="")
    tests = pd.DataFrame([
        dict(base, code="hooked", test="mcnemar", contrast="baseline", timepoints="pre1|pre2", n=17, b=4,
             c=1, p_value=0.375, p_adjusted=0.452, method="exact", risk_difference=-0.176, odds_ratio=0.25),
        dict(base, code="hooked", test="mcnemar", contrast="training", timepoints="pre2|post", n=17, b=6,
             c=1, p_value=0.0625, p_adjusted=0.0041, method="exact", risk_difference=-0.294, odds_ratio=0.167)])
    agreement = pd.DataFrame([dict(cohort="pilot", question="session_experience", code="hooked", n_units=51,
                                   n_coders=2, percent_agreement=0.9, cohen_kappa=0.78, fleiss_kappa=NAN,
                                   krippendorff_alpha=0.83, alpha_ci_low=0.7, alpha_ci_high=0.93,
                                   gwet_ac1=0.85, verdict="good", note="")])
    power = pd.DataFrame([dict(cohort="pilot", question="session_experience", code="hooked",
                               contrast="training", p10=0.35, p01=0.06, alpha=0.05, power=0.8,
                               effect_scale=1.0, n_required=37, method="connor1987", note="")])
    flow = pd.DataFrame([dict(question="session_experience", timepoint=t, n_participants=17)
                         for t in ["pre1", "pre2", "post"]])
    return dict(proportions=pd.DataFrame(rows), tests=tests, agreement=agreement, power=power, flow=flow)


def placeholder_figures(folder: Path, stems) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, stem in enumerate(sorted(stems)):
        fig, ax = plt.subplots(figsize=(4, 2.5))
        ax.bar(["a", "b"], [1, i + 2])
        ax.set_title(stem)
        fig.savefig(folder / f"{stem}.png", dpi=60, metadata={"Software": None})
        fig.savefig(folder / f"{stem}.svg", metadata={"Date": None})
        plt.close(fig)
    return folder


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The report rendered twice by the fallback from the same inputs (same render date)."""
    root = tmp_path_factory.mktemp("report")
    figures = placeholder_figures(root / "figures", report.conventional_figures(study()))
    quotes = [{"response_id": "R07", "question": "session_experience", "timepoint": "pre1",
               "text": JAPANESE + "と感じた"}]
    report.write_fragments(small_tables(), study=study(), cohort=cohort(), quotes=quotes,
                           provenance={"raw_files": [("data/raw/pilot/responses.csv", "b" * 64)],
                                       "config_yaml": "study:\n  title: T\n", "codebook_version": "1.0",
                                       "packages": [("pandas", "3.1.1")], "git_commit": "abc123",
                                       "git_dirty": False, "command": "make run"},
                           out_dir=root / "fragments", figures_dir=figures)
    outs = []
    for run in ("a", "b"):
        html, pdf = root / run / "report.html", root / run / "report.pdf"
        description = render.render_report(QMD, root / "fragments", html, pdf, figures_dir=figures,
                                           work_dir=root / f"work-{run}", renderer="fallback",
                                           date="2026-01-15")
        outs.append((html, pdf, description))
    return {"root": root, "figures": figures, "runs": outs}


def test_fallback_html_is_self_contained(rendered):
    html, _, description = rendered["runs"][0]
    soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
    images = soup.find_all("img")
    assert len(images) == len(report.conventional_figures(study()))
    assert all(img["src"].startswith("data:image/") for img in images)
    for tag in soup.find_all(["script", "link", "iframe", "source", "object"]):
        for attr in ("src", "href", "data"):
            assert not str(tag.get(attr, "")).startswith(("http:", "https:", "//")), tag
    assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", str(soup))
    assert "mathjax" not in str(soup).lower()


def test_fallback_html_reads_like_the_quarto_report(rendered):
    html, _, description = rendered["runs"][0]
    soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
    text = soup.get_text(" ")
    assert description.startswith("Rendered by the Pandoc ") and "fallback (no quarto CLI on PATH)" in description
    assert description in re.sub(r"\s+", " ", text)
    assert "@fig-" not in text and "@tbl-" not in text and "{{<" not in text and ":::" not in text
    assert "Figure 1:" in text and "Table 1:" in text
    for link in soup.select('a[href^="#fig-"], a[href^="#tbl-"]'):
        assert soup.find(id=link["href"][1:]) is not None, link
        assert re.fullmatch(r"(Figure|Table) \d+|\d+", link.get_text()), link
    callout = soup.select_one("div.callout-warning")
    assert callout is not None and "Synthetic data" in callout.get_text()
    assert "11/17" in text and "64.7%" in text and JAPANESE in text


def test_fallback_pdf_has_japanese_text_and_numbers(rendered):
    _, pdf, description = rendered["runs"][0]
    text = pdf_text(pdf)
    assert JAPANESE in text
    assert "クライアントに巻き込まれた" in text  # the code label, set in IPAexGothic
    for number in ("11/17", "64.7%", "0.452", "0.004", "-0.29", "37"):
        assert number in text, number
    assert "Figure 1" in text and "Table 1" in text and "@fig-" not in text
    assert "Typst" in text and "fallback" in text


def test_rendering_is_deterministic(rendered):
    (html_a, pdf_a, _), (html_b, pdf_b, _) = rendered["runs"]
    assert html_a.read_bytes() == html_b.read_bytes()
    assert pdf_a.read_bytes() == pdf_b.read_bytes()


def test_typst_font_list_puts_latin_first_and_japanese_as_fallback(rendered):
    typ = (rendered["root"] / "work-a" / "report.typ").read_text(encoding="utf-8")
    assert '#set text(font: ("Libertinus Serif", "IPAexGothic"))' in typ
    assert "#set figure(numbering: none)" in typ  # numbers are in the captions, as in Quarto


# ------------------------------------------------------------------ renderer choice

def fake_quarto(bin_dir: Path) -> Path:
    script = bin_dir / "quarto"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo 1.6.40; exit 0; fi\n'
        'echo "$@" >> quarto-calls.txt\n'
        'if [ "$4" = "html" ]; then echo "<html>from quarto</html>" > report.html; '
        "else printf '%%PDF-1.7 fake' > report.pdf; fi\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def minimal_project(root: Path) -> tuple[Path, Path, Path]:
    qmd = write(root / "src" / "report.qmd", "---\nmetadata-files: [_fragments/meta.yml, _fragments/render.yml]\n"
                "---\n\n{{< meta renderer >}}\n\n{{< include _fragments/body.md >}}\n")
    write(root / "src" / "_quarto.yml", "project:\n  type: default\n")
    frag = root / "frag"
    write(frag / "meta.yml", "title: Minimal\n")
    write(frag / "body.md", f"Body {JAPANESE}.\n")
    figures = root / "figs"
    figures.mkdir()
    return qmd, frag, figures


@pytest.mark.skipif(os.name == "nt", reason="shell script stands in for quarto")
def test_quarto_on_path_is_used_with_the_same_source(tmp_path, monkeypatch):
    qmd, frag, figures = minimal_project(tmp_path)
    fake_quarto(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv(render.RENDERER_ENV, raising=False)
    work = tmp_path / "work"
    description = render.render_report(qmd, frag, tmp_path / "out.html", tmp_path / "out.pdf",
                                       figures_dir=figures, work_dir=work)
    assert description == "Rendered by Quarto 1.6.40"
    calls = (work / "quarto-calls.txt").read_text().splitlines()
    assert calls == ["render report.qmd --to html", "render report.qmd --to typst"]
    assert (tmp_path / "out.html").read_text() == "<html>from quarto</html>\n"
    assert (tmp_path / "out.pdf").read_bytes().startswith(b"%PDF")
    project = yaml.safe_load((work / "_quarto.yml").read_text(encoding="utf-8"))
    assert Path(project["format"]["typst"]["font-paths"][0], "ipaexg.ttf").exists()
    meta = yaml.safe_load((work / "_fragments" / "render.yml").read_text(encoding="utf-8"))
    assert meta["renderer"] == description


def test_fallback_can_be_forced_and_quarto_demanded(tmp_path, monkeypatch):
    qmd, frag, figures = minimal_project(tmp_path)
    fake_quarto(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv(render.RENDERER_ENV, "fallback")
    description = render.render_report(qmd, frag, tmp_path / "o.html", tmp_path / "o.pdf",
                                       figures_dir=figures, date="2026-01-15")
    assert "fallback" in description
    assert description in (tmp_path / "o.html").read_text(encoding="utf-8")
    assert JAPANESE in pdf_text(tmp_path / "o.pdf")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(RenderError, match="no quarto CLI"):
        render.render_report(qmd, frag, tmp_path / "x.html", tmp_path / "x.pdf", figures_dir=figures,
                             renderer="quarto")
    assert not (tmp_path / "x.html").exists()


# ------------------------------------------------------------------ end to end (pilot)

@pytest.fixture(scope="module")
def pilot(tmp_path_factory, pilot_run):
    """A copy of the pilot after the workflow ran (the shared full run of conftest's
    ``pilot_run``, the workflow's own reports included) with the checkout's report templates
    and lock, and the pilot report rendered from it."""
    from alliance_pipeline.common import provenance
    from alliance_pipeline.config import load as study_config
    from alliance_pipeline.config import settings

    root = copy_run(pilot_run, tmp_path_factory.mktemp("pilot") / "study")
    shutil.copytree(REPO / "reports", root / "reports", dirs_exist_ok=True, ignore=shutil.ignore_patterns(
        "__pycache__", "*.html", "*.pdf", "pilot", "study"))
    shutil.copy2(REPO / "requirements.lock", root / "requirements.lock")
    derived = root / "data" / "derived" / "pilot"
    cwd = os.getcwd()
    os.chdir(root)
    try:
        config, codebook = study_config.load_study("config/config.yaml")
    finally:
        os.chdir(cwd)
    st = settings.study_settings(config, codebook)
    co = settings.cohort_settings(config, "pilot")
    prov = provenance.collect_provenance(
        raw_files=provenance.raw_file_hashes(root / co["raw"], base=root), config=config,
        codebook_version=st["codebook_version"], lock_file=root / "requirements.lock", repo_dir=REPO,
        command="snakemake --cores 2 reports/pilot/report.html reports/pilot/report.pdf")
    tables = report.load_tables(derived)
    report.write_fragments(tables, study=st, cohort=co, provenance=prov, out_dir=root / "fragments",
                           figures_dir=derived / "figures")
    html, pdf = root / "out" / "report.html", root / "out" / "report.pdf"
    render.render_report(root / "reports" / "report.qmd", root / "fragments", html, pdf,
                         figures_dir=derived / "figures", work_dir=root / "work", renderer="fallback")
    return {"root": root, "derived": derived, "tables": tables, "html": html, "pdf": pdf,
            "study": st, "cohort": co, "provenance": prov}


def html_table(soup, ident: str) -> list[list[str]]:
    table = soup.find("table", id=ident)
    assert table is not None, ident
    return [[c.get_text(" ", strip=True) for c in tr.find_all(["td", "th"])] for tr in table.find_all("tr")[1:]]


def pct(x) -> str:
    return f"{float(x) * 100:.1f}%"


def p3(x) -> str:
    return "< 0.001" if float(x) < 0.001 else f"{float(x):.3f}"


@pytest.mark.workflow
def test_pilot_report_shows_the_derived_shares(pilot):
    soup = BeautifulSoup(pilot["html"].read_text(encoding="utf-8"), "html.parser")
    check_shares(soup, pilot)


@pytest.mark.workflow
def test_the_workflow_s_own_report_is_self_contained_and_shows_the_shares(pilot):
    html = pilot["root"] / "reports" / "pilot" / "report.html"
    if not html.exists():
        pytest.skip("the workflow does not build reports/pilot/report.html yet")
    assert (pilot["root"] / "reports" / "pilot" / "report.pdf").exists()
    soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
    assert soup.find_all("img") and all(i["src"].startswith("data:") for i in soup.find_all("img"))
    # nothing loaded from elsewhere: no remote src, no remote stylesheet or other <link>; an
    # <a> to the cited paper's DOI is a link the reader may follow, not a resource
    remote = re.compile(r"^(?:https?:)?//")
    assert not [tag for tag in soup.find_all(src=True) if remote.match(tag["src"])]
    assert not [tag for tag in soup.find_all(href=True) if tag.name != "a" and remote.match(tag["href"])]
    assert {a["href"] for a in soup.find_all("a", href=remote)} <= {"https://doi.org/10.1186/s40359-025-02882-y"}
    assert "Rendered by" in soup.get_text(" ")
    check_shares(soup, pilot)


def check_shares(soup, pilot):
    questions = pilot["study"]["questions"]
    props = pd.read_csv(pilot["derived"] / "proportions.csv")
    shown = {}
    for q, spec in questions.items():
        kind = "shares" if len(spec["timepoints"]) >= 2 else "frequencies"
        for row in html_table(soup, f"tbl-{kind}-{slug(q)}"):
            shown[(q, row[0], row[1])] = row[2:5]
            if kind == "frequencies":  # and the share of all codes given, counted by hand
                code = next(c for c, label in questions[q]["labels"].items() if label == row[0])
                assert row[5] == pct(pilot_shares_by_hand(pilot["derived"])["codes"][(q, code, row[1])])
    assert len(shown) == len(props)
    for r in props.itertuples():
        label = questions[r.question]["labels"][r.code]
        assert shown[(r.question, label, r.timepoint)] == [
            f"{r.k}/{r.n}", pct(r.proportion), f"[{r.ci_low * 100:.1f}, {r.ci_high * 100:.1f}]"]


@pytest.mark.workflow
def test_pilot_report_shows_the_derived_tests_agreement_and_power(pilot):
    soup = BeautifulSoup(pilot["html"].read_text(encoding="utf-8"), "html.parser")
    questions = pilot["study"]["questions"]
    tests = pd.read_csv(pilot["derived"] / "tests.csv")
    mc = tests[tests["test"] == "mcnemar"]
    for q in mc["question"].unique():
        rows = {(r[0], r[1], r[6]): r for r in html_table(soup, f"tbl-mcnemar-{slug(q)}")}
        assert len(rows) == (mc["question"] == q).sum()
        for r in mc[mc["question"] == q].itertuples():
            shown = rows[(questions[q]["labels"][r.code], r.contrast, r.method)]
            assert shown[3].split(" ")[0] == str(r.n)
            assert shown[4:6] == [str(int(r.b)), str(int(r.c))]
            assert shown[7:9] == [p3(r.p_value), p3(r.p_adjusted)]
            assert shown[9].startswith(f"{r.risk_difference:.2f} [{r.rd_ci_low:.2f}, {r.rd_ci_high:.2f}]")
    agreement = pd.read_csv(pilot["derived"] / "agreement.csv")
    rows = html_table(soup, "tbl-agreement")
    assert [r[6] for r in rows] == [f"{a:.2f}" for a in agreement["krippendorff_alpha"]]
    assert [r[9] for r in rows] == list(agreement["verdict"])
    power = pd.read_csv(pilot["derived"] / "power.csv")
    shown_n = {c for r in html_table(soup, "tbl-power") for c in r[5:]}
    assert {str(int(n)) for n in power["n_required"].dropna()} <= shown_n


@pytest.mark.workflow
def test_pilot_report_embeds_every_figure_and_checks_the_published_shares(pilot):
    soup = BeautifulSoup(pilot["html"].read_text(encoding="utf-8"), "html.parser")
    embedded = {hashlib.sha256(base64.b64decode(img["src"].split(",", 1)[1])).hexdigest()
                for img in soup.find_all("img")}
    files = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (pilot["derived"] / "figures").glob("*.png")}
    assert files and files == embedded
    published = pilot["cohort"]["published"]
    rows = html_table(soup, "tbl-published")
    assert len(rows) == sum(len(tp) for codes in published.values() for tp in codes.values()) == 9
    reproduced_of = pilot_shares_by_hand(pilot["derived"])
    for row in rows:
        q = row[0]
        code = next(c for c, label in pilot["study"]["questions"][q]["labels"].items() if label == row[1])
        figure = published[q][code][row[2]]
        share, basis = (figure["share"], figure["basis"]) if isinstance(figure, dict) else (figure, "participants")
        assert row[3] == basis and row[4] == f"{share:.2f}"
        reproduced = reproduced_of[basis][(q, code, row[2])]
        assert row[5] == f"{reproduced:.3f}"
        differs = abs(round_half_up(reproduced) - share) > 0.005 + 1e-12
        assert row[8] == ("differs" if differs else "matches")
    # the paper's feedback figures, as shares of the 42 codes given: 10, 9 and 6 of them
    assert [(r[1], r[3], r[5], r[8]) for r in rows[6:]] == [
        ("Noticing captivity objectively", "codes", "0.238", "matches"),
        ("Relating with intention", "codes", "0.214", "matches"),
        ("Not being upset", "codes", "0.143", "matches")]


def pilot_shares_by_hand(derived: Path) -> dict:
    """basis -> {(question, code, timepoint): share}, counted from final_codes.csv with the
    csv module: participants with the code over participants who answered, and over all
    codes given (the sum of those counts over the question's codes)."""
    import csv

    with open(derived / "final_codes.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    answered, having = {}, {}
    for r in rows:
        answered.setdefault((r["question"], r["timepoint"]), set()).add(r["participant_id"])
        having.setdefault((r["question"], r["code"], r["timepoint"]), set())
        if r["present"] == "1":
            having[(r["question"], r["code"], r["timepoint"])].add(r["participant_id"])
    given = {}
    for (q, _, tp), who in having.items():
        given[(q, tp)] = given.get((q, tp), 0) + len(who)
    return {"participants": {key: len(who) / len(answered[(key[0], key[2])]) for key, who in having.items()},
            "codes": {key: len(who) / given[(key[0], key[2])] for key, who in having.items()}}


@pytest.mark.workflow
def test_pilot_pdf_shows_the_same_numbers(pilot):
    text = pdf_text(pilot["pdf"])
    props = pd.read_csv(pilot["derived"] / "proportions.csv")
    for r in props.itertuples():
        assert f"{r.k}/{r.n}" in text and pct(r.proportion) in text
    for _path, sha in pilot["provenance"]["raw_files"]:
        assert sha in text.replace("\n", "")
    assert "synthetic" in text.lower()


# ------------------------------------------------------------------ page width and format links

def front_matter(qmd: Path) -> dict:
    return yaml.safe_load(qmd.read_text(encoding="utf-8").split("---\n")[1])


@pytest.mark.parametrize("source", ["report.qmd", "study.qmd"])
def test_quarto_options_turn_format_links_off_and_size_table_columns_to_content(source):
    """Quarto 1.7's documented options: `format-links: false` (HTML format option: no "Other
    Formats" links) and `tbl-colwidths: false` (no widths proportional to the pipe table's
    source, which wrapped the McNemar table's headers in Quarto's PDF)."""
    meta = front_matter(REPO / "reports" / source)
    assert meta["format"]["html"]["format-links"] is False
    assert meta["tbl-colwidths"] is False


def test_fallback_follows_tbl_colwidths_as_quarto_does():
    args = column_widths
    assert args({}, "typst") == [] and args({"tbl-colwidths": True}, "html") == []
    assert args({"tbl-colwidths": "auto"}, "html") == []
    assert args({"tbl-colwidths": False}, "typst") == ["--columns=100000"]
    assert args({"tbl-colwidths": True, "format": {"typst": {"tbl-colwidths": False}}},
                "typst") == ["--columns=100000"]
    with pytest.raises(RenderError, match="tbl-colwidths"):
        args({"tbl-colwidths": [40, 60]}, "typst")


def margin_pt(qmd: Path) -> float:
    margin = front_matter(qmd)["format"]["typst"]["margin"]["x"]
    assert margin.endswith("cm")
    return float(margin[:-2]) / 2.54 * 72


@pytest.mark.workflow
def test_pilot_pdf_tables_fit_the_text_block_on_one_line_per_row(pilot):
    fragments = fragment_rows(pilot["root"] / "fragments")
    assert len(fragments) == len(html_rows(pilot["html"])) > 50  # every table row of the report
    assert layout_problems(pilot["pdf"], fragments, margin_pt(QMD)) == []


@pytest.mark.workflow
def test_layout_check_sees_the_wrapped_tables_of_quarto_s_default_widths(pilot, tmp_path):
    """With tbl-colwidths: true (Quarto's default for PDF) the McNemar table's columns get
    widths proportional to its source and 'Contrast' wraps, as in Quarto's own PDF."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "report.qmd").write_text(QMD.read_text(encoding="utf-8").replace(
        "tbl-colwidths: false", "tbl-colwidths: true"), encoding="utf-8")
    shutil.copyfile(QMD.with_name("_quarto.yml"), source / "_quarto.yml")
    pdf = tmp_path / "report.pdf"
    render.render_report(source / "report.qmd", pilot["root"] / "fragments", tmp_path / "report.html",
                         pdf, figures_dir=pilot["derived"] / "figures", work_dir=tmp_path / "work",
                         renderer="fallback")
    problems = layout_problems(pdf, fragment_rows(pilot["root"] / "fragments"), margin_pt(QMD))
    assert any(p.startswith("results.md: row not on one line: Code | Contrast") for p in problems), problems


@pytest.mark.workflow
def test_pilot_html_has_no_links_to_other_formats(pilot):
    soup = BeautifulSoup(pilot["html"].read_text(encoding="utf-8"), "html.parser")
    assert "Other Formats" not in soup.get_text(" ")
    assert not [a["href"] for a in soup.find_all("a", href=True)
                if re.search(r"\.(pdf|typ|docx)$", a["href"])]


@pytest.mark.workflow
def test_pilot_summary_is_short_and_carries_the_numbers_of_the_derived_tables(pilot):
    """The summary fragment of the pilot, against tests.csv, proportions.csv and
    agreement.csv read here (pandas, formatted by hand)."""
    text = (pilot["root"] / "fragments" / "summary.md").read_text(encoding="utf-8").strip()
    # at most about 150 words, plus the one sentence that answers the design's own question
    # (the difference of changes, #22) and the reliability verdict on alpha's lower bound,
    # naming the codes below 0.800 (#32): 211 words for the pilot's three codes
    assert "\n" not in text
    assert len(text.split()) <= 215
    assert text.startswith("The synthetic cohort *Pilot cohort (synthetic reconstruction)* of 23 "
                           "participants answered at pre1, pre2 and post")
    questions = pilot["study"]["questions"]
    tests = pd.read_csv(pilot["derived"] / "tests.csv")
    mcnemar = tests[(tests["test"] == "mcnemar") & (tests["method"] != "clustered")]
    training = mcnemar[mcnemar["contrast"] == "training"]
    assert len(training) == 3  # hooked, engaged_well, anxious
    for r in training.itertuples():
        label = questions[r.question]["labels"][r.code]
        effect = (f"(RD {r.risk_difference:.2f}, 95% CI [{r.rd_ci_low:.2f}, {r.rd_ci_high:.2f}], "
                  f"Holm-adjusted p = {r.p_adjusted:.3f})")
        verb = ("rose" if r.risk_difference > 0 else "fell") + ("" if r.p_adjusted < 0.05 else " non-significantly")
        assert f"*{label}* {verb} {effect}" in text
    baseline = mcnemar[mcnemar["contrast"] == "baseline"]
    assert (baseline["p_adjusted"] >= 0.05).all()  # the pilot's baseline: nothing changed
    assert (f"Over the baseline without training (pre1 → pre2), no code changed significantly "
            f"(every adjusted p ≥ {baseline['p_adjusted'].min():.3f})") in text
    props = pd.read_csv(pilot["derived"] / "proportions.csv")
    feedback = props[props["question"] == "training_feedback"].sort_values(
        ["proportion", "code"], ascending=[False, True]).head(3)
    listed = [f"*{questions['training_feedback']['labels'][r.code]}* ({r.proportion * 100:.1f}%)"
              for r in feedback.itertuples()]
    assert f"{listed[0]}, {listed[1]} and {listed[2]}" in text
    agreement = pd.read_csv(pilot["derived"] / "agreement.csv")
    alphas = agreement.loc[agreement["code"] != "*", "krippendorff_alpha"]
    assert (f"Krippendorff's α ranged from {alphas.min():.2f} to {alphas.max():.2f} over "
            f"{len(alphas)} codes") in text
    assert text.endswith("The data are synthetic: no conclusion about the training can be drawn.")
