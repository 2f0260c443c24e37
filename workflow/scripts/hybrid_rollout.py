"""Rule hybrid_rollout: resolved step + learned closure from each rollout trajectory's start."""

from romflow import io
from romflow.hybrid.rollouts import rollout_config, simulate_split
from romflow.hybrid.train import load_closure, load_manifold
from romflow.workflow import rule_context

with rule_context(snakemake) as ctx:
    wc, par = snakemake.wildcards, snakemake.params
    pairs = io.open_dataset(snakemake.input.pairs, "pairs", lazy=True)
    closure_state = io.load_model(snakemake.input.closure)
    manifold_state = io.load_model(snakemake.input.manifold)
    closure = load_closure(closure_state, pairs)
    autoencoder = load_manifold(manifold_state, pairs)
    cfg = {**par.rollout, "report": dict(par.report), "resolved_step": par.resolved_step}
    attrs = {"protocol": wc.protocol, **closure.spec.settings(),
             "report_metric": par.report["metric"], "report_step": int(par.report["step"])}
    ds = simulate_split(pairs, closure.module, autoencoder, par.test, problem=wc.problem,
                        estimator=wc.estimator, split=int(wc.split),
                        cap=par.rollout["cap"], snapshot_every=par.rollout["snapshot_every"],
                        config=rollout_config(cfg, closure_state, manifold_state),
                        log=ctx.log, resolved=par.resolved_step,
                        nudge=par.rollout.get("nudge", 0.0), attrs=attrs)
    io.write_dataset(ds, snakemake.output.rollout, "rollout")
