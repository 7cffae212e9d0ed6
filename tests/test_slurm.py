"""The workflow on a real SLURM through profiles/slurm, with the plugin of the cluster lock.

A single-node cluster (tests/cluster/start.sh: slurmctld, slurmd, slurmdbd over MariaDB,
munge; .ci/run starts it) runs the pilot and a second cohort with
``snakemake --profile profiles/slurm`` as docs/cluster.md says. What SLURM itself records is the
evidence: sacct lists every job the run submitted, each finished, and the log SLURM kept of
each job shows which workflow jobs ran inside it; those are exactly the workflow's non-local
jobs. The derived tables and figures are byte-identical to a local run. The group job fits
the profile's stated node size, with the run time the profile's comment works out by hand.
Then what docs/cluster.md says a site sets (account, partition) and its
troubleshooting (the harmless sacct message without an account; a job cancelled outside
Snakemake leaves plugin 2.8.0 waiting until Ctrl-C).

Without a cluster that answers, these tests skip locally with the reason and fail in CI.
"""
from __future__ import annotations

import collections
import getpass
import os
import re
import shutil
import signal
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conftest import (
    REPO,
    SNAKEFILE,
    SNAKEMAKE,
    derived_targets,
    in_ci,
    once_per_session,
    pilot_copy,
    require_cluster_plugin,
    require_component,
    run_workflow,
    sha256_tree,
)

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]

PROFILE = REPO / "profiles" / "slurm"
COHORTS = ("pilot", "replica")
# Where docs/cluster.md says each rule runs under the profile (hand-written, not read from it).
CLUSTER_RULES = ("intake", "disagreements", "consensus", "agreement", "change", "render_report")
LOCAL_RULES = {"figures", "study_tables", "study_figures", "all"}
EXPECTED_CLUSTER_JOBS = collections.Counter(
    [(rule, f"cohort={cohort}") for rule in CLUSTER_RULES for cohort in COHORTS]
    + [("study_report", "")])
NODE_CPUS, JOB_MEM_MB = 2, 4000          # the profile's stated node: cores x 4000 MB


def require_cluster() -> None:
    """Skip (locally) or fail (CI) unless sbatch is installed and a cluster answers."""
    require_component("sbatch", "the workflow through a real SLURM cluster",
                      "bash tests/cluster/start.sh installs and starts a single-node one")
    require_cluster_plugin("the workflow through a real SLURM cluster")
    status = subprocess.run(["bash", str(REPO / "tests/cluster/status.sh")],
                            capture_output=True, text=True, timeout=60)
    if status.returncode != 0:
        reason = (f"no SLURM cluster answers: {status.stdout.strip() or status.stderr.strip()}; "
                  f"start one with `bash tests/cluster/start.sh` (as root)")
        if in_ci():
            pytest.fail(f"{reason} (.ci/run starts it)")
        pytest.skip(reason)


def since() -> str:
    """A start time for sacct a little before now."""
    return f"{datetime.now() - timedelta(minutes=5):%Y-%m-%dT%H:%M:%S}"


def snakemake_with_profile(workdir: Path, profile: Path, *extra: str, log: Path,
                           timeout: int = 1200) -> int:
    """``snakemake -s <checkout>/Snakefile -d workdir --profile profile [extra]``, output to log."""
    with open(log, "w") as out:
        return subprocess.run([SNAKEMAKE, "-s", str(SNAKEFILE), "-d", str(workdir),
                               "--profile", str(profile), *extra],
                              stdout=out, stderr=subprocess.STDOUT, timeout=timeout).returncode


