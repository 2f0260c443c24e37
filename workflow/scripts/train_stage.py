"""Rule train_stage: the stage-k sine decoder on the residual of stages 1..k-1 (eq. 18)."""

from romflow import io
from romflow.config import model_spec
from romflow.lasdi import fit_stage
from romflow.workflow import checkpoint_path, rule_context

with rule_context(snakemake) as ctx:
    wc, out = snakemake.wildcards, snakemake.output
    fom = io.open_dataset(snakemake.input.fom, "fom")
    latent = io.open_dataset(snakemake.input.latent, "latent")
    previous = [io.load_model(p) for p in snakemake.input.previous]
    spec = model_spec(wc.model, snakemake.config[wc.problem], snakemake.config["lasdi"])
    ckpt = checkpoint_path(out.model)
    state, residual, loss = fit_stage(int(wc.k), fom, latent, previous, spec,
                                      device=ctx.device, seed=ctx.seed, checkpoint=ckpt,
                                      config=snakemake.params.stage, log=ctx.log)
    io.write_dataset(residual, out.residual, "residual")
    io.write_dataset(loss, out.loss, "loss")
    io.save_model(state, out.model)
    ckpt.unlink(missing_ok=True)
