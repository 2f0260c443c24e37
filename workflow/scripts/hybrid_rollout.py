"""Rule hybrid_rollout: resolved step + learned closure from each test trajectory's start."""

from romflow import io
from romflow.hybrid.experiment import load_closure, load_manifold, rollout_config, simulate_split
from romflow.workflow import rule_context

with rule_context(snakemake) as ctx:
    wc, par = snakemake.wildcards, snakemake.params
    pairs = io.open_dataset(snakemake.input.pairs, "pairs")
    closure_state = io.load_model(snakemake.input.closure)
    manifold_state = io.load_model(snakemake.input.manifold)
    closure = load_closure(closure_state, pairs)
    autoencoder = load_manifold(manifold_state, pairs)
    ds = simulate_split(pairs, closure, autoencoder, par.test, problem=wc.problem,
                        estimator=wc.estimator, split=int(wc.split),
                        cap=par.rollout["cap"], snapshot_every=par.rollout["snapshot_every"],
                        config=rollout_config(par.rollout, closure_state, manifold_state),
                        log=ctx.log)
    io.write_dataset(ds, snakemake.output.rollout, "rollout")
