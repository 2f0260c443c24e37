"""Rule rd_lambda_sweep: TR's error at step 1000 over its penalty λ, beside OLS, mOLS, aOLS."""

from romflow import io, plotting, tables
from romflow.workflow import rule_context

with rule_context(snakemake) as ctx:
    out, par = snakemake.output, snakemake.params
    rollouts = [io.open_dataset(f, "rollout") for f in snakemake.input.rollouts]
    table = tables.hybrid_table(rollouts, par.scale, lams=dict(par.lams))
    tables.write_csv(table, out.table)
    plotting.hybrid_lambda_sweep(table, scale=par.scale, path=out.figure)
    ctx.log(f"{len(rollouts)} rollouts -> {len(table)} rows; TR at lam = "
            f"{sorted(par.lams.values())}")
