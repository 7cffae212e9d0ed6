"""``snakemake --report`` after a run: Snakemake's own report of the workflow.

The workflow runs on a copy of the pilot, then ``snakemake --report report.zip`` packs the
outputs marked with ``report()`` in the rules: the cohort's report (rules/report.smk, caption
rules/captions/report.rst, category "Report") and every figure PNG (caption
rules/captions/figures.rst, category "Figures", one subcategory per cohort). The archive's
``report/report.html`` carries the list of results as JSON (``var results = {...}``), with
each result's caption rendered to HTML; the result files themselves sit under
``report/data/``.
"""
from __future__ import annotations

import hashlib
import html
import json
import re
import zipfile
from pathlib import Path

import pytest

from conftest import copy_run, once_per_session, run_workflow

REPO = Path(__file__).resolve().parents[1]
CAPTIONS = REPO / "rules" / "captions"
COHORT = "pilot"
REPORT = f"reports/{COHORT}/report.html"
FIGURES = f"data/derived/{COHORT}/figures"

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]


def report_of(run: Path, root: Path) -> dict:
    """``snakemake --report`` on a copy of the finished run ``run`` (its outputs and metadata)."""
    study = copy_run(run, root / "study")
    archive = root / "report.zip"
    made = run_workflow(study, extra=("--report", str(archive)))
    return {"study": str(study), "archive": str(archive), "returncode": made.returncode,
            "log": (made.stdout[-3000:] + "\n" + made.stderr[-5000:])}


@pytest.fixture(scope="module")
def snakemake_report(pilot_run, tmp_path_factory) -> dict:
    """The run's folder (the shared full pilot run), and ``snakemake --report report.zip``'s
    exit status, log and archive."""
    return once_per_session(tmp_path_factory, "snakemake_report", lambda root: report_of(pilot_run, root))


@pytest.fixture(scope="module")
def archive(snakemake_report) -> dict:
    """The archive's files (name -> bytes) and the JSON variables of its report.html."""
    path = Path(snakemake_report["archive"])
    assert snakemake_report["returncode"] == 0, f"snakemake --report failed:\n{snakemake_report['log']}"
    assert zipfile.is_zipfile(path), f"{path} is not a zip archive"
    with zipfile.ZipFile(path) as zf:
        files = {name: zf.read(name) for name in zf.namelist() if not name.endswith("/")}
    assert "report/report.html" in files, sorted(files)
    page = files["report/report.html"].decode("utf-8")
    return {"files": files, "results": script_variable(page, "results", "results"),
            "categories": script_variable(page, "categories", "categories")}


def script_variable(page: str, script_id: str, name: str):
    """The JSON value of ``<script id="script_id"> var name = {...};`` in Snakemake's report."""
    match = re.search(rf'<script id="{re.escape(script_id)}">\s*var {re.escape(name)} = ', page)
    assert match, f"no `var {name}` in the report's <script id={script_id!r}>"
    return json.JSONDecoder().raw_decode(page, match.end())[0]


def words(text: str, markup: bool = False) -> list[str]:
    """The words of a caption: of its reStructuredText source, or (``markup``) of the HTML
    Snakemake made of it."""
    if markup:
        text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return re.findall(r"\w+", text)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def archived(archive: dict, name: str) -> list[str]:
    """Archive members called ``name`` (Snakemake keeps result files under report/data/)."""
    return [member for member in archive["files"]
            if member.startswith("report/data/") and member.rsplit("/", 1)[-1] == name]


def test_report_command_succeeds_after_a_run(snakemake_report):
    assert snakemake_report["returncode"] == 0, snakemake_report["log"]
    assert zipfile.is_zipfile(snakemake_report["archive"])


def test_cohort_report_is_included_with_its_caption(archive, snakemake_report):
    result = archive["results"].get(REPORT)
    assert result is not None, f"{REPORT} is not among the results {sorted(archive['results'])}"
    caption = words((CAPTIONS / "report.rst").read_text(encoding="utf-8"))
    assert words(result["caption"], markup=True) == caption, f"caption {result['caption']!r}"
    assert REPORT in archive["categories"].get("Report", {}).get("Other", []), archive["categories"]
    original = (Path(snakemake_report["study"]) / REPORT).read_bytes()
    members = archived(archive, "report.html")
    assert [sha256(archive["files"][m]) for m in members] == [sha256(original)], \
        f"the archive does not hold the run's {REPORT} unchanged: {members}"


def test_every_figure_is_included_with_its_caption(archive, snakemake_report):
    figures = sorted((Path(snakemake_report["study"]) / FIGURES).glob("*.png"))
    assert figures, "the run drew no figure"
    caption = words((CAPTIONS / "figures.rst").read_text(encoding="utf-8"))
    missing = [f"{FIGURES}/{f.name}" for f in figures if f"{FIGURES}/{f.name}" not in archive["results"]]
    assert not missing, ("figures missing from snakemake --report (wrap the PNG outputs of rule "
                         f"figures in report() in rules/report.smk): {missing}")
    listed = archive["categories"].get("Figures", {}).get(COHORT, [])
    for figure in figures:
        key = f"{FIGURES}/{figure.name}"
        result = archive["results"][key]
        assert result["mime_type"] == "image/png", result["mime_type"]
        assert words(result["caption"], markup=True) == caption, f"{key}: caption {result['caption']!r}"
        assert key in listed, f"{key} is not under Figures / {COHORT}: {archive['categories']}"
        members = archived(archive, figure.name)
        assert [sha256(archive["files"][m]) for m in members] == [sha256(figure.read_bytes())], \
            f"the archive does not hold {key} unchanged: {members}"
