"""Rule train_stage1: autoencoder + latent SINDy (GPLaSDI, eq. 14) for one model."""

from romflow import io
from romflow.config import model_spec
from romflow.lasdi import fit_stage1
from romflow.workflow import checkpoint_path, rule_context

with rule_context(snakemake) as ctx:
    wc, out = snakemake.wildcards, snakemake.output
    fom = io.open_dataset(snakemake.input.fom, "fom")
    spec = model_spec(wc.model, snakemake.config[wc.problem], snakemake.config["lasdi"])
    ckpt = checkpoint_path(out.model)
    state, latent, loss = fit_stage1(fom, spec, device=ctx.device, seed=ctx.seed,
                                     checkpoint=ckpt, config=snakemake.params.stage,
                                     log=ctx.log)
    io.write_dataset(latent, out.latent, "latent")
    io.write_dataset(loss, out.loss, "loss")
    io.save_model(state, out.model)
    ckpt.unlink(missing_ok=True)
