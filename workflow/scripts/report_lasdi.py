"""Rule report_lasdi: error table (CSV + LaTeX) and the mLaSDI paper's Figs. 2-4."""

import importlib

import numpy as np

from romflow import io, plotting, tables
from romflow.workflow import rule_context

with rule_context(snakemake) as ctx:
    p, out = snakemake.params, snakemake.output
    fom = io.open_dataset(snakemake.input.fom, "fom")

    def load(files, kind):
        return {m: io.open_dataset(f, kind) for m, f in zip(p.models, files, strict=True)}

    errors = load(snakemake.input.errors, "errors")
    predictions = load(snakemake.input.predictions, "prediction")
    losses = load(snakemake.input.losses, "loss")
    latents = load(snakemake.input.latents, "latent")
    table = tables.errors_table(errors, p.scale)
    tables.write_csv(table, out.csv)
    tables.errors_latex(table, p.paper, out.tex, caption=f"{fom.attrs['problem']}: "
                        "max relative error, eq. (25), ours vs the mLaSDI paper's Table 1")
    first = p.models[0]
    train = np.flatnonzero(fom["split"].values == "train")
    test = np.flatnonzero(fom["split"].values == "test")
    plotting.loss_and_latent(losses, latents[first], len(latents[first]["param"]) - 1,
                             scale=p.scale, path=out.fig2)
    smooth = getattr(importlib.import_module(f"romflow.fom.{fom.attrs['problem']}"),
                     "low_frequency", None)
    shown = {f"{m}, {s} stage{'s' if s > 1 else ''}": (ds, s) for m, ds in predictions.items()
             for s in ds["stage"].values}
    param = int(test[0]) if test.size else int(train[0])
    plotting.reconstruction(fom, shown, param, (3 * fom.sizes["time"]) // 4, scale=p.scale,
                            path=out.fig3, smooth=smooth)
    plotting.errors_over_time(errors, scale=p.scale, path=out.fig4)
    ctx.log(f"table: {len(table)} rows")
