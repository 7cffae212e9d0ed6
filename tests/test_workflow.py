"""The workflow as a user runs it: dry run, no-op rerun, code-change reruns, other folders.

A copy of the checkout (Snakefile, rules, scripts, package, schemas, config, raw pilot)
goes to a temporary folder so a test can edit a package module without touching the repo.
"""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
CHECKOUT_PARTS = ["Snakefile", "rules", "scripts", "src", "schemas", "config", "reports",
                  "environment.yml", "requirements.lock", "data/raw/pilot"]

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]


def copy_checkout(dest: Path) -> Path:
    for part in CHECKOUT_PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns(
                "__pycache__", "pilot", "study", "*.html", "*.pdf") if part == "reports" else
                shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            (dest / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / part)
    return dest


def snakemake(*args, snakefile: Path, workdir: Path, check=True):
    result = subprocess.run([SNAKEMAKE, "-s", str(snakefile), "-d", str(workdir), "--cores", "2",
                             *args], capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


def planned_jobs(result) -> dict[str, int]:
    """rule -> count from a dry run's 'Job stats' table."""
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:")[1].split("Reasons:")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)
            if m.group(1) != "total"}


def git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(root), "-c", "user.name=Test", "-c",
                             "user.email=test@example.org", "-c", "commit.gpgsign=false", *args],
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def git_checkout(root: Path) -> Path:
    """``root`` made a git repository with everything in it committed (a fresh clone)."""
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "checkout")
    return root


def appendix_commit(html: Path) -> str:
    """The appendix's 'Pipeline commit: <commit> (state)' line of a rendered report, as text."""
    text = re.sub(r"<[^>]+>", "", html.read_text(encoding="utf-8"))
    match = re.search(r"Pipeline commit: (\S+)( \([^)]*\))?", text)
    assert match, "no 'Pipeline commit' line in the report"
    return match.group(0)


@pytest.fixture(scope="module")
def ran_checkout(tmp_path_factory):
    """A git checkout (a copy of this one, committed) after one full run (the default target)."""
    root = git_checkout(copy_checkout(tmp_path_factory.mktemp("checkout")))
    snakemake(snakefile=root / "Snakefile", workdir=root)
    return root


def test_dry_run_lists_every_step(tmp_path):
    root = copy_checkout(tmp_path)
    jobs = planned_jobs(snakemake("-n", snakefile=root / "Snakefile", workdir=root))
    for rule in ("intake", "disagreements", "consensus", "agreement", "change", "figures"):
        assert jobs.get(rule) == 1, jobs


def test_after_a_full_run_there_is_nothing_to_do(ran_checkout):
    result = snakemake("-n", snakefile=ran_checkout / "Snakefile", workdir=ran_checkout)
    assert planned_jobs(result) == {}


def jobs_after_editing(root: Path, module: str) -> dict[str, int]:
    """The dry run's plan after appending a comment to a package module (then undone)."""
    path = root / "src/alliance_pipeline" / module
    original = path.read_text(encoding="utf-8")
    path.write_text(original + "\n# an edit\n", encoding="utf-8")
    try:
        return planned_jobs(snakemake("-n", snakefile=root / "Snakefile", workdir=root))
    finally:
        path.write_text(original, encoding="utf-8")


def test_editing_a_package_module_reruns_exactly_its_rules_and_dependents(ran_checkout):
    jobs = jobs_after_editing(ran_checkout, "coding/agreement.py")
    # coding/agreement.py is run by the agreement rule; figures and the report read its table
    assert set(jobs) == {"agreement", "figures", "render_report", "all"}, jobs


def test_editing_the_intake_module_reruns_the_whole_chain(ran_checkout):
    jobs = jobs_after_editing(ran_checkout, "intake/cohort.py")
    assert {"intake", "disagreements", "consensus", "agreement", "change", "figures"} <= set(jobs)