def sacct(run_id: str, start: str, *more: str) -> list[dict]:
    """The SLURM jobs of one Snakemake run (the plugin names them by its run id)."""
    fields = ["JobID", "State", "ExitCode", "AllocCPUS", "ReqMem", "Timelimit", "Account",
              "Partition", "Comment", *more]
    result = subprocess.run(["sacct", "-X", "-P", "-n", "--name", run_id, "-S", start,
                             "-o", ",".join(fields)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [dict(zip(fields, line.split("|"), strict=True)) for line in result.stdout.splitlines() if line]


def run_id(log_text: str) -> str:
    return re.search(r"^SLURM run ID: (\S+)$", log_text, re.M).group(1)


def submitted(log_text: str) -> list[str]:
    """SLURM job ids the run reported as submitted."""
    return re.findall(r"has been submitted with SLURM jobid (\d+)", log_text)


def jobs_in(slurm_log: str) -> set[tuple[str, str]]:
    """(rule, wildcards) of every workflow job the Snakemake inside a SLURM job ran."""
    blocks = re.findall(r"^\s*rule (\w+):\n(.*?)(?:\n\s*\n|\Z)", slurm_log, re.M | re.S)
    found = set()
    for rule, body in blocks:
        wildcards = re.search(r"^\s*wildcards: (.*)$", body, re.M)
        found.add((rule, wildcards.group(1).strip() if wildcards else ""))
    return found


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict:
    """The two cohorts through SLURM with the profile (default target: tables, figures,
    reports), and locally (every derived table and figure), once per pytest run."""
    require_cluster()

    node = subprocess.run(["sinfo", "-h", "-N", "-o", "%c %m"], capture_output=True, text=True,
                          timeout=60).stdout.split()
    if not node or int(node[0]) < NODE_CPUS or int(node[1]) < NODE_CPUS * JOB_MEM_MB:
        pytest.fail(f"the test cluster's node ({node}: CPUs, MB) is smaller than the node the "
                    f"profile states ({NODE_CPUS} CPUs, {NODE_CPUS * JOB_MEM_MB} MB): its group "
                    f"job would wait forever")

    def build(root: Path) -> dict:
        local = pilot_copy(root / "local", cohorts={"replica": "replica"})
        result = run_workflow(local, *[t for c in COHORTS for t in derived_targets(local, c)],
                              timeout=1200)
        if result.returncode != 0:
            raise RuntimeError(f"local run failed: {result.stderr[-3000:]}")
        cluster = pilot_copy(root / "slurm", cohorts={"replica": "replica"})
        start = since()
        code = snakemake_with_profile(cluster, PROFILE, "--slurm-keep-successful-logs",
                                      log=root / "slurm.log")
        return {"local": str(local), "slurm": str(cluster), "log": str(root / "slurm.log"),
                "returncode": code, "start": start}

    return once_per_session(tmp_path_factory, "slurm-runs", build)


@pytest.fixture(scope="session")
def log_text(runs) -> str:
    text = Path(runs["log"]).read_text(encoding="utf-8", errors="replace")
    assert runs["returncode"] == 0, text[-5000:]
    return text


def test_every_job_that_is_not_local_ran_inside_a_slurm_job(runs, log_text):
    jobs = sacct(run_id(log_text), runs["start"])
    ids = {job["JobID"] for job in jobs}
    # sacct lists exactly what the run submitted, each finished well
    assert sorted(ids) == sorted(submitted(log_text))
    assert {(job["State"], job["ExitCode"]) for job in jobs} == {("COMPLETED", "0:0")}
    # what ran inside each SLURM job, from the log SLURM wrote for it
    inside = collections.Counter()
    logs = Path(runs["slurm"]) / ".snakemake/slurm_logs"
    for job_id in ids:
        [path] = logs.rglob(f"{job_id}.log")
        inside.update(jobs_in(path.read_text(encoding="utf-8", errors="replace")))
    assert inside == EXPECTED_CLUSTER_JOBS
    # and the rest ran on the submit host
    assert set(re.findall(r"^localrule (\w+):", log_text, re.M)) == LOCAL_RULES


def test_derived_tables_and_figures_are_identical_to_a_local_run(runs, log_text):
    local = sha256_tree(Path(runs["local"]) / "data/derived")
    cluster = sha256_tree(Path(runs["slurm"]) / "data/derived")
    expected = {t.removeprefix("data/derived/") for c in COHORTS
                for t in derived_targets(Path(runs["local"]), c)}
    assert expected <= set(local)
    assert cluster == local


def test_the_group_job_fits_the_stated_node(runs, log_text):
    jobs = sacct(run_id(log_text), runs["start"])
    groups = [job for job in jobs if job["Comment"].startswith("rule_cohort_tables")]
    assert len(groups) == 1          # both cohorts' table steps in one job (group-components 5)
    # two cohorts on 2 cores: layers of 2 steps; run time 30 (intake) + 60 + 30 (agreement,
    # disagreements) + 30 (consensus) + 30 (change) minutes, as the profile's comment says
    assert (groups[0]["AllocCPUS"], groups[0]["ReqMem"], groups[0]["Timelimit"]) == (
        "2", "8000M", "03:00:00")
    # the reports: 1 CPU, 3000 MB, 20 minutes each (set-resources)
    reports = [job for job in jobs if re.match(r"rule_(render|study)_report", job["Comment"])]
    assert [(j["AllocCPUS"], j["ReqMem"], j["Timelimit"]) for j in reports] == [
        ("1", "3000M", "00:20:00")] * 3
    for job in jobs:
        assert int(job["AllocCPUS"]) <= NODE_CPUS
        assert int(job["ReqMem"].removesuffix("M")) <= NODE_CPUS * JOB_MEM_MB


def test_without_an_account_the_plugins_sacct_message_is_harmless(runs, log_text):
    # docs/cluster.md's troubleshooting: printed when no account is set, and the run goes on
    assert "sacct: invalid option -- '1'" in log_text
    assert runs["returncode"] == 0


def test_more_cores_widen_the_group_job(runs, tmp_path):
    """docs/cluster.md's way to widen group jobs for larger nodes: --cores 4 puts both cohorts'
    steps of a toposort level side by side. Hand computation: 4 CPUs, 4 x 4000 MB, and
    30 (intake) + 60 (agreement, disagreements) + 30 + 30 = 150 minutes. The job is only
    submitted and read back from sacct, then the run is stopped (it may not fit this node)."""
    study = pilot_copy(tmp_path / "study", cohorts={"replica": "replica"})
    log = tmp_path / "wide.log"
    start = since()
    with open(log, "w") as out:
        process = subprocess.Popen([SNAKEMAKE, "-s", str(SNAKEFILE), "-d", str(study),
                                    "--profile", str(PROFILE), "--cores", "4"],
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    job_id = None
    try:
        job_id = wait_until(lambda: (submitted(log.read_text(errors="replace")) or [None])[0],
                            process, "the group job's submission")
        [job] = wait_until(lambda: [j for j in sacct(run_id(log.read_text()), start, "ReqCPUS")
                                    if j["JobID"] == job_id], process, "the job in sacct")
        assert "slurm_logs/group_cohort_tables_" in log.read_text(errors="replace")
        assert (job["ReqCPUS"], job["ReqMem"], job["Timelimit"]) == ("4", "16000M", "02:30:00")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)      # Snakemake cancels its jobs
            try:
                process.wait(timeout=180)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if job_id:
            subprocess.run(["scancel", job_id], timeout=60)


def finished_copy(runs, dest: Path) -> Path:
    """A copy of the finished SLURM run's folder (its outputs and Snakemake's records)."""
    shutil.copytree(runs["slurm"], dest, symlinks=True)
    shutil.rmtree(dest / ".snakemake/slurm_logs", ignore_errors=True)
    return dest


def test_a_sites_account_and_partition_reach_sbatch(runs, log_text, tmp_path):
    account = subprocess.run(["sacctmgr", "-n", "-P", "list", "association",
                              f"user={getpass.getuser()}", "format=account"],
                             capture_output=True, text=True, timeout=60).stdout.split()[0]
    partition = subprocess.run(["sinfo", "-h", "-o", "%R"], capture_output=True, text=True,
                               timeout=60).stdout.split()[0]
    # docs/cluster.md: uncomment the two lines of profiles/slurm/config.yaml and fill them in
    site = tmp_path / "profile"
    site.mkdir()
    text = (PROFILE / "config.yaml").read_text(encoding="utf-8")
    text = text.replace('# slurm_account: "my_account"', f'slurm_account: "{account}"')
    text = text.replace('# slurm_partition: "my_partition"', f'slurm_partition: "{partition}"')
    (site / "config.yaml").write_text(text, encoding="utf-8")
    study = finished_copy(runs, tmp_path / "study")
    start = since()
    code = snakemake_with_profile(study, site, "-f", "reports/pilot/report.html",
                                  log=tmp_path / "site.log")
    text = (tmp_path / "site.log").read_text(encoding="utf-8", errors="replace")
    assert code == 0, text[-3000:]
    assert "invalid option" not in text
    jobs = sacct(run_id(text), start)
    assert [(job["Account"], job["Partition"], job["State"]) for job in jobs] == [
        (account, partition, "COMPLETED")]


def test_a_job_cancelled_outside_snakemake_leaves_the_plugin_waiting(runs, log_text, tmp_path):
    """docs/cluster.md's troubleshooting: sacct calls a cancelled job 'CANCELLED by <uid>', which
    plugin 2.8.0 takes for a running job; Snakemake waits until Ctrl-C."""
    study = finished_copy(runs, tmp_path / "study")
    log = tmp_path / "cancel.log"
    start = since()
    with open(log, "w") as out:
        process = subprocess.Popen([SNAKEMAKE, "-s", str(SNAKEFILE), "-d", str(study),
                                    "--profile", str(PROFILE), "--verbose",
                                    "-f", "reports/pilot/report.html"],
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    job_id = None
    try:
        job_id = wait_until(lambda: (submitted(log.read_text(errors="replace")) or [None])[0],
                            process, "the job's submission")
        subprocess.run(["scancel", job_id], check=True, timeout=60)
        def states():
            return {j["JobID"]: j["State"] for j in sacct(run_id(log.read_text()), start)}
        wait_until(lambda: states().get(job_id, "").startswith("CANCELLED by "), process,
                   "sacct's CANCELLED by <uid>")
        def checks():
            return log.read_text(errors="replace").count(
                    f"Checking 1 active jobs with external IDs: ['{job_id}']")
        seen = checks()
        # two more status checks after sacct called it cancelled: the first saw the state,
        # the second shows the job was kept as running (a failed job is not checked again)
        wait_until(lambda: checks() >= seen + 2, process, "two more status checks")
        assert process.poll() is None
        assert "Error in" not in log.read_text(errors="replace")
        # Ctrl-C ends the run (docs/cluster.md's remedy), as failed
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=180) != 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if job_id:
            subprocess.run(["scancel", job_id], timeout=60)


def wait_until(predicate, process: subprocess.Popen, what: str, ceiling: float = 240):
    """Poll until ``predicate()`` is truthy (its value returned); fail if the process ends or
    ``ceiling`` seconds pass first (a bound on a hang, not a speed measurement)."""
    deadline = time.monotonic() + ceiling
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if process.poll() is not None:
            pytest.fail(f"snakemake ended (code {process.returncode}) before {what}")
        time.sleep(0.5)
    pytest.fail(f"no {what} within {ceiling:.0f} s")
