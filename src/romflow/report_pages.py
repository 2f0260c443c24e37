"""HTML pages of the ``snakemake --report``: result tables with the paper's numbers
beside ours.

The report shows a PNG or an HTML page inline and offers any other file (CSV,
LaTeX) for download only, so every result table gets an HTML page here: first a
comparison (ours beside the published number, where the paper has one; the
numbers come from :mod:`romflow.paper_numbers`), then the whole CSV.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from romflow import io
from romflow.errors import ConfigError

__all__ = ["COMPARISONS", "lasdi_comparison", "hybrid_comparison", "stopping_comparison",
           "reduction_comparison", "table_page", "write_page"]

_STYLE = """
body { font-family: sans-serif; font-size: 14px; margin: 1em; color: #222; }
h1 { font-size: 18px; } h2 { font-size: 15px; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
th { background: #f0f0f0; }
p.note { color: #555; max-width: 60em; }
"""


def _percent_range(values) -> str:
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "blow-up"
    text = (f"{100 * finite.min():.3g}" if np.ptp(finite) == 0
            else f"{100 * finite.min():.3g}–{100 * finite.max():.3g}")
    blown = values.size - finite.size
    return text + (f" ({blown} blow-up)" if blown else "")


def lasdi_comparison(table: pd.DataFrame, published: dict) -> pd.DataFrame:
    """Ours beside the mLaSDI paper's Table 1, one row per model and stage count.

    ``table`` is an ``errors.csv`` (one row per model, stage count and parameter
    point; ``max_rel_error`` the max over time, eq. (25), and, where the table has
    it, ``min_rel_error_over_time`` the min); ``published`` maps a model name to its
    Table 1 entry (``architecture``, ``iterations``, ``rel_error_percent``: the band
    of the relative error over time).  Ours, in per cent, over the test parameters
    and over the train parameters apart: the band min over time – max over time
    (eq. (25) alone where the table has no min); the paper's band stands beside the
    last stage of the model of that name.
    """
    low = "min_rel_error_over_time" if "min_rel_error_over_time" in table else "max_rel_error"

    def band(part):
        values = np.concatenate([part[low].to_numpy(float), part["max_rel_error"].to_numpy(
            float)])
        return _percent_range(values) if len(part) else ""

    rows = []
    for (model, stages), grp in table.groupby(["model", "stages"], sort=False):
        last = stages == table.loc[table["model"] == model, "stages"].max()
        paper = published.get(model) if last else None
        rows.append({
            "model": model, "stages": int(stages),
            "ours, test (%)": band(grp[grp["split"] == "test"]),
            "ours, train (%)": band(grp[grp["split"] == "train"]),
            "paper, Table 1 (%)": ("–".join(f"{v:g}" for v in paper["rel_error_percent"])
                                   if paper else ""),
            "paper's model": (f"{paper['architecture']}, {paper['iterations']} it."
                              if paper else ""),
        })
    return pd.DataFrame(rows)


def hybrid_comparison(table: pd.DataFrame, published: dict) -> pd.DataFrame:
    """Ours beside the hybrid paper's Table 1, one row per grid, γ and estimator.

    ``table`` is a ``table1.csv`` (``grid``, ``gamma``, ``estimator``,
    ``rel_error_mean``, ``blowups``, ``rollouts``, ``step``); ``published`` is the
    paper's Table 1 (``gammas`` and, per grid ``n<N>``, the OLS and TR rows).  The
    paper's value stands beside ours where it has one for that grid, γ and
    estimator (its errors are at step 1000; ours at the step the table names).
    """
    gammas = np.asarray(published.get("gammas", []), dtype=float)
    rows = []
    for _, r in table.iterrows():
        row = published.get(f"n{int(r['grid'])}", {}).get(r["estimator"])
        hit = np.flatnonzero(np.isclose(gammas, float(r["gamma"])))
        paper = f"{row[hit[0]]:g}" if row is not None and hit.size else ""
        ours = (f"{r['rel_error_mean']:.3g}" if np.isfinite(r["rel_error_mean"])
                else "blow-up")
        rows.append({"grid": int(r["grid"]), "gamma": float(r["gamma"]),
                     "estimator": r["estimator"], "ours": ours,
                     "blow-ups": f"{int(r['blowups'])}/{int(r['rollouts'])}",
                     "our step": r["step"], "paper (step 1000)": paper})
    return pd.DataFrame(rows)


def reduction_comparison(table: pd.DataFrame, published: dict) -> pd.DataFrame:
    """Ours beside the mLaSDI paper's section 4.3 (Fig. 9): how many times smaller
    mLaSDI's max / mean / min error is than GPLaSDI's at equal iterations.

    ``table`` is a ``fig9_reduction.csv``, whose row ``pair = 'median'`` aggregates
    the pairs two ways (``ratio_test_<stat>``: the median of the ratios;
    ``of_medians_test_<stat>``: the ratio of the medians); ``published`` maps the
    statistic to the paper's factor (2.54 / 3.24 / 5.91).
    """
    agg = table[table["pair"] == "median"]
    rows = []
    for stat, paper in published.items():
        row = {"statistic over the test parameters": stat, "paper": f"{paper:g}"}
        for col, name in ((f"ratio_test_{stat}", "ours: median of the ratios"),
                          (f"of_medians_test_{stat}", "ours: ratio of the medians")):
            value = float(agg[col].iloc[0]) if len(agg) and col in agg else np.nan
            row[name] = f"{value:.3g}" if np.isfinite(value) else ""
        rows.append(row)
    return pd.DataFrame(rows)


def stopping_comparison(table: pd.DataFrame, published: dict) -> pd.DataFrame:
    """Ours beside the hybrid paper's Table 2, one row per grid, Re and estimator.

    ``table`` is a ``table2.csv`` (its ``t_K`` cell already says how many rollouts
    were censored, its ``paper`` column holds the paper's mean ± std); ``published``
    is unused beyond what the table carries (kept for the common signature).
    """
    rows = [{"grid": f"{int(r['nx'])} x {int(r['ny'])}", "Re": float(r["reynolds"]),
             "estimator": r["estimator"], "ours: t_K": r["t_K"],
             "censored": f"{int(r['censored'])}/{int(r['rollouts'])}",
             "criterion": f"{r['criterion']}, K = {float(r['K']):g}",
             "paper (10 experiments)": r["paper"] if isinstance(r["paper"], str) else ""}
            for _, r in table.iterrows()]
    return pd.DataFrame(rows)


#: Comparison of a table kind (a key of the workflow's report tables) with the paper.
COMPARISONS = {"lasdi_errors": lasdi_comparison, "hybrid_table1": hybrid_comparison,
               "hybrid_table2": stopping_comparison, "lasdi_reduction": reduction_comparison}


def _html_table(table: pd.DataFrame) -> str:
    return table.to_html(index=False, border=0, na_rep="", escape=True, justify="left",
                         float_format=lambda x: f"{x:.4g}")


def table_page(table: pd.DataFrame, *, title: str, note: str, kind: str | None = None,
               published: dict | None = None, rows: str = "Every row",
               max_rows: int = 500) -> str:
    """The HTML page of one result table: the comparison of ``kind`` with the
    ``published`` numbers (none where ``kind`` is None), then the rows of ``table``
    under the heading ``rows``, the first ``max_rows`` of them (the CSV has all)."""
    parts = [f"<h1>{html.escape(title)}</h1>", f'<p class="note">{html.escape(note)}</p>']
    if kind is not None:
        if kind not in COMPARISONS:
            raise ConfigError(f"report table kind {kind!r} is unknown; known: "
                              f"{sorted(COMPARISONS)} or None")
        if published:
            parts += ["<h2>Ours beside the paper's</h2>",
                      _html_table(COMPARISONS[kind](table, published))]
        else:
            parts.append('<p class="note">The paper publishes no number for this '
                         "table.</p>")
    shown = "" if len(table) <= max_rows else f"; the first {max_rows} shown, the CSV has all"
    parts += [f"<h2>{html.escape(rows)} ({len(table)}{shown})</h2>",
              _html_table(table.head(max_rows))]
    return "\n".join(parts)


def write_page(body: str, path, *, title: str) -> Path:
    """Write a self-contained HTML page atomically (temp name, then rename)."""
    return io.write_text(f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                         f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
                         f"</head><body>\n{body}\n</body></html>\n", path)
