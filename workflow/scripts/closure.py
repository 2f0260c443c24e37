"""Rule closure: one estimator entry's U-Net (OLS, mOLS, aOLS, TR, the λ sweep's TR) on one split."""

from romflow import io
from romflow.hybrid.estimators import EstimatorSpec
from romflow.hybrid.train import fit_estimator
from romflow.workflow import checkpoint_path, rule_context

with rule_context(snakemake) as ctx:
    wc, out, par = snakemake.wildcards, snakemake.output, snakemake.params
    pairs = io.open_dataset(snakemake.input.pairs, "pairs", lazy=True)
    normals = io.open_dataset(snakemake.input.normals, "normals")
    ckpt = checkpoint_path(out.model)
    spec = EstimatorSpec(name=wc.estimator, **par.closure["estimator"])
    state, loss = fit_estimator(pairs, normals, par.train, spec, par.closure["closure"],
                                problem=wc.problem, resolved=par.closure["resolved_step"],
                                protocol=wc.protocol, seed=par.seed, checkpoint=ckpt,
                                log=ctx.log, device=ctx.device)
    io.write_dataset(loss, out.loss, "loss")
    io.save_model(state, out.model)
    ckpt.unlink(missing_ok=True)
