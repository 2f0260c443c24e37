"""The hybrid reports from the rollout files: reaction–diffusion Table 1 (CSV +
LaTeX, a row group per protocol, beside the paper's numbers), Fig. 4 and the λ
sweep; the channel's Table 2 (stopping times, censoring counted) and Fig. 5."""

from __future__ import annotations

import numpy as np
import pandas as pd

from romflow import plotting, tables
from romflow.hybrid import stopping

__all__ = ["rd_table1", "rd_figure4", "rd_lambda_sweep", "channel_table2",
           "channel_latex", "channel_figure5"]

_ORDER = ("ols", "mols", "aols", "tr")


def _smallest_grid(rollouts, protocol: str, size_key: str) -> list:
    """The rollouts of ``protocol`` on its smallest grid (attribute ``size_key``)."""
    mine = [ds for ds in rollouts if ds.attrs.get("protocol", "") == protocol]
    size = min(int(ds.attrs[size_key]) for ds in mine)
    return [ds for ds in mine if int(ds.attrs[size_key]) == size]


def _split0(rollouts, key: str, pick) -> dict:
    """Estimator -> split-0 rollout at the ``pick`` (min / max) value of ``key``; OLS
    and TR when both are there, else every estimator."""
    at = pick(float(ds.attrs[key]) for ds in rollouts)
    first = {ds.attrs["estimator"]: ds for ds in rollouts
             if float(ds.attrs[key]) == at and int(ds.attrs["split"]) == 0}
    return {e: first[e] for e in ("ols", "tr") if e in first} or first


def _curves(rollouts, key: str, error_var: str) -> dict:
    """``{value of key: {estimator: (error, shift)}}``, the rollouts of every split
    stacked: the input of :func:`romflow.plotting.hybrid_error_and_shift`."""
    curves: dict = {}
    for ds in rollouts:
        by_est = curves.setdefault(float(ds.attrs[key]), {})
        err, shift = by_est.get(ds.attrs["estimator"], (None, None))
        e, sh = ds[error_var].values, ds["shift"].values
        by_est[ds.attrs["estimator"]] = (e if err is None else np.concatenate([err, e]),
                                         sh if shift is None else np.concatenate([shift, sh]))
    return curves


def rd_table1(rollouts, *, scale: str, unresolved: dict, table_path, latex_path):
    """Table 1 of every protocol's rollouts; returns the table."""
    table = tables.hybrid_table(rollouts, scale)
    tables.write_csv(table, table_path)
    groups = "; ".join(f"{p}: {u} learned" for p, u in unresolved.items())
    tables.hybrid_latex(
        table, latex_path,
        caption=(f"Reaction-diffusion, error of the hybrid rollout per protocol ({groups}): "
                 "the relative error ||u - u_hat|| / ||u|| at the step given (its square for "
                 f"the published protocol, as that code reports it), mean (and std, with two "
                 f"or more) over the rollouts of every split, scale {scale}; in parentheses: "
                 "the paper's Table 1 (step 1000, 10 splits).  Blow-ups are counted, not "
                 "averaged."))
    return table


def rd_figure4(rollouts, *, protocol: str, scale: str, snapshots_path, curves_path):
    """Fig. 4 of one protocol: snapshots (finest grid, smallest γ, split 0; OLS and TR)
    and error / shift over the steps of every split."""
    on_grid = _smallest_grid(rollouts, protocol, "grid")
    plotting.hybrid_snapshots(_split0(on_grid, "gamma", min), scale=scale, path=snapshots_path)
    plotting.hybrid_error_and_shift(_curves(on_grid, "gamma", "rel_error"), scale=scale,
                                    path=curves_path)


def rd_lambda_sweep(rollouts, *, scale: str, table_path, figure_path):
    """TR's error over λ beside the other estimators: the table of every protocol, the
    figure of the first protocol that has a sweep."""
    table = tables.hybrid_table(rollouts, scale, lams={})
    tables.write_csv(table, table_path)
    swept = [p for p in dict.fromkeys(table["protocol"])
             if table[(table["protocol"] == p)]["lam"].dropna().nunique() > 1]
    shown = table[table["protocol"] == (swept[0] if swept else table["protocol"].iloc[0])]
    plotting.hybrid_lambda_sweep(shown, scale=scale, path=figure_path)
    return table


def _paper_cell(published: dict, nx: int, ny: int, est: str, reynolds: float) -> str:
    """The paper's Table 2 entry ('435 ± 15') for a grid, estimator and Re, or ''."""
    grid = published.get(f"n{nx}x{ny}", {})
    hit = np.flatnonzero(np.isclose(np.asarray(published.get("reynolds", []), float),
                                    reynolds))
    if est not in grid or not hit.size:
        return ""
    std = grid.get("std", {}).get(est)
    mean = grid[est][hit[0]]
    return f"{mean:g} ± {std[hit[0]]:g}" if std else f"{mean:g}"


