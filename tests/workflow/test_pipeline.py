"""The pipeline end to end through Snakemake at scale=test, in a temporary directory.

Checks the outputs, a no-op rerun, a partial rerun after a stage-2 edit, the
checkpoint resume of a killed training rule, readable failures on a bad
config and on a corrupt input, `--lint`, and the SLURM profile's DAG.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]
# the toy's models at scale=test and their stage counts: Table 1's and the kappa sweep's
MODELS = {"gplasdi": 1, "gplasdi_deep": 1, "mlasdi": 2, "kappa_mlasdi_k0p3": 2,
          "kappa_mlasdi_k3": 2}
# What the shared run builds; a no-op rerun must ask for the same (the provenance
# index of `all` indexes the outputs of every experiment it builds).
ALL_EXPERIMENTS = "experiments=[toy,wake,vlasov,linear,rd,channel]"


def segment_dir(workdir, problem, model, stage=1, user=None):
    """Where stage ``stage`` of ``model`` ends (results/<problem>/stages/...), at scale=test
    with ``user`` settings over the preset."""
    from romflow.config import load_yaml, resolve
    from romflow.model_specs import model_specs, segments

    raw = {**load_yaml(ROOT / "config.yaml"), "scale": "test"}
    cfg = resolve(raw, load_yaml(ROOT / "workflow/schemas/config.schema.yaml"), user=user)
    seg = segments(model_specs(cfg[problem], cfg["lasdi"]), cfg["seed"])[model][stage - 1]
    return workdir / "results" / problem / "stages" / seg.path


def snakemake(workdir, *args, config=(), check=True, timeout=1500):
    proc = subprocess.run([*SNAKEMAKE, "-d", str(workdir), *args, "--config", "scale=test",
                           *config],
                          capture_output=True, text=True, timeout=timeout, cwd=workdir)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {args} failed:\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-3000:]}")
    return proc


def planned_jobs(output: str) -> dict:
    """Rule -> count from a dry run's 'Job stats' table."""
    jobs, inside = {}, False
    for line in output.splitlines():
        if line.startswith("Job stats"):
            inside, jobs = True, {}
            continue
        parts = line.split()
        if inside and len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            jobs[parts[0]] = int(parts[1])
        elif inside and parts and parts[0] == "total":
            inside = False
    return jobs


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    wd = tmp_path_factory.mktemp("toy_wf")
    snakemake(wd, "--cores", "2", "all", config=[ALL_EXPERIMENTS])
    return wd


