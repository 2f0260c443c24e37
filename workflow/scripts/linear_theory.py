"""Rule linear_theory: OLS / mOLS / TR in closed form over a penalty sweep (Fig. 6-7)."""

from romflow import io, plotting, tables
from romflow.hybrid.linear_theory import sweep
from romflow.workflow import rule_context

with rule_context(snakemake) as ctx:
    p, out = snakemake.params.theory, snakemake.output
    pairs = [io.open_dataset(f, "pairs") for f in snakemake.input.pairs]
    result = sweep(pairs, p["lambdas"], u0=p["u0"], config=p)
    io.write_dataset(result, out.sweep, "linear_sweep")
    table = tables.linear_terminal_table(result, snakemake.params.scale)
    tables.write_csv(table, out.table)
    plotting.linear_error_vs_step(result, p["fig6_lambdas"], scale=snakemake.params.scale,
                                  path=out.fig6)
    plotting.linear_terminal_vs_lambda(result, scale=snakemake.params.scale, path=out.fig7)
    ctx.log(f"{len(pairs)} draws, {len(p['lambdas'])} penalties")
