"""Rule channel_report: Table 2 (stopping times t_K, censoring counted, beside the
paper) and Fig. 5 (snapshots; error and distribution shift over the steps)."""

from romflow import io, tables
from romflow.hybrid import report
from romflow.workflow import rule_context

with rule_context(snakemake) as ctx:
    out, par = snakemake.output, snakemake.params
    rollouts = [io.open_dataset(f, "rollout") for f in snakemake.input.rollouts]
    criterion, K = par.report["stopping"], float(par.report["K"])
    table = report.channel_table2(rollouts, scale=par.scale, criterion=criterion, K=K,
                                  published=dict(par.published))
    tables.write_csv(table, out.table)
    bound = (r"$\|\hat u - u\| / \|u\|$" if criterion == "relative"
             else r"$\|\hat u - u\|_2$")
    report.channel_latex(
        table, out.latex,
        caption=(f"Channel, stopping time $t_K$: the first step with {bound} > K = {K:g} "
                 f"({criterion} criterion), mean $\\pm$ std over the test rollouts of every "
                 f"split that stopped, scale {par.scale}; a rollout still within K at the "
                 "horizon is censored: such a cell shows the mean with censored rollouts "
                 "counted at the horizon as a lower bound, and their count.  In parentheses: "
                 "the paper's Table 2 (10 experiments)."))
    report.channel_figure5(rollouts, protocol=par.figure_protocol, scale=par.scale,
                           criterion=criterion, K=K, snapshots_path=out.snapshots,
                           curves_path=out.curves)
    ctx.log(f"{len(rollouts)} rollouts -> {len(table)} table rows; censored "
            f"{int(table['censored'].sum())} of {int(table['rollouts'].sum())} rollouts "
            f"({criterion}, K = {K:g})")