def test_outputs(workdir):
    res = workdir / "results" / "toy"
    table = pd.read_csv(res / "tables" / "errors.csv")
    assert list(table.columns[:10]) == ["model", "sweep", "kind", "architecture",
                                        "configuration", "library", "iterations",
                                        "total_iterations", "stages", "A"]
    assert {"max_rel_error", "min_rel_error_over_time", "train_seconds", "reduced"} <= set(
        table.columns)
    assert len(table) == sum(n * 3 for n in MODELS.values()), table
    assert set(table.model) == set(MODELS)
    assert (table.scale == "test").all() and table.reduced.str.contains("fom.nx").all()
    assert table.max_rel_error.between(0, 10).all()
    assert (table.min_rel_error_over_time <= table.max_rel_error).all()
    assert sorted(table[table.model == "mlasdi"].stages.unique()) == [1, 2]
    assert set(table.split) == {"train", "test"}
    tex = (res / "tables" / "errors.tex").read_text()
    assert r"\begin{tabular}" in tex and "scale: test" in tex and r"0.1--3\%" in tex
    for fig in ("fig2_loss_latent", "fig3_reconstruction", "fig4_errors", "figA10_kappa"):
        png = (res / "figures" / f"{fig}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    kappa = pd.read_csv(res / "tables" / "kappa.csv")
    assert sorted(kappa.kappa) == [0.3, 1.0, 3.0] and kappa.train_kappa.sum() == 1
    for model, stages in MODELS.items():
        for k in range(2, stages + 1):
            assert (segment_dir(workdir, "toy", model, k) / "residual.nc").is_file()
        assert (res / model / "errors.nc").is_file()
    assert not list(res.rglob("*.ckpt")), "checkpoints left behind"
    assert not list(res.rglob("*.tmp")), "temporary files left behind"
    seg = segment_dir(workdir, "toy", "mlasdi").relative_to(workdir / "results/toy/stages")
    log = (workdir / "results/logs/toy/stages" / seg / "train.log").read_text()
    assert "stage 1" in log and ("it/s" in log or "s/it" in log), log[-2000:]
    assert (workdir / "results/benchmarks/rules/toy/stages" / seg / "train.tsv").is_file()


def test_wake_and_vlasov_outputs(workdir):
    """The wake's Table 1 rows, Fig. 6-7; Vlasov's sweep summary, reduction factors and
    Fig. 8, 9, B.11 (mLaSDI paper section 4.2-4.3, appendix B)."""
    wake = pd.read_csv(workdir / "results/wake/tables/errors.csv")
    assert set(wake.model) == {"gplasdi", "gplasdi_deep", "mlasdi"} and len(wake) == 4 * 3
    assert "nu" in wake.columns and set(wake.split) == {"train", "test"}
    for fig in ("fig6_errors", "fig7_snapshot"):
        assert (workdir / "results/wake/figures" / f"{fig}.png").stat().st_size > 10_000
    res = workdir / "results/vlasov"
    summary = pd.read_csv(res / "tables/sweep.csv")
    assert {"table2", "appendix_b"} == set(summary.sweep)
    assert {"test_median", "test_min", "test_max", "all_median", "train_seconds"} <= set(
        summary.columns)
    assert not summary.test_median.isna().any()
    factors = pd.read_csv(res / "tables/fig9_reduction.csv")
    agg = factors[factors.pair == "median"].iloc[0]
    assert agg.paper_max == 2.54 and agg.paper_mean == 3.24 and agg.paper_min == 5.91
    assert np.isfinite(agg.ratio_test_max) and np.isfinite(agg.of_medians_all_min)
    for fig in ("fig8_error_plane", "fig9_sweep", "figB11_quadratic"):
        assert (res / "figures" / f"{fig}.png").stat().st_size > 10_000
    from romflow import io

    pred = io.open_dataset(res / "table2_mlasdi_h8_z2_20_20" / "prediction.nc", "prediction")
    assert "u_pred" not in pred and pred["z_pred"].shape[:2] == (9, 6)


def test_hybrid_fom_pairs(workdir):
    """The hybrid problems' FOM rules write one valid 'pairs' file per case."""
    from romflow import io

    for case, steps in (("linear/draw0", 21), ("linear/draw1", 21),
                        ("rd/romflow/n16_gamma0.05", 21), ("rd/romflow/n16_gamma0.25", 21),
                        ("rd/published/n16_gamma0.05", 11), ("channel/paper/n16x4_re100", 6)):
        ds = io.open_dataset(workdir / "results" / case / "pairs.nc", "pairs")
        assert ds.sizes["step"] == steps
    rd = io.open_dataset(workdir / "results/rd/romflow/n16_gamma0.05/pairs.nc", "pairs")
    assert rd.attrs["unresolved"] == "correction" and rd.attrs["grid"] == 16
    # each case's digest covers its own sweep values, not only the shared FOM section
    other = io.open_dataset(workdir / "results/rd/romflow/n16_gamma0.25/pairs.nc", "pairs")
    assert rd.attrs["config_digest"] != other.attrs["config_digest"]
    # the paper protocol reads romflow's pairs (same FOM); published makes its own:
    # the reaction term, one trajectory, every 2nd of its 20 steps kept
    assert not (workdir / "results/rd/paper/n16_gamma0.05/pairs.nc").exists()
    pub = io.open_dataset(workdir / "results/rd/published/n16_gamma0.05/pairs.nc", "pairs")
    assert pub.attrs["unresolved"] == "reaction" and pub.sizes["trajectory"] == 1
    assert pub.attrs["keep_every"] == 2 and np.isclose(pub.attrs["dt"], 2 * pub.attrs["fom_dt"])
    vl = io.open_dataset(workdir / "results/vlasov/fom.nc", "fom")
    assert vl["u"].dims == ("param", "time", "x", "v") and list(vl["split"].values).count(
        "train") == 4
    sweep = io.open_dataset(workdir / "results/linear/sweep.nc", "linear_sweep")
    assert sweep.sizes["draw"] == 2 and sweep.sizes["estimator"] == 3
    table = pd.read_csv(workdir / "results/linear/tables/terminal_error.csv")
    assert set(table.estimator) == {"ols", "mols", "tr"} and (table.scale == "test").all()
    for fig in ("fig6_error_vs_step", "fig7_terminal_vs_lambda"):
        assert (workdir / "results/linear/figures" / f"{fig}.png").stat().st_size > 10_000
    wake = io.open_dataset(workdir / "results/wake/fom.nc", "fom")
    assert wake["u"].dims == ("param", "time", "point") and wake.sizes["point"] == 66


def test_rd_hybrid_outputs(workdir):
    """manifold -> closure (4 estimators) -> hybrid_rollout -> Table 1 and Fig. 4 for rd,
    one row group per protocol (romflow, paper, published), each protocol's settings in
    its files' attributes."""
    from romflow import io

    res = workdir / "results" / "rd"
    table = pd.read_csv(res / "tables" / "table1.csv")
    required = ["protocol", "grid", "gamma", "estimator", "splits", "rel_error_mean",
                "rel_error_std", "blowups"]
    assert list(table.columns[:8]) == required
    assert list(dict.fromkeys(table.protocol)) == ["romflow", "paper", "published"]
    assert len(table) == 3 * 2 * 4 and set(table.estimator) == {"ols", "mols", "aols", "tr"}
    assert (table.splits == 1).all() and not table[required].isna().any().any()
    by = table.groupby("protocol")
    assert set(by.get_group("romflow").step.astype(str)) == {"20"}
    pub = by.get_group("published")      # its metric at its step 500, clipped to the last
    assert set(pub.metric) == {"squared_relative"} and set(pub.step.astype(str)) == {"10"}
    tex = (res / "tables" / "table1.tex").read_text()
    assert r"\gamma = 0.05" in tex and "published (squared step 10)" in tex
    for fig in ("fig4_snapshots", "fig4_error_shift"):
        assert (res / "figures" / f"{fig}.png").stat().st_size > 10_000
    normals = io.open_dataset(res / "romflow/n16_gamma0.05" / "normals.nc", "normals")
    assert normals.sizes["trajectory"] == 2 and list(normals["step"].values) == list(
        range(0, 20, 2))
    roll = io.open_dataset(res / "romflow/n16_gamma0.25/split0/tr/rollout.nc", "rollout")
    assert roll.sizes["step"] == 21 and roll.attrs["estimator"] == "tr"
    assert (roll.attrs["protocol"], roll.attrs["lam"], roll.attrs["units"]) == (
        "romflow", 10.0, "rate")
    pub_tr = io.open_dataset(res / "published/n16_gamma0.05/split0/tr/rollout.nc", "rollout")
    assert (pub_tr.attrs["protocol"], pub_tr.attrs["lam"], pub_tr.attrs["penalty"],
            pub_tr.attrs["reduce"]) == ("published", 1000.0, "output", "batch")
    assert pub_tr.attrs["resolved_step"] == "crank_nicolson"   # explicit_half: opt-in only
    loss = io.open_dataset(res / "paper/n16_gamma0.05/split0/tr/loss.nc", "loss")
    assert loss.attrs["protocol"] == "paper" and np.isfinite(loss.attrs["final_over_floor"])


def test_rd_tr_diagnostics_read_a_run(workdir, tmp_path):
    """benchmarks/rd_tr_diagnostics.py on the test run: the exact closure replays the
    fine trajectory (float32 round-off), every other rollout is finite, and the trained TR
    closure's loss is not below its floor (the pointwise minimum of the TR loss); several
    cases go to one CSV."""
    out = tmp_path / "diag.csv"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks/rd_tr_diagnostics.py"),
                           "--run", str(workdir), "--case", "n16_gamma0.05", "n16_gamma0.25",
                           "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    both = pd.read_csv(out)
    assert set(both["case"]) == {"n16_gamma0.05", "n16_gamma0.25"}
    table = both[both["case"] == "n16_gamma0.05"].set_index("rollout")
    assert table.loc["exact", "rel_error_last"] < 1e-6     # pairs.nc holds float32 states
    assert {"ols", "tr", "ols, normal part of its error removed",
            "TR minimizer of the exact y (lam = 10)"} <= set(table.index)
    assert np.isfinite(table["rel_error_last"]).all()
    assert 0 < table.loc["tr", "tr_floor"] <= table.loc["tr", "final_loss"]


def test_rd_lambda_sweep(workdir):
    """The test preset's λ sweep [1] adds TR at λ = 1 (tr_lam1) beside TR at the default
    λ = 10: trained with its own λ, rolled out, and tabulated by λ beside the baselines."""
    from romflow import io

    res = workdir / "results" / "rd"
    every = pd.read_csv(res / "tables" / "lambda_sweep.csv")
    assert list(dict.fromkeys(every.protocol)) == ["romflow", "paper", "published"]
    # the sweep copies each protocol's own tr entry: published's at its λ = 1000
    assert set(every[(every.protocol == "published") & (every.estimator == "tr")].lam) == {
        1000.0}
    table = every[every.protocol == "romflow"]
    assert list(table.estimator[:6]) == ["ols", "mols", "aols", "tr", "tr_lam1", "ols"]
    tr = table[table.estimator.str.startswith("tr")]
    assert sorted(set(zip(tr.estimator, tr.lam))) == [("tr", 10.0), ("tr_lam1", 1.0)]
    assert table[table.estimator == "ols"].lam.isna().all()
    assert not tr[["rel_error_mean", "rel_error_std"]].isna().any().any()
    assert (res / "figures" / "lambda_sweep.png").stat().st_size > 10_000
    for est, lam in (("tr", 10.0), ("tr_lam1", 1.0)):
        loss = io.open_dataset(res / "romflow/n16_gamma0.05/split0" / est / "loss.nc", "loss")
        assert loss.attrs["lam"] == lam
    digests = {est: io.open_dataset(res / "romflow/n16_gamma0.05/split0" / est / "rollout.nc",
                                    "rollout").attrs["config_digest"] for est in ("tr", "tr_lam1")}
    assert digests["tr"] != digests["tr_lam1"]
    # Table 1 keeps the four estimators only
    assert set(pd.read_csv(res / "tables" / "table1.csv").estimator) == {"ols", "mols", "aols",
                                                                         "tr"}


def _report_data(text: str, name: str):
    """The JSON object a Snakemake HTML report holds as ``var <name> = {...}``."""
    start = re.search(rf"var {name} = (?=\{{)", text)
    assert start, f"no {name} in the report"
    return json.JSONDecoder().raw_decode(text, start.end())[0]


def test_report_holds_every_figure_and_table(workdir):
    """`snakemake --report` at scale test: one HTML file holding every figure and every
    table page that `all` built, filed by paper and experiment, each captioned with the
    scale and (where the paper has them) the published numbers of paper_numbers.yaml;
    the table pages set ours beside the paper's; results/README.md maps each file to
    its rule and config digest."""
    from romflow import io, paper_numbers

    report = workdir / "results" / "report.html"
    snakemake(workdir, "--report", str(report), config=[ALL_EXPERIMENTS])
    text = report.read_text()
    results, categories = _report_data(text, "results"), _report_data(text, "categories")
    res = workdir / "results"
    expected = {str(f.relative_to(workdir)) for f in res.glob("*/figures/*.png")}
    expected |= {str(f.relative_to(workdir).with_suffix(".html"))
                 for f in res.glob("*/tables/*.csv")}
    # toy Figs. 2-4, A.10, wake Figs. 6-7, Vlasov Figs. 8, 9, B.11, linear Figs. 6-7, rd
    # Fig. 4 (two) and the λ sweep, channel Fig. 5 (two); 10 tables (channel: Table 2)
    assert len(expected) == 26 and set(results) == expected | {
        "results/report/provenance.html"}, sorted(set(results) ^ expected)
    filed = {path for sub in categories.values() for paths in sub.values() for path in paths}
    assert filed == set(results)
    assert set(categories["mLaSDI (Anderson et al.)"]) == {"toy", "wake", "vlasov"}
    assert set(categories["Hybrid simulation, TR (Zhao & Li)"]) == {"linear", "rd", "channel"}
    for entry in results.values():   # captions as one line: templates wrap anywhere
        entry["caption"] = " ".join(entry["caption"].split())
    for path, entry in results.items():
        assert "scale <strong>test</strong>" in entry["caption"].lower(), (path,
                                                                          entry["caption"])
        assert entry["labels"]["scale"] == "test" and entry["labels"]["item"], path
    fig4 = results["results/toy/figures/fig4_errors.png"]["caption"]
    for model, entry in paper_numbers.lookup("mlasdi", "table1", "toy").items():
        lo, hi = entry["rel_error_percent"]
        assert f"{model} ({entry['architecture']}" in fig4 and f"{lo:g}\u2013{hi:g} %" in fig4
    vlasov = paper_numbers.lookup("mlasdi", "vlasov")
    fig8 = results["results/vlasov/figures/fig8_error_plane.png"]["caption"]
    assert "{}\u2013{} %".format(*vlasov["fig8"]["stage1_rel_error_percent"]) in fig8, fig8
    fig9 = results["results/vlasov/figures/fig9_sweep.png"]["caption"]
    assert f"{vlasov['fig9_median_reduction']['max']}\u00d7" in fig9, fig9
    rd = paper_numbers.lookup("hybrid", "table1")
    shift = results["results/rd/figures/fig4_error_shift.png"]["caption"]
    assert "OLS " + " / ".join(map(str, rd["n64"]["ols"])) in shift, shift
    page = base64.b64decode(results["results/toy/tables/errors.html"]["data_uri"].split(
        ",", 1)[1]).decode()
    assert "Ours beside the paper&#x27;s" in page or "Ours beside the paper's" in page
    assert "0.1\u20133" in page and "600-200-20-10" in page
    page = base64.b64decode(results["results/rd/tables/table1.html"]["data_uri"].split(
        ",", 1)[1]).decode()
    assert "paper (step 1000)" in page
    t2 = paper_numbers.lookup("hybrid", "table2")
    curves = results["results/channel/figures/fig5_error_shift.png"]["caption"]
    assert "OLS " + " / ".join(map(str, t2["n128x32"]["ols"])) in curves, curves
    page = base64.b64decode(results["results/channel/tables/table2.html"]["data_uri"].split(
        ",", 1)[1]).decode()
    assert "paper (10 experiments)" in page and "censored" in page
    page = base64.b64decode(results["results/vlasov/tables/fig9_reduction.html"][
        "data_uri"].split(",", 1)[1]).decode()
    assert "ours: median of the ratios" in page and ">5.91<" in page and "Scale test" in page
    readme = (res / "README.md").read_text()
    digest = io.open_dataset(res / "toy/fom.nc", "fom").attrs["config_digest"]
    assert f"| fom.nc | fom | {digest} |" in readme, readme[:2000]
    assert "| fig4_errors.png | report_toy |" in readme and "(of its inputs)" in readme
    assert "| errors.html | table_html |" in readme


def test_channel_table2_and_rollouts(workdir):
    """The channel follows with its pairs and resolved step only: the manifold,
    closure and rollout rules that serve rd build its learned-pressure rollouts, and
    Table 2 counts the rollouts that never crossed K (the test horizon: 5 steps) as
    censored, never as stopped."""
    from romflow import io

    case = workdir / "results/channel/paper/n16x4_re100"
    table = pd.read_csv(workdir / "results/channel/tables/table2.csv")
    assert list(table.estimator) == ["ols", "mols", "aols", "tr"]
    assert set(table.criterion) == {"absolute"} and set(table.K) == {100.0}
    assert (table.rollouts == table.stopped + table.censored).all()
    censored = table[table.censored == table.rollouts]
    assert censored.t_K_mean.isna().all() and (censored.t_K_lower_bound == 6).all()
    assert censored.t_K.str.startswith("≥ 6").all()
    tex = (workdir / "results/channel/tables/table2.tex").read_text()
    assert "Re = 100" in tex and r"\caption" in tex
    for fig in ("fig5_snapshots", "fig5_error_shift"):
        assert (workdir / "results/channel/figures" / f"{fig}.png").stat().st_size > 10_000
    for est in ("ols", "tr"):
        ro = io.open_dataset(case / f"split0/{est}/rollout.nc", "rollout")
        assert ro.attrs["problem"] == "channel" and ro.attrs["estimator"] == est
        assert ro["states"].dims[2:] == ("component", "xc", "yc")
        assert ro["rel_error"].shape == (1, 6) and float(ro["rel_error"][0, 0]) == 0.0
    loss = io.open_dataset(case / "split0/tr/loss.nc", "loss")
    assert np.isfinite(loss.attrs["tr_of_data"])


def test_tr_penalty_edit_reruns_tr_only(workdir, tmp_path):
    edit = tmp_path / "edit.yaml"
    edit.write_text(yaml.safe_dump({"scales": {"test": {"rd": {"hybrid": {
        "estimators": {"tr": {"lam": 100.0}}}}}}}))
    dry = snakemake(workdir, "-n", "all", "--configfile", str(edit)).stdout
    jobs = planned_jobs(dry)
    # romflow's and paper's tr (2 cases each); the λ sweep's tr_lam1 has its own λ and
    # the published protocol sets its own tr λ (1000): they stay
    assert jobs == {"closure": 4, "hybrid_rollout": 4, "rd_report": 1, "rd_lambda_sweep": 1,
                    "table_html": 2, "provenance": 1, "all": 1}, dry[-3000:]


def test_a_plain_configfile_wins_over_the_preset(workdir, tmp_path):
    """rd.hybrid.splits is set by the test preset; a --configfile that sets it outside
    `scales` must still take effect (it was silently dropped before)."""
    edit = tmp_path / "splits.yaml"
    edit.write_text(yaml.safe_dump({"rd": {"hybrid": {"splits": 2}}}))
    dry = snakemake(workdir, "-n", "all", "--configfile", str(edit)).stdout
    # split 1 is new for romflow and paper (published sets its own splits: 1), each of
    # the 2 cases x (4 estimators + the sweep's tr_lam1)
    assert planned_jobs(dry) == {"closure": 20, "hybrid_rollout": 20, "rd_report": 1,
                                 "rd_lambda_sweep": 1, "table_html": 2, "provenance": 1,
                                 "all": 1}, dry[-3000:]
    # a value equal to config.yaml's (every = 1; the test preset has 2) wins too:
    # the autoencoders and every closure of both splits see new settings (published,
    # which sets no `every` of its own at scale test, too: its one split)
    edit.write_text(yaml.safe_dump({"rd": {"hybrid": {"splits": 2, "every": 1}}}))
    dry = snakemake(workdir, "-n", "all", "--configfile", str(edit)).stdout
    assert planned_jobs(dry) == {"manifold": 6, "closure": 50, "hybrid_rollout": 50,
                                 "rd_report": 1, "rd_lambda_sweep": 1, "table_html": 2,
                                 "provenance": 1, "all": 1}, dry[-3000:]


def test_restating_the_preset_in_a_configfile_reruns_nothing(workdir, tmp_path):
    """The same settings from a --configfile (whose keys Snakemake lists first) and
    from the preset give the same params, key order included: nothing reruns."""
    same = tmp_path / "same.yaml"
    same.write_text(yaml.safe_dump({"rd": {"fom": {"gammas": [0.05, 0.25], "grids": [16]}},
                                    "seed": 0}))
    out = snakemake(workdir, "-n", "all", "--configfile", str(same),
                    config=[ALL_EXPERIMENTS]).stdout
    assert "Nothing to be done" in out, out[-3000:]


def test_noop_rerun(workdir):
    out = snakemake(workdir, "-n", "all", config=[ALL_EXPERIMENTS]).stdout
    assert "Nothing to be done" in out, out[-2000:]


def test_stage2_edit_reruns_stage2_and_downstream_only(workdir, tmp_path):
    """Editing mlasdi's stage 2 reruns its stage-2 segment (and those of the kappa sweep,
    which copies its base model's stages), the rollouts and the report; nothing upstream."""
    edit = tmp_path / "edit.yaml"
    stages = [{"iterations": 20}, {"iterations": 45}]
    edit.write_text(yaml.safe_dump({"scales": {"test": {"toy": {"models": {"mlasdi": {
        "stages": stages}}}}}}))
    dry = snakemake(workdir, "-n", "all", "--configfile", str(edit)).stdout
    assert planned_jobs(dry) == {"train_stage": 3, "rollout": 3, "report_toy": 1,
                                 "table_html": 2, "provenance": 1, "all": 1}, dry[-3000:]
    stage1 = segment_dir(workdir, "toy", "mlasdi")
    coefficients = stage1 / "coefficients.nc"
    before = {f: f.stat().st_mtime_ns for f in (stage1 / "model.pt", stage1 / "latent.nc",
                                                 coefficients)}
    snakemake(workdir, "--cores", "2", "all", "--configfile", str(edit))
    assert {f: f.stat().st_mtime_ns for f in before} == before
    user = {"toy": {"models": {"mlasdi": {"stages": stages}}}}
    assert (segment_dir(workdir, "toy", "mlasdi", 2, user=user) / "model.pt").is_file()
    # and back: the original stage-2 segments are still there, nothing reruns but the
    # rollouts and the report that read them
    dry = snakemake(workdir, "-n", "all").stdout
    assert "train_stage1" not in planned_jobs(dry) and "train_stage" not in planned_jobs(dry)


def test_logging_settings_rerun_nothing(workdir, tmp_path):
    """lasdi.monitor (progress and checkpoint intervals) is in no rule's params."""
    edit = tmp_path / "monitor.yaml"
    edit.write_text(yaml.safe_dump({"lasdi": {"monitor": {"log_every": 3,
                                                          "checkpoint_every": 7}}}))
    before = planned_jobs(snakemake(workdir, "-n", "all").stdout)
    after = planned_jobs(snakemake(workdir, "-n", "all", "--configfile", str(edit)).stdout)
    assert after == before and "train_stage1" not in after, (before, after)


SLOW = {"lasdi": {"monitor": {"checkpoint_every": 50, "log_every": 50}},
        "toy": {"models": {"gplasdi": {"stages": [{"iterations": 4000}]}}}}


def start_training(workdir, settings, target):
    path = workdir / f"settings{len(list(workdir.glob('settings*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return subprocess.Popen([*SNAKEMAKE, "-d", str(workdir), "--config", "scale=test",
                             "--configfile", str(path), "--cores", "1", "--nolock", target],
                            cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def kill_after_checkpoint(proc, ckpt):
    deadline = time.time() + 300
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert ckpt.exists(), "no checkpoint appeared"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_killed_training_leaves_no_output_and_resumes(tmp_path):
    seg = segment_dir(tmp_path, "toy", "gplasdi", user=SLOW)
    target = str((seg / "model.pt").relative_to(tmp_path))
    kill_after_checkpoint(start_training(tmp_path, SLOW, target), seg / "model.ckpt")
    for name in ("model.pt", "state.pt", "latent.nc", "loss.nc"):
        assert not (seg / name).exists(), f"{name} exists after a kill"
    log = tmp_path / "results/logs/toy/stages" / seg.relative_to(
        tmp_path / "results/toy/stages") / "train.log"
    assert start_training(tmp_path, SLOW, target).wait(timeout=300) == 0
    assert "resumed from checkpoint" in log.read_text(), log.read_text()[-2000:]
    assert not (seg / "model.ckpt").exists()


