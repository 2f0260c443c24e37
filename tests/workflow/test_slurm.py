"""The scale=test workflow through the SLURM profile, on a real single-node cluster.

The cluster is Debian's slurmctld + slurmd + munge, stood up by
``tests/cluster/slurm_up.sh`` (CI runs it before ``make test``).  The test runs only
on that cluster (ClusterName ``romflow-test``) and skips elsewhere, saying how to
start it; with ``ROMFLOW_REQUIRE_SLURM=1`` (CI) a missing cluster fails instead.

It runs the README's commands as written, from a copy of the repository:
``snakemake --profile profiles/slurm all`` and, after the README's one-line
install into a fresh ``$HOME``, ``snakemake --profile slurm all``.  It checks the
outputs, that every job went through ``sbatch`` and completed in SLURM, and that
exactly the jobs whose rule asked for a GPU were given ``--gpus=1`` (the node's
stand-in GPU, a GRES on /dev/null: they run on the CPU).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from test_pipeline import planned_jobs

pytestmark = pytest.mark.slurm

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = "romflow-test"
START = "bash tests/cluster/slurm_up.sh (as root)"
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")


def _no_cluster(reason: str):
    if os.environ.get("ROMFLOW_REQUIRE_SLURM") == "1":
        pytest.fail(f"ROMFLOW_REQUIRE_SLURM=1 but {reason}")
    pytest.skip(f"{reason}; start the single-node test cluster with {START}")


@pytest.fixture(scope="module")
def cluster():
    """The test cluster's node name, or a skip that says how to start it."""
    if shutil.which("scontrol") is None or shutil.which("sbatch") is None:
        _no_cluster("SLURM is not installed here (no scontrol / sbatch)")
    proc = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True,
                          timeout=30)
    if proc.returncode != 0:
        _no_cluster(f"no slurmctld answers ({proc.stderr.strip()[:200]})")
    name = re.search(r"^ClusterName\s*=\s*(\S+)", proc.stdout, re.M)
    if name is None or name.group(1) != CLUSTER:
        _no_cluster(f"the cluster here is {name.group(1) if name else '?'!r}, not the "
                    f"{CLUSTER!r} test cluster this test may fill with jobs")
    state = subprocess.run(["sinfo", "-h", "-o", "%n %T"], capture_output=True, text=True,
                           timeout=30).stdout.split()
    if len(state) < 2 or state[1] not in ("idle", "mixed", "allocated"):
        _no_cluster(f"the test cluster's node is not up ({' '.join(state) or 'no node'})")
    return state[0]


def _copy_repository(dest: Path) -> Path:
    """The repository's files (no results, no .snakemake, no .venv) under ``dest``."""
    skip = shutil.ignore_patterns(".git", ".venv", "results", ".snakemake", "__pycache__",
                                  "*.egg-info", ".pytest_cache", ".ruff_cache")
    shutil.copytree(ROOT, dest, ignore=skip)
    return dest


def _snakemake(repo: Path, *args, env=None):
    """``snakemake ARGS`` run from the copy ``repo`` (this interpreter's snakemake)."""
    proc = subprocess.run(["nice", "-n", "10", sys.executable, "-m", "snakemake", *args],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=3000)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"snakemake {' '.join(args)} failed:\n{out[-5000:]}"
    return out


def _jobs(out: str) -> dict:
    """Snakemake job id -> (rule, asked for a GPU) from the run's job blocks."""
    jobs = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out):
        head = re.match(r"(?:local)?rule (\w+):", block)
        jobid = re.search(r"^\s+jobid: (\d+)", block, re.M)
        if head and jobid:
            res = re.search(r"^\s+resources: (.*)$", block, re.M)
            jobs[jobid.group(1)] = (head.group(1),
                                    bool(res and re.search(r"\bgpu=1\b", res.group(1))))
    return jobs