def test_runs_from_another_working_directory(tmp_path):
    """snakemake -s <checkout>/Snakefile -d <dir>: config, raw files and outputs under <dir>."""
    data_dir = tmp_path / "mystudy"
    shutil.copytree(REPO / "config", data_dir / "config")
    shutil.copytree(REPO / "data/raw/pilot", data_dir / "data/raw/pilot")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run([SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(data_dir), "--cores", "2",
                             "data/derived/pilot/proportions.csv"],
                            cwd=elsewhere, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (data_dir / "data/derived/pilot/proportions.csv").is_file()
    assert (data_dir / "logs/pilot/intake.log").is_file()
    assert not (elsewhere / "data").exists()
    assert not (REPO / "data/derived/pilot/.snakemake").exists()


def test_report_names_the_commit_of_a_clean_checkout_after_a_run_in_it(ran_checkout):
    """make run in a fresh clone: the derived tables, reports and logs the run writes are
    untracked files, which do not make the tree dirty."""
    head = git(ran_checkout, "rev-parse", "HEAD")
    assert git(ran_checkout, "status", "--porcelain", "--untracked-files=all")  # outputs exist
    assert appendix_commit(ran_checkout / "reports/pilot/report.html") == (
        f"Pipeline commit: {head} (clean working tree)")


def test_report_names_the_commit_and_dirty_tree_of_a_checkout_run_on_another_folder(tmp_path):
    """snakemake -s <checkout>/Snakefile -d <data folder>: the commit is the checkout's, and an
    edited tracked file of the checkout marks the tree dirty."""
    checkout = git_checkout(copy_checkout(tmp_path / "checkout"))
    data_dir = tmp_path / "mystudy"
    shutil.copytree(REPO / "config", data_dir / "config")
    shutil.copytree(REPO / "data/raw/pilot", data_dir / "data/raw/pilot")
    html = data_dir / "reports/pilot/report.html"
    snakemake(str(html.relative_to(data_dir)), snakefile=checkout / "Snakefile", workdir=data_dir)
    head = git(checkout, "rev-parse", "HEAD")
    assert appendix_commit(html) == f"Pipeline commit: {head} (clean working tree)"
    # a tracked file the workflow does not read, edited: the same commit, now dirty
    with open(checkout / "environment.yml", "a", encoding="utf-8") as handle:
        handle.write("# an edit\n")
    snakemake(str(html.relative_to(data_dir)), "--forcerun", "render_report",
              snakefile=checkout / "Snakefile", workdir=data_dir)
    assert appendix_commit(html) == (
        f"Pipeline commit: {head} (the working tree had uncommitted changes)")


def test_a_config_error_stops_the_run_with_the_key_named(tmp_path):
    root = copy_checkout(tmp_path)
    result = snakemake("-n", "--config", "codebook=config/codebook.yaml", "analysis={'p_adjust': 'fdr'}",
                       snakefile=root / "Snakefile", workdir=root, check=False)
    assert result.returncode != 0
    assert "analysis.p_adjust: 'fdr' is not one of holm | bonferroni | none" in result.stderr + result.stdout


def test_items_example_gets_participant_level_and_clustered_mcnemar_rows(tmp_path):
    """examples/items: 12 participants x 3 scenes; participant rows aggregate by `any`."""
    import csv

    config = (REPO / "examples/items/config/config.yaml").read_text(encoding="utf-8")
    config = config.replace("../../config/codebook.yaml", str(REPO / "config/codebook.yaml"))
    config = config.replace("../../data/raw/pilot_items", str(REPO / "data/raw/pilot_items"))
    (tmp_path / "config").mkdir()
    (tmp_path / "config/config.yaml").write_text(config, encoding="utf-8")
    snakemake("data/derived/pilot_items/tests.csv", snakefile=REPO / "Snakefile", workdir=tmp_path)
    with open(tmp_path / "data/derived/pilot_items/tests.csv", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["test"] == "mcnemar" and r["code"] == "hooked"]
    methods = [(r["contrast"], r["method"]) for r in rows]
    assert [m for m in methods if m[1] == "clustered"] == [
        ("baseline", "clustered"), ("training", "clustered"), ("overall", "clustered")]
    participant_rows = [r for r in rows if r["method"] != "clustered"]
    assert {r["n"] for r in participant_rows} == {"12"}  # participants, not scenes
    clustered = [r for r in rows if r["method"] == "clustered"]
    assert {r["n"] for r in clustered} == {"36"}  # scene pairs: 12 participants x 3 scenes
    # Hand count of the participant-level table from the raw files: a participant has
    # `hooked` at a time point if any scene's (unanimous) code set carries it.
    with open(REPO / "data/raw/pilot_items/responses.csv", encoding="utf-8") as handle:
        responses = {r["response_id"]: r for r in csv.DictReader(handle)}
    with open(REPO / "data/raw/pilot_items/codes/coder_a.csv", encoding="utf-8") as handle:
        codes = {r["response_id"]: r["codes"].split(";") for r in csv.DictReader(handle)}
    hooked = {}
    for rid, r in responses.items():
        key = (r["participant_id"], r["timepoint"])
        hooked[key] = hooked.get(key, False) or "hooked" in codes[rid]
    people = sorted({p for p, _ in hooked})
    b = sum(hooked[(p, "pre2")] and not hooked[(p, "post")] for p in people)
    c = sum(not hooked[(p, "pre2")] and hooked[(p, "post")] for p in people)
    training = next(r for r in participant_rows if r["contrast"] == "training")
    assert (int(training["b"]), int(training["c"])) == (b, c)


def test_pilot_shares_from_final_codes_are_the_documented_targets(ran_checkout):
    """Counted by hand (csv module) from final_codes.csv and proportions.csv of a full run;
    targets documented in src/alliance_pipeline/examples/synthetic.py."""
    import csv

    derived = ran_checkout / "data/derived/pilot"
    with open(derived / "final_codes.csv", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["question"] == "session_experience"]
    def count(code, timepoint):
        at = [r for r in rows if r["code"] == code and r["timepoint"] == timepoint]
        return sum(r["present"] == "1" for r in at), len(at)
    targets = {("hooked", "pre1"): (15, 23), ("hooked", "pre2"): (11, 22), ("hooked", "post"): (4, 23),
               ("engaged_well", "pre1"): (5, 23), ("engaged_well", "pre2"): (8, 22),
               ("engaged_well", "post"): (19, 23)}
    assert {key: count(*key) for key in targets} == targets
    with open(derived / "proportions.csv", encoding="utf-8") as handle:
        shares = {(r["code"], r["timepoint"]): (int(r["k"]), int(r["n"])) for r in csv.DictReader(handle)
                  if r["question"] == "session_experience"}
    assert {key: shares[key] for key in targets} == targets
    for name in ("disagreements.csv", "agreement.csv", "tests.csv", "power.csv", "models.csv"):
        assert (derived / name).stat().st_size > 0
    assert (ran_checkout / "reports/pilot/report.html").is_file()
    assert (ran_checkout / "reports/pilot/report.pdf").is_file()


def test_pilot_difference_of_changes_by_hand(ran_checkout):
    """models.csv's sign-flip rows recounted from final_codes.csv with the csv module: d =
    post − 2·pre2 + pre1 per participant with all three answers (P17 missed pre2), the mean,
    and the exact p by listing every sign pattern with itertools.product."""
    import csv
    from itertools import product

    derived = ran_checkout / "data/derived/pilot"
    with open(derived / "final_codes.csv", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["question"] == "session_experience"]
    with open(derived / "models.csv", encoding="utf-8") as handle:
        models = list(csv.DictReader(handle))
    for code in ("hooked", "engaged_well"):
        y = {(r["participant_id"], r["timepoint"]): int(r["present"]) for r in rows if r["code"] == code}
        people = sorted({p for p, _ in y})
        d = [y[(p, "post")] - 2 * y[(p, "pre2")] + y[(p, "pre1")] for p in people
             if all((p, t) in y for t in ("pre1", "pre2", "post"))]
        assert len(d) == 22 and len(people) == 23
        nonzero = [v for v in d if v]
        observed = abs(sum(nonzero))
        extreme = sum(abs(sum(s * v for s, v in zip(signs, nonzero, strict=True))) >= observed
                      for signs in product((1, -1), repeat=len(nonzero)))
        (flip,) = [r for r in models if r["code"] == code and r["method"] == "signflip"]
        assert flip["term"] == "training - baseline" and flip["scale"] == "risk_difference"
        assert float(flip["estimate"]) == pytest.approx(sum(d) / 22, abs=1e-12)
        assert float(flip["p_value"]) == pytest.approx(extreme / 2 ** len(nonzero), abs=1e-12)
        assert (int(flip["n_participants"]), int(flip["n_observations"])) == (22, 66)
        gee = [r for r in models if r["code"] == code and r["method"] == "gee_bias_reduced"]
        assert [r["term"] for r in gee] == ["baseline", "training", "overall", "training - baseline"]
        assert all((int(r["n_participants"]), int(r["n_observations"])) == (23, 68) for r in gee)