def test_a_kill_then_a_data_edit_gives_a_fresh_start_and_the_clean_result(tmp_path):
    """Issue: kill train_stage1 after its first checkpoint, change toy.fom.train.A, rerun:
    it resumed from the stale checkpoint and latent.nc differed from a clean run."""
    from romflow import io

    edited = {**SLOW, "toy": {**SLOW["toy"], "fom": {"train": {"A": [1.0, 1.3]}}}}
    seg = segment_dir(tmp_path, "toy", "gplasdi", user=edited)
    assert seg == segment_dir(tmp_path, "toy", "gplasdi", user=SLOW)
    target = str((seg / "latent.nc").relative_to(tmp_path))
    kill_after_checkpoint(start_training(tmp_path, SLOW, target), seg / "model.ckpt")
    assert start_training(tmp_path, edited, target).wait(timeout=300) == 0
    log = (tmp_path / "results/logs/toy/stages" / seg.relative_to(
        tmp_path / "results/toy/stages") / "train.log").read_text()
    assert "discarding checkpoint" in log and "resumed" not in log, log[-2000:]
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    assert start_training(clean_dir, edited, target).wait(timeout=300) == 0
    got = io.open_dataset(seg / "latent.nc", "latent")
    clean = io.open_dataset(clean_dir / target, "latent")
    for name in ("z", "z_sindy", "xi"):
        np.testing.assert_array_equal(got[name].values, clean[name].values)
    assert got.attrs["config_digest"] == clean.attrs["config_digest"]


