"""Rule report_<problem>: the errors table (CSV + LaTeX) and the mLaSDI paper's figures."""

from romflow import io
from romflow.lasdi.publish import publish
from romflow.model_specs import model_specs
from romflow.workflow import rule_context

with rule_context(snakemake) as ctx:
    p, inp = snakemake.params, snakemake.input
    models = p.models

    def load(files, kind):
        return {m: io.open_dataset(f, kind) for m, f in zip(models, files, strict=True)}

    stages = dict(zip(models, p.stage_counts, strict=True))
    loss_files, losses = list(inp.losses), {}
    for m in models:
        losses[m] = [io.open_dataset(f, "loss") for f in loss_files[:stages[m]]]
        loss_files = loss_files[stages[m]:]
    cfg = snakemake.config
    publish(p.problem, io.open_dataset(inp.fom, "fom"), load(inp.errors, "errors"),
            load(inp.predictions, "prediction"), losses, load(inp.latents, "latent"),
            model_specs(cfg[p.problem], cfg["lasdi"]), dict(snakemake.output.items()),
            scale=p.scale, reduced=p.reduced, options=p.options, log=ctx.log)
