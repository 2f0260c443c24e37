"""Rule manifold: autoencoder on all states of a case; normals ∇F at the training states."""

from romflow import io
from romflow.hybrid.train import fit_manifold
from romflow.workflow import checkpoint_path, rule_context

with rule_context(snakemake) as ctx:
    wc, out = snakemake.wildcards, snakemake.output
    pairs = io.open_dataset(snakemake.input.pairs, "pairs")
    ckpt = checkpoint_path(out.model)
    state, normals, loss = fit_manifold(pairs, snakemake.params.manifold, problem=wc.problem,
                                        seed=ctx.seed, checkpoint=ckpt, log=ctx.log,
                                        device=ctx.device, protocol=wc.protocol)
    io.write_dataset(normals, out.normals, "normals")
    io.write_dataset(loss, out.loss, "loss")
    io.save_model(state, out.model)
    ckpt.unlink(missing_ok=True)