def test_a_corrupt_checkpoint_is_discarded_and_the_rule_completes(tmp_path):
    seg = segment_dir(tmp_path, "toy", "gplasdi")
    seg.mkdir(parents=True)
    (seg / "model.ckpt").write_bytes(b"garbage, not a checkpoint")
    target = str((seg / "model.pt").relative_to(tmp_path))
    snakemake(tmp_path, "--cores", "1", target)
    log = (tmp_path / "results/logs/toy/stages" / seg.relative_to(
        tmp_path / "results/toy/stages") / "train.log").read_text()
    assert "WARNING: discarding checkpoint" in log and "cannot be read" in log, log[-2000:]
    assert (seg / "model.pt").is_file() and not (seg / "model.ckpt").exists()


# --config settings or a --configfile's text -> what the refusal must name (issue 19)
BAD_CONFIGS = {
    "enum": (["device=gpu"], None, ["config key 'device' = 'gpu' is invalid", "'cuda'"]),
    # crashed with a numpy error while building the DAG
    "float seed": (["seed=1e3"], None, ["config key 'seed' = 1000.0 is invalid", "integer"]),
    # ran jobs that tripped on them (or, for experiments: [], built nothing and exited 0)
    "types": ([], """experiments: []
lasdi: {beta1: .nan}
toy:
  fom: {t_end: .inf, train: {A: [1, .inf]}}
  models:
    gplasdi: {hidden: []}
    mlasdi: {stages: [{iterations: 40.0}, {iterations: 40, lr: .nan}]}
""", ["'experiments' = []", "'lasdi.beta1' = nan", "'toy.fom.t_end' = inf",
      "'toy.fom.train.A[1]' = inf", "'toy.models.gplasdi.hidden' = []",
      "'toy.models.mlasdi.stages[0].iterations' = 40.0",
      "'toy.models.mlasdi.stages[1].lr' = nan"]),
    "empty models": ([], "toy: {models: {}}\n", ["'toy.models' = {} is invalid"]),
    "cross-key": ([], "rd: {hybrid: {test: 2}}\ntoy: {fom: {x_min: 3.0, x_max: 3.0}}\n",
                  ["'rd.hybrid.test' = 2 is invalid", "rd.fom.trajectories = 2",
                   "'toy.fom.x_max' = 3.0 is invalid"]),
}