def channel_table2(rollouts, *, scale: str, criterion: str, K: float,
                   published: dict | None = None) -> pd.DataFrame:
    """Table 2 as numbers: one row per protocol, grid, Re and estimator.

    The stopping time t_K (:mod:`romflow.hybrid.stopping`) of every test rollout
    of every split, under ``criterion`` (relative | absolute) and threshold ``K``:
    ``t_K_mean`` / ``t_K_std`` over the rollouts that stopped, ``censored`` the
    count that never exceeded K within ``horizon`` steps, ``t_K_lower_bound`` the
    mean with those counted at the horizon, ``t_K`` the cell as printed, ``paper``
    the paper's Table 2 (mean ± std over 10 experiments) where it has one.
    """
    if criterion not in stopping.CRITERIA:
        raise ValueError(f"stopping criterion {criterion!r} is invalid; allowed: "
                         f"{sorted(stopping.CRITERIA)}")
    groups: dict = {}
    for ds in rollouts:
        key = (ds.attrs.get("protocol", ""), int(ds.attrs["nx"]), int(ds.attrs["ny"]),
               float(ds.attrs["reynolds"]), ds.attrs["estimator"])
        g = groups.setdefault(key, {"t": [], "c": [], "horizon": set(), "splits": set(),
                                    "digest": set()})
        t, censored, horizon = stopping.stopping_times(
            ds[stopping.CRITERIA[criterion]].values, K)
        g["t"] += list(t)
        g["c"] += list(censored)
        g["horizon"].add(horizon)
        g["splits"].add(int(ds.attrs["split"]))
        g["digest"].add(ds.attrs["config_digest"])
    protocols = list(dict.fromkeys(k[0] for k in groups))
    rows = []
    for key in sorted(groups, key=lambda k: (protocols.index(k[0]), k[1], k[2], k[3],
                                             _ORDER.index(k[4]) if k[4] in _ORDER
                                             else len(_ORDER), k[4])):
        proto, nx, ny, re, est = key
        g = groups[key]
        s = stopping.summarize(g["t"], g["c"], max(g["horizon"]))
        rows.append({"protocol": proto, "nx": nx, "ny": ny, "reynolds": re,
                     "estimator": est, "criterion": criterion, "K": float(K),
                     "splits": len(g["splits"]), "rollouts": s["rollouts"],
                     "stopped": s["stopped"], "censored": s["censored"],
                     "horizon": s["horizon"], "t_K_mean": s["mean"], "t_K_std": s["std"],
                     "t_K_lower_bound": s["lower_bound"],
                     "t_K": stopping.format_summary(s),
                     "paper": _paper_cell(published or {}, nx, ny, est, re),
                     "scale": scale, "config_digest": ",".join(sorted(g["digest"]))})
    return pd.DataFrame(rows)


def channel_latex(table: pd.DataFrame, path, *, caption: str):
    """Table 2 layout: rows protocol x grid x estimator, columns Re; ours with the
    paper's beside in parentheses; censored cells as '≥ ...' with their count."""
    res = sorted(table["reynolds"].unique())
    lines = [r"\begin{table}[ht]", r"\centering", r"\small",
             r"\begin{tabular}{lll" + "r" * len(res) + "}", r"\hline",
             "protocol & grid & estimator & "
             + " & ".join(f"Re = {r:g}" for r in res) + r" \\", r"\hline"]
    for proto in dict.fromkeys(table["protocol"]):
        label = proto
        sub = table[table["protocol"] == proto]
        for (nx, ny), grid in sub.groupby(["nx", "ny"], sort=True):
            for est in dict.fromkeys(grid["estimator"]):
                cells = []
                for r in res:
                    row = grid[(grid["estimator"] == est) & np.isclose(grid["reynolds"], r)]
                    if row.empty:
                        cells.append("--")
                        continue
                    cell = row.iloc[0]["t_K"].replace("±", r"$\pm$").replace("≥", r"$\geq$")
                    if row.iloc[0]["paper"]:
                        cell += " (" + row.iloc[0]["paper"].replace("±", r"$\pm$") + ")"
                    cells.append(cell)
                name = {"mols": "mOLS", "aols": "aOLS"}.get(est, est.upper())
                lines.append(f"{label} & {nx} $\\times$ {ny} & {name} & "
                             + " & ".join(cells) + r" \\")
                label = ""
        lines.append(r"\hline")
    lines += [r"\end{tabular}", f"\\caption{{{caption}}}", r"\end{table}", ""]
    return tables.write_text("\n".join(lines), path)


def channel_figure5(rollouts, *, protocol: str, scale: str, criterion: str, K: float,
                    snapshots_path, curves_path):
    """Fig. 5 of one protocol: snapshots (finest grid here, largest Re, split 0; truth,
    OLS and TR; the u component) and, per Re, the stopping criterion's error and the
    distribution shift over the steps of every split's rollouts, with K drawn."""
    on_grid = _smallest_grid(rollouts, protocol, "nx")
    grid = f"{int(on_grid[0].attrs['nx'])} x {int(on_grid[0].attrs['ny'])}"
    plotting.hybrid_snapshots(_split0(on_grid, "reynolds", max), scale=scale,
                              path=snapshots_path)
    curves = _curves(on_grid, "reynolds", stopping.CRITERIA[criterion])
    label = ("relative error ||û_k - u_k|| / ||u_k||" if criterion == "relative"
             else "error ||û_k - u_k||_2")
    plotting.hybrid_error_and_shift(curves, scale=scale, path=curves_path, panel="Re = {:g}",
                                    title=f"channel {grid}", error_label=label, threshold=K)
