"""Result tables: one row per model x stage x parameter, CSV and LaTeX.

Each table carries the scale and the config digest that made it, and the
paper's published range beside our numbers where the config names one.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from romflow import io, paper_numbers

__all__ = ["errors_table", "write_csv", "errors_latex", "linear_terminal_table",
           "PAPER_TABLE1", "hybrid_table", "hybrid_latex", "write_text"]


def errors_table(errors: dict, scale: str) -> pd.DataFrame:
    """Long table of eq. (25) errors: ``model, stages, <params>, split, max_rel_error``.

    ``errors`` maps a model name to its 'errors' dataset.  Extra columns:
    ``blowup_step`` (-1: none), ``scale`` and ``config_digest``.
    """
    rows = []
    for model, ds in errors.items():
        names = io.parameter_names(ds)
        for s, stage in enumerate(ds[io.STAGE].values):
            for p in range(ds.sizes[io.PARAM]):
                row = {"model": model, "stages": int(stage)}
                row.update({n: float(ds[n].values[p]) for n in names})
                row.update({"split": str(ds[io.SPLIT].values[p]),
                            "max_rel_error": float(ds["max_rel_error"].values[s, p]),
                            "blowup_step": int(ds["blowup_step"].values[p]),
                            "scale": scale, "config_digest": ds.attrs["config_digest"]})
                rows.append(row)
    return pd.DataFrame(rows)


def write_text(text: str, path) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename (never half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = io.atomic_path(path)
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def write_csv(table: pd.DataFrame, path) -> Path:
    """Write ``table`` as CSV atomically."""
    return write_text(table.to_csv(index=False, float_format="%.6g"), path)


def errors_latex(table: pd.DataFrame, paper: dict, path, *, caption: str) -> Path:
    """LaTeX table: one row per model and stage count, one column per parameter.

    ``paper`` maps a model name to the published error range shown beside ours.
    """
    params = [c for c in table.columns if c not in
              ("model", "stages", "split", "max_rel_error", "blowup_step", "scale",
               "config_digest")]
    points = table.drop_duplicates(params)[params + ["split"]]
    head = " & ".join(", ".join(f"{n}={r[n]:g}" for n in params) + f" ({r['split']})"
                      for _, r in points.iterrows())
    lines = [r"\begin{tabular}{ll" + "r" * len(points) + "l}", r"\hline",
             f"model & stages & {head} & paper \\\\", r"\hline"]
    for (model, stages), grp in table.groupby(["model", "stages"], sort=False):
        cells = []
        for _, r in points.iterrows():
            match = grp
            for n in params:
                match = match[np.isclose(match[n], r[n])]
            e = float(match["max_rel_error"].iloc[0])
            cells.append(r"blow-up" if not np.isfinite(e) else f"{100 * e:.2f}\\%")
        ref = paper.get(model, "") if stages == table[table.model == model].stages.max() else ""
        name, ref = model.replace("_", r"\_"), ref.replace("%", r"\%")
        lines.append(f"{name} & {stages} & " + " & ".join(cells) + f" & {ref} \\\\")
    lines += [r"\hline", r"\end{tabular}"]
    scale = table["scale"].iloc[0]
    text = (f"% {caption}\n% scale: {scale}; max over time of the relative l2 error, "
            "eq. (25) of the mLaSDI paper\n" + "\n".join(lines) + "\n")
    return write_text(text, path)


def linear_terminal_table(sweep, scale: str) -> pd.DataFrame:
    """Terminal trajectory error per estimator and λ: mean, std, median, min, max over
    draws (the hybrid paper's Fig. 7 as numbers)."""
    err = sweep["trajectory_error"].isel(step=-1)
    rows = []
    for name in sweep["estimator"].values:
        for lam in sweep["lam"].values:
            e = err.sel(estimator=name, lam=lam).values
            rows.append({"estimator": str(name), "lam": float(lam), "draws": e.size,
                         "terminal_error_mean": float(np.mean(e)),
                         "terminal_error_std": float(np.std(e)),
                         "terminal_error_median": float(np.median(e)),
                         "terminal_error_min": float(np.min(e)),
                         "terminal_error_max": float(np.max(e)),
                         "steps": int(sweep.sizes[io.STEP] - 1), "scale": scale,
                         "config_digest": sweep.attrs["config_digest"]})
    return pd.DataFrame(rows)


def _paper_table1() -> dict:
    """Hybrid paper, Table 1 (relative error at step 1000, mean over 10 splits) from
    ``paper_numbers.yaml``: ``{"gammas": (...), grid: {estimator: (...)}}``."""
    data = paper_numbers.lookup("hybrid", "table1")
    out = {"gammas": tuple(data["gammas"])}
    for key, rows in data.items():
        if key.startswith("n") and key[1:].isdigit():
            out[int(key[1:])] = {est: tuple(vals) for est, vals in rows.items()}
    return out


#: The same numbers as a constant, for readers of this module.
PAPER_TABLE1 = _paper_table1()


def _metric(ds) -> tuple[np.ndarray, int]:
    """Per rollout trajectory the Table 1 metric of a rollout file and the step it is
    read at: ``report_metric`` (relative, or squared_relative as the Table 1 code
    reports it) at ``report_step`` (-1 or past the end: the last step)."""
    last = int(ds.sizes[io.STEP] - 1)
    step = int(ds.attrs.get("report_step", -1))
    step = last if step < 0 or step > last else step
    err = np.asarray(ds["rel_error"].values[:, step], dtype=np.float64)
    if ds.attrs.get("report_metric", "relative") == "squared_relative":
        err = err ** 2
    return err, step


def hybrid_table(rollouts, scale: str, lams: dict | None = None) -> pd.DataFrame:
    """Table 1 as numbers: one row per protocol, grid, γ and estimator.

    ``rollouts`` are 'rollout' datasets (one per protocol, case, split and
    estimator).  ``rel_error_mean/std`` are the protocol's metric (its
    ``report_metric`` at ``report_step``, column ``metric`` and ``step``) over the
    rollout trajectories of all splits that stayed below the blow-up cap;
    ``blowups`` counts the others (their error is not averaged: it is
    unbounded).  With every rollout blown up the mean and std are +inf.  ``lam``
    is TR's penalty (from the file's attributes; NaN for the other bases) when
    ``lams`` is given (any mapping: the column is read from the files).  Rows run
    OLS, mOLS, aOLS, TR, then the others (the λ sweep's) by λ, per protocol in
    the order first seen.
    """
    groups: dict = {}
    order_of_protocols: list = []
    for ds in rollouts:
        proto = ds.attrs.get("protocol", "")
        if proto not in order_of_protocols:
            order_of_protocols.append(proto)
        key = (proto, int(ds.attrs["grid"]), float(ds.attrs["gamma"]), ds.attrs["estimator"])
        g = groups.setdefault(key, {"final": [], "blow": [], "splits": set(), "digest": set(),
                                    "step": set(), "metric": ds.attrs.get("report_metric",
                                                                          "relative"),
                                    "lam": float(ds.attrs["lam"]) if ds.attrs.get("base") == "tr"
                                    else np.nan})
        err, step = _metric(ds)
        g["final"] += list(err)
        g["step"].add(step)
        g["blow"] += list(ds["blowup_step"].values)
        g["splits"].add(int(ds.attrs["split"]))
        g["digest"].add(ds.attrs["config_digest"])
    rows = []
    base = ("ols", "mols", "aols", "tr")

    def order(key):  # protocols as seen; the four estimators, then the others by λ
        proto, grid, gamma, est = key
        lam = groups[key]["lam"]
        return (order_of_protocols.index(proto), grid, gamma,
                base.index(est) if est in base else len(base),
                0.0 if np.isnan(lam) else lam, est)

    for key in sorted(groups, key=order):
        proto, grid, gamma, est = key
        g = groups[key]
        final = np.asarray(g["final"], dtype=np.float64)
        ok = np.isfinite(final)
        rows.append({"protocol": proto, "grid": grid, "gamma": gamma, "estimator": est,
                     "splits": len(g["splits"]),
                     "rel_error_mean": float(final[ok].mean()) if ok.any() else np.inf,
                     "rel_error_std": float(final[ok].std()) if ok.any() else np.inf,
                     "blowups": int((np.asarray(g["blow"]) >= 0).sum()),
                     "rollouts": int(final.size), "metric": g["metric"],
                     "step": ",".join(map(str, sorted(g["step"]))), "scale": scale,
                     "config_digest": ",".join(sorted(g["digest"]))})
        if lams is not None:
            rows[-1] = {**rows[-1], "lam": g["lam"]}
    return pd.DataFrame(rows)


def _fmt(x) -> str:
    if not np.isfinite(x):
        return "blow-up"
    return f"{x:.3g}"


def hybrid_latex(table: pd.DataFrame, path, *, caption: str) -> Path:
    """Table 1 layout: a row group per protocol, rows grid x estimator, columns γ; ours
    with the paper's beside (in parentheses) where Table 1 has a number; blow-ups as
    a count."""
    gammas = sorted(table["gamma"].unique())
    lines = [r"\begin{table}[ht]", r"\centering", r"\small",
             r"\begin{tabular}{lll" + "r" * len(gammas) + "}", r"\hline",
             "protocol & N & estimator & "
             + " & ".join(f"$\\gamma = {g:.2f}$" for g in gammas) + r" \\", r"\hline"]
    protocols = list(dict.fromkeys(table["protocol"])) if "protocol" in table else [""]
    for proto in protocols:
        by_proto = table[table["protocol"] == proto] if "protocol" in table else table
        metric = by_proto["metric"].iloc[0] if "metric" in by_proto else "relative"
        step = by_proto["step"].iloc[0] if "step" in by_proto else ""
        label = f"{proto} ({'squared ' if metric == 'squared_relative' else ''}step {step})"
        for grid in sorted(by_proto["grid"].unique()):
            sub = by_proto[by_proto["grid"] == grid]
            for est in sub["estimator"].unique():
                cells = []
                for g in gammas:
                    row = sub[(sub["estimator"] == est) & np.isclose(sub["gamma"], g)]
                    if row.empty:
                        cells.append("--")
                        continue
                    r = row.iloc[0]
                    cell = _fmt(r.rel_error_mean)
                    if r.rollouts - r.blowups > 1:  # a spread needs two finite rollouts
                        cell += f" $\\pm$ {_fmt(r.rel_error_std)}"
                    if r.blowups:
                        cell += f" [{r.blowups}/{r.rollouts} blow-up]"
                    paper = PAPER_TABLE1.get(int(grid), {}).get(est)
                    hit = np.flatnonzero(np.isclose(PAPER_TABLE1["gammas"], g))
                    if paper is not None and hit.size:
                        cell += f" ({paper[hit[0]]:g})"
                    cells.append(cell)
                name = {"mols": "mOLS", "aols": "aOLS"}.get(est, est.upper())
                lines.append(f"{label} & {grid} & {name} & " + " & ".join(cells) + r" \\")
                label = ""
            lines.append(r"\hline")
    lines += [r"\end{tabular}", f"\\caption{{{caption}}}", r"\end{table}", ""]
    return write_text("\n".join(lines), path)