@pytest.mark.parametrize("config, text, expected", BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_bad_config_stops_before_any_job(tmp_path, config, text, expected):
    args = ["-n", "all"]
    if text is not None:
        (tmp_path / "bad.yaml").write_text(text)
        args += ["--configfile", str(tmp_path / "bad.yaml")]
    proc = snakemake(tmp_path, *args, config=config, check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "invalid configuration" in out and "Job stats" not in out, out[-3000:]
    assert all(e in out for e in expected), out[-3000:]
    assert not (tmp_path / "results").exists()


def test_corrupt_input_stops_rule_with_file_name_and_the_way_out(tmp_path):
    from romflow import io

    snakemake(tmp_path, "--cores", "1", "results/toy/fom.nc")
    fom = tmp_path / "results/toy/fom.nc"
    assert io.open_dataset(fom, "fom").attrs[io.RULE_ATTR] == "fom"   # who made it
    data = fom.read_bytes()
    fom.write_bytes(data[: len(data) // 3])
    seg = segment_dir(tmp_path, "toy", "gplasdi_deep")     # a run of one segment
    target = str((seg / "latent.nc").relative_to(tmp_path))
    proc = snakemake(tmp_path, "--cores", "1", target, check=False)
    assert proc.returncode != 0
    # the job that failed: the first segment of gplasdi's chain (it may continue a
    # shorter segment that another model ends in; that one runs first and fails)
    logs = list((tmp_path / "results/logs/toy/stages").rglob("train.log"))
    assert len(logs) == 1, logs
    log = logs[0].read_text()
    assert "results/toy/fom.nc: cannot be read as NetCDF" in log, log[-2000:]
    assert not (seg / "latent.nc").exists()
    # Snakemake counts fom.nc as finished: the log (shown with the failure) names the
    # rerun that remakes it, and that rerun works
    hint = "adding --forcerun results/toy/fom.nc at the end of your snakemake command"
    assert hint in log.strip().splitlines()[-1], log[-2000:]
    assert hint in proc.stdout + proc.stderr
    snakemake(tmp_path, "--cores", "1", target, "--forcerun", "results/toy/fom.nc")
    assert io.open_dataset(fom, "fom").sizes[io.PARAM] == 3
    assert io.open_dataset(tmp_path / target, "latent").attrs[io.RULE_ATTR] == "train_stage1"


def test_lint(tmp_path):
    proc = snakemake(tmp_path, "--lint")
    out = proc.stdout + proc.stderr
    assert "Congratulations" in out and "Lints for" not in out, out[-3000:]


def test_slurm_profile_gives_gpu_rules_a_gpu(tmp_path):
    proc = subprocess.run([*SNAKEMAKE, "-d", str(tmp_path), "--profile",
                           str(ROOT / "profiles" / "slurm"), "-n", "all",
                           "--config", "scale=test", "device=cuda"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = planned_jobs(proc.stdout)
    assert jobs["train_stage1"] == 12 and jobs["train_stage"] == 5 and jobs["all"] == 1
    blocks = proc.stdout.split("rule ")
    train = [b for b in blocks if b.startswith("train_stage1:")]
    fom = [b for b in blocks if b.startswith("fom:")]
    assert train and all("gpu=1" in b for b in train), train[:1]
    assert fom and all("gpu=1" not in b for b in fom)
