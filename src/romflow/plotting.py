"""Figures: labelled axes with units, titles that say what and at which scale."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from romflow import io  # noqa: E402

__all__ = ["save", "param_label", "linear_error_vs_step", "linear_terminal_vs_lambda",
           "hybrid_snapshots",
           "hybrid_error_and_shift", "hybrid_lambda_sweep"]

_NAMES = {"ols": "OLS", "mols": "mOLS", "aols": "aOLS", "tr": "TR"}


def save(fig, path) -> Path:
    """Save ``fig`` as PNG atomically and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = io.atomic_path(path)
    fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)
    return path


def param_label(ds, p: int) -> str:
    """``'A = 1.2'``: the parameter values of point ``p`` of a dataset."""
    return ", ".join(f"{n} = {float(ds[n].values[p]):g}" for n in io.parameter_names(ds))


def linear_error_vs_step(sweep, lambdas, *, scale: str, path) -> Path:
    """Hybrid paper Fig. 6: trajectory error vs step (median over draws) for OLS and TR at
    several λ, with the stable and unstable rates of F drawn from the initial error."""
    err = sweep["trajectory_error"]
    steps = sweep["step"].values
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ols = err.sel(estimator="ols").isel(lam=0).median("draw").values
    ax.semilogy(steps, ols, "k", lw=2, label="OLS")
    for lam in lambdas:
        tr = err.sel(estimator="tr").sel(lam=lam, method="nearest").median("draw").values
        ax.semilogy(steps, tr, label=f"TR, λ = {lam:g}")
    e1 = float(ols[1]) if ols[1] > 0 else 1e-6
    for rate, style in ((sweep.attrs["stable_rate"], ":"), (sweep.attrs["unstable_rate"], "--")):
        ax.semilogy(steps[1:], e1 * rate ** (steps[1:] - 1.0), "k" + style, lw=1,
                    label=f"rate {rate:g}^k")
    ax.set(xlabel="step k", ylabel="trajectory error ||û_k - u_k|| (median over draws)",
           title=f"linear toy: error vs step (scale: {scale})")
    ax.legend(fontsize=8)
    return save(fig, path)


def linear_terminal_vs_lambda(sweep, *, scale: str, path) -> Path:
    """Hybrid paper Fig. 7: terminal error vs λ for OLS, mOLS and TR, mean ± std over draws
    (geometric mean and spread, since the errors span decades)."""
    err = sweep["trajectory_error"].isel(step=-1)
    lam = sweep["lam"].values
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in sweep["estimator"].values:
        logs = np.log10(np.clip(err.sel(estimator=name).values, 1e-300, None))  # (lam, draw)
        mean, std = logs.mean(1), logs.std(1)
        ax.plot(lam, 10**mean, "o-", label=name.upper() if name != "mols" else "mOLS")
        ax.fill_between(lam, 10 ** (mean - std), 10 ** (mean + std), alpha=0.2)
    ax.set(xscale="log", yscale="log", xlabel="penalty λ",
           ylabel="terminal error ||û_K - u_K|| (geometric mean ± std)",
           title=f"linear toy: terminal error vs λ (scale: {scale})")
    ax.legend(fontsize=8)
    return save(fig, path)


def hybrid_snapshots(rollouts: dict, *, component: int = 0, scale: str, path) -> Path:
    """Hybrid paper Fig. 4 (top): the state at a few steps, truth and each estimator.

    ``rollouts`` maps an estimator to its 'rollout' dataset (one case and split);
    the first test trajectory is drawn, first field component.
    """
    names = list(rollouts)
    first = rollouts[names[0]]
    snaps = first["snapshot"].values
    cols = np.unique(np.linspace(0, len(snaps) - 1, min(4, len(snaps))).round().astype(int))
    ref = first["reference"].values[0][:, component]
    rows = [("truth", ref)] + [(_NAMES.get(n, n), rollouts[n]["states"].values[0][:, component])
                               for n in names]
    lo, hi = float(np.nanmin(ref)), float(np.nanmax(ref))
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(2.4 * len(cols), 2.3 * len(rows)),
                             squeeze=False)
    for i, (label, fields) in enumerate(rows):
        for j, c in enumerate(cols):
            ax = axes[i, j]
            field = fields[c]
            if np.isfinite(field).all():
                im = ax.imshow(field, origin="lower", cmap="RdBu_r", vmin=lo, vmax=hi)
            else:
                ax.text(0.5, 0.5, "blown up", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"step {int(snaps[c])}", fontsize=9)
            if j == 0:
                ax.set_ylabel(label)
    fig.colorbar(im, ax=axes, shrink=0.6, label="u (dimensionless)")
    a = first.attrs
    fig.suptitle(f"{a['problem']} {case_label(a)}, split {a['split']}: hybrid rollouts "
                 f"(scale: {scale})")
    return save(fig, path)