def _slurm_job(jobid: str) -> dict:
    """``scontrol show job`` as a dict (finished jobs stay for MinJobAge = 1 h)."""
    out = subprocess.run(["scontrol", "show", "job", "-o", jobid], capture_output=True,
                         text=True, timeout=30, check=True).stdout
    return dict(re.findall(r"(\w[\w/:]*)=(\S*)", out))


def _check_went_through_sbatch(out: str, node: str) -> list:
    """Every non-local job was submitted, completed on the node, and asked for a GPU
    iff its rule declares one; returns the rules that got a GPU."""
    jobs = _jobs(out)
    submitted = dict(SUBMITTED.findall(out))
    remote = {j for j, (rule, _) in jobs.items() if rule != "all"}
    assert remote and set(submitted) == remote, (sorted(remote), sorted(submitted))
    gpu_rules = set()
    for job, slurm_id in submitted.items():
        rule, wants_gpu = jobs[job]
        rec = _slurm_job(slurm_id)
        assert rec["JobState"] == "COMPLETED" and rec["NodeList"] == node, rec
        assert re.match(rf"rule_{rule}(_wildcards_|$)", rec["Comment"]), (rule, rec)
        assert ("gres:gpu:1" in rec.get("TresPerJob", "")) == wants_gpu, (rule, rec)
        if wants_gpu:
            gpu_rules.add(rule)
    return sorted(gpu_rules)


def test_workflow_runs_through_the_slurm_profile(cluster, tmp_path):
    repo = _copy_repository(tmp_path / "romflow")
    # The README's command, from the repository.
    out = _snakemake(repo, "--profile", "profiles/slurm", "all", "--config", "scale=test")
    assert "Using profiles profiles/slurm and workflow specific profile" in out, out[:2000]
    jobs = planned_jobs(out)
    assert jobs["all"] == 1 and jobs["train_stage1"] >= 1 and jobs["closure"] >= 1, jobs
    assert f"{sum(jobs.values())} of {sum(jobs.values())} steps (100%) done" in out
    gpu_rules = _check_went_through_sbatch(out, cluster)
    # device: auto asks a GPU for training and the mLaSDI rollout; the node's stand-in
    # GPU let them schedule, and they ran on the CPU
    assert {"train_stage1", "train_stage", "rollout", "manifold", "closure"} <= set(
        gpu_rules), gpu_rules
    logs = sorted((repo / "results/logs/toy/stages").rglob("train.log"))
    assert logs and all("device=cpu" in f.read_text() for f in logs), logs

    res = repo / "results"
    table = pd.read_csv(res / "toy/tables/errors.csv")
    assert (table.scale == "test").all() and table.max_rel_error.between(0, 10).all()
    assert set(pd.read_csv(res / "rd/tables/table1.csv").estimator) == {"ols", "mols",
                                                                        "aols", "tr"}
    for fig in ("toy/figures/fig4_errors.png", "linear/figures/fig7_terminal_vs_lambda.png",
                "rd/figures/fig4_error_shift.png"):
        assert (res / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", fig

    # The README's one-line install into a fresh $HOME, then `--profile slurm`: a
    # figure removed is made again through SLURM, with what depends on its rule.
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "XDG_CONFIG_HOME"} | {"HOME": str(home)}
    subprocess.run(["bash", "-c", "mkdir -p ~/.config/snakemake && "
                    "cp -r profiles/slurm ~/.config/snakemake/slurm"],
                   cwd=repo, env=env, check=True)
    (res / "linear/figures/fig6_error_vs_step.png").unlink()
    out = _snakemake(repo, "--profile", "slurm", "all", "--config", "scale=test", env=env)
    assert "Using profiles slurm and workflow specific profile" in out, out[:2000]
    assert planned_jobs(out) == {"linear_theory": 1, "table_html": 1, "provenance": 1,
                                 "all": 1}, out[-3000:]
    _check_went_through_sbatch(out, cluster)
    assert (res / "linear/figures/fig6_error_vs_step.png").is_file()
