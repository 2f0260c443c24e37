"""Rule rd_lambda_sweep: TR's error over its penalty λ, beside OLS, mOLS, aOLS."""

from romflow import io
from romflow.hybrid import report
from romflow.workflow import rule_context

with rule_context(snakemake) as ctx:
    out, par = snakemake.output, snakemake.params
    rollouts = [io.open_dataset(f, "rollout") for f in snakemake.input.rollouts]
    table = report.rd_lambda_sweep(rollouts, scale=par.scale, table_path=out.table,
                                   figure_path=out.figure)
    ctx.log(f"{len(rollouts)} rollouts -> {len(table)} rows; TR at lam = "
            f"{sorted(table['lam'].dropna().unique())}")
