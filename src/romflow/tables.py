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

__all__ = ["errors_table", "write_csv", "errors_latex", "linear_terminal_table"]


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
