"""Figures of the mLaSDI paper: labelled axes with units, titles with the scale.

Fig. 2 (:func:`loss_and_latent`), Fig. 3 (:func:`reconstruction`), Fig. 4 and
Fig. 6 (:func:`errors_over_time`), Fig. 7 (:func:`wake_snapshot`), Fig. 8
(:func:`error_plane`), Fig. 9 and Fig. B.11 (:func:`sweep_errors`), Fig. A.10
(:func:`kappa_errors`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from romflow import io
from romflow.plotting import param_label, plt, save

__all__ = ["loss_and_latent", "reconstruction", "errors_over_time", "wake_snapshot",
           "error_plane", "sweep_errors", "kappa_errors"]


def loss_and_latent(losses: dict, latent, param: int, *, model: str, scale: str, path) -> Path:
    """Fig. 2: stage-1 loss curves, and latent vs SINDy trajectories of ``model``.

    ``losses`` maps a model name to its stage-1 'loss' dataset; ``latent`` is
    the 'latent' dataset of ``model``.
    """
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
    for name, ds in losses.items():
        it = ds[io.ITERATION].values
        ax0.semilogy(it, ds["loss"].values, label=f"{name}: total")
        for term, style in (("loss_ae", "--"), ("loss_di", ":")):
            ax0.semilogy(it, ds[term].values, style, label=f"{name}: {term[5:].upper()}")
    ax0.set(xlabel="iteration", ylabel="loss (dimensionless)", title="stage-1 loss")
    ax0.legend(fontsize=7)
    t = latent[io.TIME].values
    for j in range(latent.sizes[io.LATENT]):
        line, = ax1.plot(t, latent["z"].values[param, :, j], lw=1.5)
        ax1.plot(t, latent["z_sindy"].values[param, :, j], "--", color=line.get_color(), lw=1)
    ax1.set(xlabel="time t", ylabel="latent z (dimensionless)",
            title=f"{model}: encoder (solid) vs SINDy (dashed), {param_label(latent, param)}")
    fig.suptitle(f"{latent.attrs['problem']}: training loss and latent dynamics "
                 f"(scale: {scale})")
    return save(fig, path)


def reconstruction(fom, predictions: dict, param: int, time: int, *, scale: str, path,
                   smooth=None) -> Path:
    """Fig. 3: a snapshot of truth and predictions, and their fine-scale part.

    ``predictions`` maps a label to ``(prediction dataset, stage)``.  ``smooth``
    (x, t, params...) -> smooth part; the lower panel shows u minus it.
    """
    x = fom["x"].values
    t = float(fom[io.TIME].values[time])
    u = fom["u"].values[param, time]
    rows = 2 if smooth is not None else 1
    fig, axes = plt.subplots(rows, 1, figsize=(9, 3.5 * rows), squeeze=False)
    lows = smooth(x, t, *[float(fom[n].values[param]) for n in io.parameter_names(fom)]) \
        if smooth is not None else 0
    axes[0, 0].plot(x, u, "k", lw=2, label="truth")
    for label, (ds, stage) in predictions.items():
        pred = ds["u_pred"].sel({io.STAGE: stage}).values[param, time]
        axes[0, 0].plot(x, pred, lw=1, label=label)
        if smooth is not None:
            axes[1, 0].plot(x, pred - lows, lw=1, label=label)
    axes[0, 0].set(xlabel="x", ylabel="u (dimensionless)",
                   title=f"prediction at t = {t:.2f}, {param_label(fom, param)}")
    axes[0, 0].legend(fontsize=8)
    if smooth is not None:
        axes[1, 0].plot(x, u - lows, "k", lw=2, label="truth", zorder=0)
        axes[1, 0].set(xlabel="x", ylabel="u - smooth part",
                       title="high-frequency part: u minus A sin(2x - t) exp(-x^2)")
        axes[1, 0].legend(fontsize=8)
    fig.suptitle(f"{fom.attrs['problem']}: reconstruction (scale: {scale})")
    fig.tight_layout()
    return save(fig, path)


def errors_over_time(errors: dict, *, scale: str, path, title: str = "") -> Path:
    """Fig. 4 (toy) and Fig. 6 (wake): relative error vs time, one panel per parameter.

    ``errors`` maps a model name to its 'errors' dataset; every stage is drawn.
    """
    first = next(iter(errors.values()))
    n = first.sizes[io.PARAM]
    fig, axes = plt.subplots(1, n, figsize=(4.5 * n, 3.8), squeeze=False, sharey=True)
    t0 = float(first[io.TIME].values[0])
    for p in range(n):
        ax = axes[0, p]
        for name, ds in errors.items():
            for s, stage in enumerate(ds[io.STAGE].values):
                err = ds["rel_error"].values[s, p]
                ax.semilogy(ds[io.TIME].values - t0, np.where(np.isfinite(err), err, np.nan),
                            label=f"{name}, {stage} stage{'s' if stage > 1 else ''}")
        ax.set(xlabel="time t" + (f" - {t0:g}" if t0 else ""),
               title=f"{param_label(first, p)} ({first[io.SPLIT].values[p]})")
        ax.grid(True, which="both", alpha=0.3)
    axes[0, 0].set_ylabel("relative error ||u - u~|| / ||u||")
    axes[0, -1].legend(fontsize=7)
    fig.suptitle(title or f"{first.attrs['problem']}: relative error per parameter "
                 f"(scale: {scale})")
    fig.tight_layout()
    return save(fig, path)


def wake_snapshot(fom, predictions: dict, param: int, time: int, *, scale: str, path,
                  cylinder=((0.5, 0.5), 0.05)) -> Path:
    """Fig. 7: velocity magnitude at one time on the physical (x, y) grid: truth, each
    prediction, and each pointwise error |u - u~|, with the cylinder drawn.

    ``predictions`` maps a label to ``(prediction dataset, stage)``.
    """
    x, y = fom["x"].values, fom["y"].values
    nx, ny = np.unique(x).size, np.unique(y).size
    order = np.lexsort((y, x))
    xs, ys = x[order].reshape(nx, ny), y[order].reshape(nx, ny)

    def grid(values):
        return values[order].reshape(nx, ny)

    u = fom["u"].values[param, time]
    preds = {lab: ds["u_pred"].sel({io.STAGE: st}).values[param, time]
             for lab, (ds, st) in predictions.items()}
    cols = 1 + len(preds)
    fig, axes = plt.subplots(2, cols, figsize=(3.2 * cols + 1.5, 9), squeeze=False)
    vmax = float(np.nanmax(u))
    emax = max((float(np.nanmax(np.abs(p - u))) for p in preds.values()), default=1.0)
    panels = [("truth", u, axes[0, 0])] + [(lab, p, axes[0, i + 1])
                                           for i, (lab, p) in enumerate(preds.items())]
    for label, values, ax in panels:
        im = ax.pcolormesh(xs, ys, grid(values), shading="auto", vmin=0, vmax=vmax,
                           cmap="viridis")
        ax.set_title(label, fontsize=9)
    fig.colorbar(im, ax=axes[0, :].tolist(), label="|velocity| (inflow = 1)", shrink=0.8)
    axes[1, 0].axis("off")
    for i, (label, values) in enumerate(preds.items()):
        ax = axes[1, i + 1]
        err = ax.pcolormesh(xs, ys, grid(np.abs(values - u)), shading="auto", vmin=0,
                            vmax=emax, cmap="magma")
        ax.set_title(f"|error|, {label}", fontsize=9)
    if preds:
        fig.colorbar(err, ax=axes[1, 1:].tolist(), label="|u - u~|", shrink=0.8)
    for (row, col), ax in np.ndenumerate(axes):
        if ax.axison:
            ax.add_patch(plt.Circle(cylinder[0], cylinder[1], color="white", ec="k", lw=0.8))
            ax.set(xlabel="x", aspect="equal")
            if col == 0 or (row == 1 and col == 1):
                ax.set_ylabel("y")
    t = float(fom[io.TIME].values[time] - fom[io.TIME].values[0])
    fig.suptitle(f"wake: velocity magnitude at t = {t:g} (after the spin-up), "
                 f"{param_label(fom, param)} (scale: {scale})")
    return save(fig, path)


def error_plane(fom, errors: dict, *, scale: str, path) -> Path:
    """Fig. 8: eq. (25) over the parameter plane after each stage, and the relative GP
    spread (max over time of ||sigma|| / ||u||, sigma the std over GP samples) after
    the last; training points boxed in red.

    ``errors`` maps a panel title to ``(errors dataset, stage, variable)`` with
    variable ``max_rel_error`` or ``max_rel_spread``.
    """
    names = io.parameter_names(fom)
    a, b = (fom[n].values for n in names[:2])
    ua, ub = np.unique(a), np.unique(b)
    ia, ib = np.searchsorted(ua, a), np.searchsorted(ub, b)
    train = fom[io.SPLIT].values == "train"
    fig, axes = plt.subplots(1, len(errors), figsize=(4.6 * len(errors), 4), squeeze=False)
    da, db = (np.diff(ua).min() if ua.size > 1 else 1.0), (np.diff(ub).min() if ub.size > 1
                                                           else 1.0)
    for ax, (title, (ds, stage, var)) in zip(axes[0], errors.items()):
        plane = np.full((ua.size, ub.size), np.nan)
        plane[ia, ib] = 100 * ds[var].sel({io.STAGE: stage}).values
        shown = np.where(np.isfinite(plane), plane, np.nan)
        im = ax.pcolormesh(ua, ub, shown.T, shading="nearest", cmap="viridis")
        fig.colorbar(im, ax=ax, label="per cent")
        for x0, y0 in zip(a[train], b[train]):
            ax.add_patch(plt.Rectangle((x0 - da / 2, y0 - db / 2), da, db, fill=False,
                                       ec="red", lw=1.5))
        if (~np.isfinite(plane)).any():
            bad = ~np.isfinite(plane)
            ax.plot(ua[np.nonzero(bad)[0]], ub[np.nonzero(bad)[1]], "wx", ms=6)
        ax.set(xlabel=names[0], ylabel=names[1], title=title)
    fig.suptitle(f"{fom.attrs['problem']}: error over the parameter plane "
                 f"(training points boxed; scale: {scale})")
    fig.tight_layout()
    return save(fig, path)


def sweep_errors(summary, *, groups: dict, where: str = "test", scale: str, path,
                 title: str) -> Path:
    """Fig. 9 / Fig. B.11: per architecture, the median (marker) and the min-max range
    (bar) over parameters of eq. (25), one series per group, and the training time.

    ``summary`` is :func:`romflow.lasdi.report.sweep_summary`'s table; ``groups``
    maps a legend label to a boolean row mask of it.  Blow-ups (inf) are drawn at
    the top of the axis and counted in the label.
    """
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(max(8, 0.5 * len(summary)), 8),
                                   sharex=True)
    configs = list(dict.fromkeys(f"{r.configuration} @ {r.total_iterations}"
                                 for r in summary.itertuples()))
    xpos = {c: i for i, c in enumerate(configs)}
    width = 0.8 / max(1, len(groups))
    finite_top = np.nanmax(np.where(np.isfinite(summary[f"{where}_max"]),
                                    summary[f"{where}_max"], np.nan)) if len(summary) else 1.0
    top = 100 * float(finite_top) * 3 if np.isfinite(finite_top) else 100.0
    for g, (label, mask) in enumerate(groups.items()):
        part = summary[mask]
        xs = np.array([xpos[f"{r.configuration} @ {r.total_iterations}"]
                       for r in part.itertuples()]) + (g - (len(groups) - 1) / 2) * width
        med = 100 * part[f"{where}_median"].to_numpy()
        lo = 100 * part[f"{where}_min"].to_numpy()
        hi = 100 * part[f"{where}_max"].to_numpy()
        blown = int(part[f"{where}_blowups"].sum()) if f"{where}_blowups" in part else 0
        hi_shown = np.where(np.isfinite(hi), hi, top)
        med_shown = np.where(np.isfinite(med), med, top)
        ax0.errorbar(xs, med_shown, yerr=[med_shown - lo, hi_shown - med_shown], fmt="o",
                     capsize=3, label=label + (f" ({blown} blow-ups)" if blown else ""))
        ax1.bar(xs, part["train_seconds"].to_numpy(), width=width, label=label)
    ax0.set(yscale="log", ylabel=f"eq. (25), per cent ({where} parameters)",
            title="median (marker), min-max over parameters (bar)")
    ax0.grid(True, which="both", alpha=0.3)
    ax0.legend(fontsize=8)
    ax1.set(ylabel="training time (s)",
            xlabel="mLaSDI hidden widths - latent size @ total iterations (GPLaSDI 1.5x wider)")
    ax1.set_xticks(range(len(configs)), configs, rotation=60, ha="right", fontsize=7)
    ax1.legend(fontsize=8)
    fig.suptitle(f"{title} (scale: {scale})")
    fig.tight_layout()
    return save(fig, path)


def kappa_errors(table, *, scale: str, path) -> Path:
    """Fig. A.10: train and test error (eq. 25, mean over parameters) against a fixed
    kappa, with the trainable kappa (init 1) as horizontal lines."""
    fixed = table[~table.train_kappa].sort_values("kappa")
    free = table[table.train_kappa]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for col, style in (("train_error", "o-"), ("test_error", "s-")):
        line, = ax.loglog(fixed["kappa"], 100 * fixed[col], style, label=f"{col[:-6]}, "
                          "fixed kappa")
        for value in free[col]:
            ax.axhline(100 * value, ls="--", color=line.get_color(),
                       label=f"{col[:-6]}, trainable kappa (init 1)")
    ax.set(xlabel="kappa (first layer sin(kappa (W z + b)))",
           ylabel="eq. (25), per cent (mean over parameters)",
           title=f"toy: effect of kappa on stage 2 (scale: {scale})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path)
