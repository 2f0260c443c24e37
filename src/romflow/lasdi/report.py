"""Result tables of the mLaSDI experiments, beside the paper's numbers.

- :func:`errors_table`: one row per model x stage count x parameter, with eq.
  (25) (``max_rel_error``), the low end of the paper's over-time bands
  (``min_rel_error_over_time``), the GP spread, the blow-up step and the
  training time, the scale and what the scale reduced.
- :func:`errors_latex`: Table 1 of the paper as LaTeX (ours, the paper's range).
- :func:`sweep_summary`: per model x stage count, the median / mean / min / max of
  eq. (25) over the test parameters and over all parameters (Fig. 9, B.11).
- :func:`reduction_factors`: mLaSDI against GPLaSDI at equal total iterations
  (section 4.3: 2.54 / 3.24 / 5.91 for the max / mean / min error).
- :func:`kappa_table`: appendix A, train and test error against kappa.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from romflow import io, paper_numbers
from romflow.tables import write_text

__all__ = ["errors_table", "errors_latex", "sweep_summary", "reduction_factors",
           "kappa_table", "STATISTICS"]

#: Statistics over parameters of eq. (25), in Fig. 9's order.
STATISTICS = ("max", "mean", "min", "median")


def errors_table(errors: dict, specs: dict, seconds: dict, *, n_in: int, scale: str,
                 reduced: str) -> pd.DataFrame:
    """Long table: ``model, sweep, kind, architecture, iterations, stages, <params>, split,
    max_rel_error, min_rel_error_over_time, max_rel_spread, blowup_step, train_seconds,
    scale, reduced, config_digest``.

    ``errors`` maps a model to its 'errors' dataset, ``specs`` to its ModelSpec,
    ``seconds`` to the training seconds of each of its stages (the run up to that
    stage's iteration count, shared segments counted in full).  ``iterations`` and
    ``train_seconds`` of stage count s cover stages 1..s.
    """
    rows = []
    for model, ds in errors.items():
        spec = specs[model]
        names = io.parameter_names(ds)
        arch = "-".join(map(str, (n_in, *spec.hidden, spec.latent)))
        base = spec.group.get("hidden", spec.hidden)
        config_label = "-".join(map(str, (*base, spec.group.get("latent", spec.latent))))
        for s, stage in enumerate(ds[io.STAGE].values):
            counts = [st.iterations for st in spec.stages[: int(stage)]]
            for p in range(ds.sizes[io.PARAM]):
                row = {"model": model, "sweep": spec.sweep, "kind": spec.kind,
                       "architecture": arch, "configuration": config_label,
                       "library": spec.library,
                       "iterations": "+".join(map(str, counts)),
                       "total_iterations": int(sum(counts)), "stages": int(stage)}
                row.update({n: float(ds[n].values[p]) for n in names})
                spread = ds["max_rel_spread"].values[s, p] if "max_rel_spread" in ds else np.nan
                row.update({"split": str(ds[io.SPLIT].values[p]),
                            "max_rel_error": float(ds["max_rel_error"].values[s, p]),
                            "min_rel_error_over_time":
                                float(ds["min_rel_error_over_time"].values[s, p]),
                            "max_rel_spread": float(spread),
                            "blowup_step": int(ds["blowup_step"].values[p]),
                            "train_seconds": float(sum(seconds[model][: int(stage)])),
                            "scale": scale, "reduced": reduced,
                            "config_digest": ds.attrs["config_digest"]})
                rows.append(row)
    return pd.DataFrame(rows)


def _percent(e: float) -> str:
    return "blow-up" if not np.isfinite(e) else f"{100 * e:.2f}\\%"


def _paper_range(problem: str, model: str) -> str:
    entry = paper_numbers.lookup("mlasdi", "table1", problem, model)
    if entry is None:
        return ""
    lo, hi = entry["rel_error_percent"]
    return f"{lo:g}--{hi:g}\\%"


def errors_latex(table: pd.DataFrame, problem: str, params, path, *, caption: str,
                 max_columns: int = 6) -> None:
    """LaTeX table, one row per model and stage count.

    ``params`` are the parameter columns.  With at most ``max_columns`` parameters:
    eq. (25) and the minimum over time per parameter ("max / min"), and the paper's
    Table 1 range beside the model's last stage.  With more: the median, min and
    max of eq. (25) over the test parameters (the sweep of Fig. 9).
    """
    params = list(params)
    points = table.drop_duplicates(params)[params + ["split"]]
    wide = len(points) <= max_columns
    if wide:
        head = " & ".join(", ".join(f"{n}={r[n]:g}" for n in params) + f" ({r['split']})"
                          for _, r in points.iterrows())
        cols = "r" * len(points) + "l"
        head += " & paper"
    else:
        head, cols = "median & min & max (test) & blow-ups", "rrrr"
    lines = [r"\begin{tabular}{llll" + cols + "}", r"\hline",
             f"model & architecture & iterations & stages & {head} \\\\", r"\hline"]
    for (model, stages), grp in table.groupby(["model", "stages"], sort=False):
        first = grp.iloc[0]
        if wide:
            cells = []
            for _, r in points.iterrows():
                match = grp
                for n in params:
                    match = match[np.isclose(match[n], r[n])]
                e = match.iloc[0]
                cells.append(f"{_percent(e['max_rel_error'])} / "
                             f"{_percent(e['min_rel_error_over_time'])}")
            last = stages == table[table.model == model].stages.max()
            cells.append(_paper_range(problem, model) if last else "")
        else:
            test = grp[grp.split == "test"]["max_rel_error"].to_numpy()
            cells = [_percent(float(np.median(test))), _percent(float(test.min())),
                     _percent(float(test.max())), str(int(np.sum(~np.isfinite(test))))]
        name = model.replace("_", r"\_")
        lines.append(f"{name} & {first['architecture']} & {first['iterations']} & {stages} & "
                     + " & ".join(cells) + " \\\\")
    lines += [r"\hline", r"\end{tabular}"]
    text = (f"% {caption}\n% scale: {table['scale'].iloc[0]}; reduced: "
            f"{table['reduced'].iloc[0] or 'nothing'}\n"
            "% cells: max over time (eq. (25)) / min over time of the relative l2 error\n"
            + "\n".join(lines) + "\n")
    write_text(text, path)


def _stats(values: np.ndarray) -> dict:
    """max / mean / min / median of eq. (25) values; blow-ups (inf) count as inf, never NaN."""
    v = np.asarray(values, float)
    finite = np.isfinite(v)
    mean = float(v.mean()) if finite.all() else np.inf
    return {"max": float(v.max()), "mean": mean, "min": float(v.min()),
            "median": float(np.median(v)), "blowups": int((~finite).sum()), "n": int(v.size)}


def sweep_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per model and stage count: statistics of eq. (25) over the test parameters
    (``test_<stat>``) and over all parameters (``all_<stat>``), and the training time."""
    rows = []
    keys = ["model", "sweep", "kind", "architecture", "configuration", "library",
            "iterations", "total_iterations", "stages"]
    for key, grp in table.groupby(keys, sort=False):
        row = dict(zip(keys, key))
        for where, part in (("test", grp[grp.split == "test"]), ("all", grp)):
            if len(part):
                row.update({f"{where}_{k}": v for k, v in _stats(part["max_rel_error"]).items()})
        row.update({"train_seconds": float(grp["train_seconds"].iloc[0]),
                    "scale": grp["scale"].iloc[0], "reduced": grp["reduced"].iloc[0]})
        rows.append(row)
    return pd.DataFrame(rows)


def reduction_factors(summary: pd.DataFrame, specs: dict, *, sweep: str,
                      multi: str = "mlasdi", single: str = "gplasdi") -> pd.DataFrame:
    """mLaSDI (all its stages) against GPLaSDI (one stage, 1.5x wider) of the same
    architecture and latent size at equal total iterations.

    One row per matched pair and, last, the aggregate rows (``pair = 'median'``):
    ``ratio_<stat> = GPLaSDI / mLaSDI`` of each statistic over parameters, for the
    test parameters and for all; the aggregate is the median over pairs of each
    ratio, and ``of_medians_<where>_<stat>`` the ratio of the medians over pairs
    (two readings of the paper's "reduces the median error by factors of ...").
    """
    def group(model):
        g = specs[model].group
        return (tuple(g["hidden"]), g["latent"], g["total_iterations"])

    rows = []
    part = summary[summary.sweep == sweep]
    multis = part[(part.kind == multi)]
    multis = multis[multis.stages == multis.groupby("model").stages.transform("max")]
    singles = part[(part.kind == single) & (part.stages == 1)]
    by_group = {group(m): r for m, r in zip(singles.model, singles.to_dict("records"))}
    for m, r in zip(multis.model, multis.to_dict("records")):
        other = by_group.get(group(m))
        if other is None:
            continue
        row = {"pair": f"{m} vs {other['model']}", multi: m, single: other["model"],
               "total_iterations": r["total_iterations"]}
        for where in ("test", "all"):
            for stat in STATISTICS:
                a, b = other.get(f"{where}_{stat}"), r.get(f"{where}_{stat}")
                row[f"{where}_{stat}_{single}"], row[f"{where}_{stat}_{multi}"] = a, b
                row[f"ratio_{where}_{stat}"] = (a / b) if (b and np.isfinite(a)
                                                           and np.isfinite(b)) else np.nan
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):
        agg = {"pair": "median", multi: "", single: "", "total_iterations": np.nan}
        for where in ("test", "all"):
            for stat in STATISTICS:
                agg[f"ratio_{where}_{stat}"] = float(np.nanmedian(out[f"ratio_{where}_{stat}"]))
                agg[f"of_medians_{where}_{stat}"] = float(
                    np.median(out[f"{where}_{stat}_{single}"])
                    / np.median(out[f"{where}_{stat}_{multi}"]))
        paper = paper_numbers.lookup("mlasdi", "vlasov", "fig9_median_reduction") or {}
        for stat, value in paper.items():
            agg[f"paper_{stat}"] = value
        out = pd.concat([out, pd.DataFrame([agg])], ignore_index=True)
    return out


def kappa_table(table: pd.DataFrame, specs: dict, *, base: str, sweep: str) -> pd.DataFrame:
    """Appendix A: per kappa (fixed, and the base model's trainable kappa) the mean
    over training / test parameters of eq. (25) after the last stage."""
    rows = []
    for model in [base, *[m for m, s in specs.items() if s.sweep == sweep]]:
        spec = specs[model]
        grp = table[(table.model == model) & (table.stages == len(spec.stages))]
        stage2 = spec.stage(2)
        rows.append({"model": model, "kappa": stage2.kappa, "train_kappa": stage2.train_kappa,
                     "train_error": float(grp[grp.split == "train"]["max_rel_error"].mean()),
                     "test_error": float(grp[grp.split == "test"]["max_rel_error"].mean()),
                     "scale": grp["scale"].iloc[0]})
    return pd.DataFrame(rows)
