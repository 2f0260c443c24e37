"""Result tables: one row per model x stage x parameter, CSV and LaTeX.

Each table carries the scale and the config digest that made it, and the
paper's published range beside our numbers where the config names one.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from romflow import io

__all__ = ["errors_table", "write_csv", "errors_latex", "linear_terminal_table",
           "PAPER_TABLE1", "hybrid_table", "hybrid_latex"]


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


def _atomic_text(text: str, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = io.atomic_path(path)
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def write_csv(table: pd.DataFrame, path) -> Path:
    """Write ``table`` as CSV atomically."""
    return _atomic_text(table.to_csv(index=False, float_format="%.6g"), path)


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
    return _atomic_text(text, path)


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


#: Hybrid paper, Table 1: relative error at step 1000, mean over 10 splits, for
#: γ = 0.05, 0.10, 0.15, 0.20, 0.25 (mOLS and aOLS lie between, not tabulated here).
PAPER_TABLE1 = {
    "gammas": (0.05, 0.10, 0.15, 0.20, 0.25),
    64: {"ols": (84, 10.4, 9.0, 2.2, 0.68), "tr": (0.12, 0.11, 0.14, 0.19, 0.22)},
    128: {"ols": (410, 82, 51, 4.9, 2.3), "tr": (0.28, 0.17, 0.24, 0.18, 0.19)},
}


def hybrid_table(rollouts, scale: str, lams: dict | None = None) -> pd.DataFrame:
    """Table 1 as numbers: one row per grid, γ and estimator.

    ``rollouts`` are 'rollout' datasets (one per case, split and estimator).
    ``rel_error_mean/std`` are over the test trajectories of all splits whose
    rollout stayed below the blow-up cap up to the last step; ``blowups`` counts
    the others (their error is not averaged: it is unbounded).  With every
    rollout blown up the mean and std are +inf.  ``lams`` (estimator -> TR
    penalty) adds a column ``lam``, NaN for the estimators it does not name.
    Rows run OLS, mOLS, aOLS, TR, then any others (the λ sweep's ``tr_lam<λ>``)
    by ``lam``.
    """
    groups: dict = {}
    for ds in rollouts:
        key = (int(ds.attrs["grid"]), float(ds.attrs["gamma"]), ds.attrs["estimator"])
        g = groups.setdefault(key, {"final": [], "blow": [], "splits": set(), "digest": set()})
        g["final"] += list(ds["rel_error"].values[:, -1])
        g["blow"] += list(ds["blowup_step"].values)
        g["splits"].add(int(ds.attrs["split"]))
        g["digest"].add(ds.attrs["config_digest"])
    rows = []
    base = ("ols", "mols", "aols", "tr")

    def order(est):  # the four estimators, then the others (the sweep's) by λ
        lam = (lams or {}).get(est, np.nan)
        return (base.index(est) if est in base else len(base), 0.0 if np.isnan(lam) else lam,
                est)

    for (grid, gamma, est) in sorted(groups, key=lambda k: (k[0], k[1], order(k[2]))):
        g = groups[(grid, gamma, est)]
        final = np.asarray(g["final"], dtype=np.float64)
        ok = np.isfinite(final)
        rows.append({"grid": grid, "gamma": gamma, "estimator": est,
                     "splits": len(g["splits"]),
                     "rel_error_mean": float(final[ok].mean()) if ok.any() else np.inf,
                     "rel_error_std": float(final[ok].std()) if ok.any() else np.inf,
                     "blowups": int((np.asarray(g["blow"]) >= 0).sum()),
                     "rollouts": int(final.size), "step": None, "scale": scale,
                     "config_digest": ",".join(sorted(g["digest"]))})
        if lams is not None:
            rows[-1] = {**rows[-1], "lam": float(lams.get(est, np.nan))}
    table = pd.DataFrame(rows)
    steps = {int(ds.sizes[io.STEP] - 1) for ds in rollouts}
    table["step"] = ",".join(map(str, sorted(steps)))
    return table


def _fmt(x) -> str:
    if not np.isfinite(x):
        return "blow-up"
    return f"{x:.3g}"


def hybrid_latex(table: pd.DataFrame, path, *, caption: str) -> Path:
    """Table 1 layout: rows grid x estimator, columns γ; ours with the paper's beside
    (in parentheses) where Table 1 has a number; blow-ups as a count."""
    gammas = sorted(table["gamma"].unique())
    lines = [r"\begin{table}[ht]", r"\centering", r"\small",
             r"\begin{tabular}{ll" + "r" * len(gammas) + "}", r"\hline",
             "N & estimator & " + " & ".join(f"$\\gamma = {g:.2f}$" for g in gammas)
             + r" \\", r"\hline"]
    for grid in sorted(table["grid"].unique()):
        sub = table[table["grid"] == grid]
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
            lines.append(f"{grid} & {name} & " + " & ".join(cells) + r" \\")
        lines.append(r"\hline")
    lines += [r"\end{tabular}", f"\\caption{{{caption}}}", r"\end{table}", ""]
    return _atomic_text("\n".join(lines), path)
