"""Rule train_stage1: one segment of a stage-1 run (GPLaSDI autoencoder + latent SINDy)."""

from romflow import io
from romflow.lasdi import fit_stage1
from romflow.model_specs import ModelSpec, StageSpec, monitor
from romflow.workflow import checkpoint_path, rule_context

with rule_context(snakemake) as ctx:
    inp, out, seg = snakemake.input, snakemake.output, snakemake.params.segment
    fom = io.open_dataset(inp.fom, "fom")
    s = seg["settings"]
    spec = ModelSpec(name=snakemake.wildcards.chain, hidden=tuple(s["hidden"]),
                     latent=s["latent"], library=s["library"], beta1=s["beta1"],
                     beta2=s["beta2"], coef_penalty=s["coef_penalty"], coef_norm=s["coef_norm"],
                     derivative=s["derivative"], init=s["init"], keep=s["keep"],
                     stages=(StageSpec(iterations=seg["iterations"], lr=s["lr"]),))
    resume = io.load_model(inp.resume[0]) if inp.resume else None
    ckpt = checkpoint_path(out.model)
    model, state, latent, loss = fit_stage1(
        fom, spec, resume=resume, device=ctx.device, seed=s["seed"], checkpoint=ckpt,
        monitor=monitor(snakemake.config["lasdi"]), config=seg, log=ctx.log)
    io.write_dataset(latent, out.latent, "latent")
    io.write_dataset(loss, out.loss, "loss")
    io.save_model(state, out.state)
    io.save_model(model, out.model)
