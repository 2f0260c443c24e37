"""Rule closure: one estimator's U-Net (OLS, mOLS, aOLS, TR or the λ sweep's TR) on one split."""

from romflow import io
from romflow.hybrid.experiment import fit_estimator, parse_estimator
from romflow.workflow import checkpoint_path, rule_context

with rule_context(snakemake) as ctx:
    wc, out, par = snakemake.wildcards, snakemake.output, snakemake.params
    pairs = io.open_dataset(snakemake.input.pairs, "pairs")
    normals = io.open_dataset(snakemake.input.normals, "normals")
    ckpt = checkpoint_path(out.model)
    # tr_lam<λ> of the λ sweep is TR; its λ is already in par.closure
    estimator, _ = parse_estimator(wc.estimator)
    state, loss = fit_estimator(pairs, normals, par.train, estimator, par.closure,
                                problem=wc.problem, seed=par.seed, checkpoint=ckpt,
                                log=ctx.log, device=ctx.device)
    io.write_dataset(loss, out.loss, "loss")
    io.save_model(state, out.model)
    ckpt.unlink(missing_ok=True)
