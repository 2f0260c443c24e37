"""Every table and figure of one mLaSDI problem, from its finished files.

:func:`publish` writes the errors table (CSV + LaTeX) of any problem and the
figures of the paper for it: toy Figs. 2, 3, 4 and A.10 (with its table), wake
Figs. 6 and 7, Vlasov Figs. 8, 9 and B.11 with the sweep summary and the
median reduction factors of section 4.3.
"""

from __future__ import annotations

import importlib

import numpy as np

from romflow import io
from romflow.lasdi import figures, report
from romflow.tables import write_csv

__all__ = ["publish"]


def _seconds(losses: dict) -> dict:
    """Training seconds of each stage's run up to its count, per model."""
    return {m: [float(ds.attrs.get("total_seconds", np.nan)) for ds in stage_losses]
            for m, stage_losses in losses.items()}


def _in_plain_models(specs):
    return [m for m, s in specs.items() if not s.sweep]


def publish(problem: str, fom, errors: dict, predictions: dict, losses: dict, latents: dict,
            specs: dict, out: dict, *, scale: str, reduced: str, options: dict,
            log=print) -> None:
    """Write ``out[name]``: ``csv``, ``tex`` for every problem; toy ``fig2, fig3, fig4,
    figA10, kappa``; wake ``fig6, fig7``; Vlasov ``summary, reduction, fig8, fig9, figB11``.

    ``errors``, ``predictions``, ``latents`` map a model to its dataset, ``losses`` to
    the 'loss' dataset of each of its stages, ``specs`` to its ModelSpec;
    ``options``: ``figure8`` (Vlasov), ``kappa_sweep`` (toy).
    """
    n_in = int(np.prod(fom["u"].shape[2:]))
    table = report.errors_table(errors, specs, _seconds(losses), n_in=n_in, scale=scale,
                                reduced=reduced)
    write_csv(table, out["csv"])
    report.errors_latex(table, problem, io.parameter_names(fom), out["tex"],
                        caption=f"{problem}: relative error, ours vs the mLaSDI paper's "
                        "Table 1 where it has a row")
    log(f"errors table: {len(table)} rows")
    {"toy": _toy, "wake": _wake, "vlasov": _vlasov}[problem](
        fom, table, errors, predictions, losses, latents, specs, out, scale, options)


def _test_param(fom) -> int:
    test = np.flatnonzero(fom[io.SPLIT].values == "test")
    return int(test[0]) if test.size else 0


def _shown(predictions: dict, models) -> dict:
    return {f"{m}, {s} stage{'s' if s > 1 else ''}": (predictions[m], int(s))
            for m in models for s in predictions[m][io.STAGE].values}


def _toy(fom, table, errors, predictions, losses, latents, specs, out, scale, options):
    plain = _in_plain_models(specs)
    first = plain[0]
    figures.loss_and_latent({m: losses[m][0] for m in plain}, latents[first],
                            latents[first].sizes[io.PARAM] - 1, model=first, scale=scale,
                            path=out["fig2"])
    module = importlib.import_module(f"romflow.fom.{fom.attrs['problem']}")
    figures.reconstruction(fom, _shown(predictions, plain), _test_param(fom),
                           (3 * fom.sizes[io.TIME]) // 4, scale=scale, path=out["fig3"],
                           smooth=getattr(module, "low_frequency", None))
    figures.errors_over_time({m: errors[m] for m in plain}, scale=scale, path=out["fig4"])
    sweep = options["kappa_sweep"]
    kappa = report.kappa_table(table, specs, base=sweep["base"], sweep=sweep["name"])
    write_csv(kappa, out["kappa"])
    figures.kappa_errors(kappa, scale=scale, path=out["figA10"])


def _wake(fom, table, errors, predictions, losses, latents, specs, out, scale, options):
    plain = _in_plain_models(specs)
    figures.errors_over_time({m: errors[m] for m in plain}, scale=scale, path=out["fig6"],
                             title=f"wake: relative error per viscosity (scale: {scale})")
    times = fom[io.TIME].values - fom[io.TIME].values[0]
    mid = int(np.argmin(np.abs(times - 0.5 * times[-1])))
    shown = {f"{m}, {len(specs[m].stages)} stage{'s' if len(specs[m].stages) > 1 else ''}":
             (predictions[m], len(specs[m].stages)) for m in plain if "deep" not in m}
    figures.wake_snapshot(fom, shown, _test_param(fom), mid, scale=scale, path=out["fig7"])


def _vlasov(fom, table, errors, predictions, losses, latents, specs, out, scale, options):
    summary = report.sweep_summary(table)
    write_csv(summary, out["summary"])
    factors = report.reduction_factors(summary, specs, sweep="table2")
    write_csv(factors, out["reduction"])
    model = options["figure8"]
    panels = {f"{model}: stage 1, eq. (25)": (errors[model], 1, "max_rel_error")}
    last = len(specs[model].stages)
    if last > 1:
        panels[f"stage {last}, eq. (25)"] = (errors[model], last, "max_rel_error")
    panels[f"stage {last}: GP spread, max_t ||sigma|| / ||u||"] = (errors[model], last,
                                                                   "max_rel_spread")
    figures.error_plane(fom, panels, scale=scale, path=out["fig8"])
    final = summary.stages == summary.groupby("model").stages.transform("max")
    t2 = summary.sweep == "table2"
    figures.sweep_errors(summary[t2 & final], scale=scale, path=out["fig9"],
                         title="Vlasov: mLaSDI vs GPLaSDI (1.5x wider) over the Table 2 sweep",
                         groups={"GPLaSDI": (summary[t2 & final].kind == "gplasdi"),
                                 "mLaSDI": (summary[t2 & final].kind == "mlasdi")})
    b = summary.sweep == "appendix_b"
    figures.sweep_errors(summary[b], scale=scale, path=out["figB11"],
                         title="Vlasov: one stage, linear vs pure quadratic SINDy library",
                         groups={"linear": (summary[b].kind == "linear"),
                                 "quadratic": (summary[b].kind == "quadratic")})