def case_label(attrs) -> str:
    """'N = 64, γ = 0.05' (rd) or '128 x 32, Re = 100' (channel) from a file's attributes."""
    if "gamma" in attrs:
        return f"N = {attrs['grid']}, γ = {float(attrs['gamma']):.2f}"
    if "reynolds" in attrs:
        return f"{attrs['nx']} x {attrs['ny']}, Re = {float(attrs['reynolds']):g}"
    return str(attrs.get("grid", ""))


def hybrid_error_and_shift(curves: dict, *, scale: str, path, panel: str = "γ = {:.2f}",
                           title: str = "reaction-diffusion",
                           error_label: str = "relative error ||û_k - u_k|| / ||u_k||",
                           threshold: float | None = None) -> Path:
    """Hybrid paper Fig. 4 (bottom) and Fig. 5: error and distribution shift F vs step,
    median over every test rollout with the 10-90 % band, per estimator and panel key.

    ``curves`` maps a panel key (γ; Re for the channel, ``panel`` formats it) to
    ``{estimator: (error (n, steps+1), shift (n, steps+1))}``; blown-up rollouts are
    +inf / NaN after the blow-up and count as above every band.  ``threshold``: a
    dashed line at the stopping threshold K on the error panels.
    """
    gammas = sorted(curves)
    fig, axes = plt.subplots(2, len(gammas), figsize=(3.6 * len(gammas), 6.5), squeeze=False,
                             sharex=True)
    for j, g in enumerate(gammas):
        for est, (err, shift) in curves[g].items():
            steps = np.arange(err.shape[1])
            for i, values in enumerate((err, np.where(np.isfinite(err), shift, np.inf))):
                ax = axes[i, j]
                med = np.quantile(values, 0.5, axis=0)
                line, = ax.plot(steps, med, label=_NAMES.get(est, est))
                lo, hi = np.quantile(values, 0.1, axis=0), np.quantile(values, 0.9, axis=0)
                ax.fill_between(steps, lo, np.where(np.isfinite(hi), hi, np.nan), alpha=0.2,
                                color=line.get_color())
        if threshold is not None:
            axes[0, j].axhline(threshold, color="k", ls="--", lw=0.8, label="K")
        axes[0, j].set(yscale="log", title=panel.format(g))
        axes[1, j].set(yscale="log", xlabel="step k")
    axes[0, 0].set_ylabel(error_label)
    axes[1, 0].set_ylabel("distribution shift F(û_k)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"{title}: error and distribution shift along hybrid rollouts "
                 f"(median, 10-90 % band; scale: {scale})")
    return save(fig, path)


def hybrid_lambda_sweep(table, *, scale: str, path) -> Path:
    """TR's error at the last step vs its penalty λ, one line per γ, OLS's error as a
    dashed line of the same colour; one panel per grid.

    ``table`` is :func:`romflow.tables.hybrid_table` with its ``lam`` column (NaN for
    the estimators without λ).  Mean ± std over the rollouts that did not blow up; a
    λ whose rollouts all blew up is drawn as a cross at the top of the panel.
    """
    grids = sorted(table["grid"].unique())
    fig, axes = plt.subplots(1, len(grids), figsize=(8 * len(grids), 4.5), squeeze=False,
                             layout="constrained")
    for ax, grid in zip(axes[0], grids):
        sub = table[table["grid"] == grid]
        top = np.nanmax(np.where(np.isfinite(sub["rel_error_mean"]), sub["rel_error_mean"],
                                 np.nan))
        for gamma in sorted(sub["gamma"].unique()):
            rows = sub[np.isclose(sub["gamma"], gamma)]
            tr = rows[np.isfinite(rows["lam"])].sort_values("lam")
            ok = np.isfinite(tr["rel_error_mean"].values)
            line = ax.errorbar(tr["lam"].values[ok], tr["rel_error_mean"].values[ok],
                               yerr=tr["rel_error_std"].values[ok], marker="o", capsize=3,
                               label=f"TR, γ = {gamma:.2f}")[0]
            if (~ok).any():
                ax.plot(tr["lam"].values[~ok], np.full((~ok).sum(), 2 * top), "x",
                        color=line.get_color(), markersize=9)
            ols = rows[rows["estimator"] == "ols"]["rel_error_mean"].values
            if ols.size and np.isfinite(ols[0]):
                ax.axhline(ols[0], ls="--", lw=1, color=line.get_color())
        ax.set(xscale="log", yscale="log", xlabel="TR penalty λ",
               ylabel="relative error at the last step (mean ± std)", title=f"N = {grid}")
        ax.legend(fontsize=8, title="dashed: OLS", title_fontsize=8, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(f"reaction-diffusion: TR's error vs λ (× at the top: every rollout blew "
                 f"up; scale: {scale})")
    return save(fig, path)
