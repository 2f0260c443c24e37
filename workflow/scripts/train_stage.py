"""Rule train_stage: one segment of a stage-k run (sine decoder on the residual, eq. 18)."""

from romflow import io
from romflow.lasdi import fit_stage
from romflow.model_specs import StageSpec, monitor
from romflow.workflow import checkpoint_path, rule_context

with rule_context(snakemake) as ctx:
    inp, out, seg = snakemake.input, snakemake.output, snakemake.params.segment
    s = seg["settings"]
    fom = io.open_dataset(inp.fom, "fom")
    latent = io.open_dataset(inp.latent, "latent")
    previous = [io.load_model(p) for p in inp.previous]
    stage = StageSpec(iterations=seg["iterations"], lr=s["lr"], kappa=s["kappa"],
                      train_kappa=s["train_kappa"], sine_init=s["sine_init"])
    resume = io.load_model(inp.resume[0]) if inp.resume else None
    model, state, residual, loss = fit_stage(
        len(previous) + 1, fom, latent, previous, stage, resume=resume, device=ctx.device,
        seed=s["seed"], checkpoint=checkpoint_path(out.model),
        monitor=monitor(snakemake.config["lasdi"]), config=seg, log=ctx.log)
    io.write_dataset(residual, out.residual, "residual")
    io.write_dataset(loss, out.loss, "loss")
    io.save_model(state, out.state)
    io.save_model(model, out.model)
