"""Rule rd_report: Table 1 (CSV + LaTeX beside the paper, a row group per protocol) and Fig. 4."""

from romflow import io
from romflow.hybrid import report
from romflow.workflow import rule_context

with rule_context(snakemake) as ctx:
    out, par = snakemake.output, snakemake.params
    rollouts = [io.open_dataset(f, "rollout") for f in snakemake.input.rollouts]
    table = report.rd_table1(rollouts, scale=par.scale, unresolved=dict(par.unresolved),
                             table_path=out.table, latex_path=out.latex)
    report.rd_figure4(rollouts, protocol=par.figure_protocol, scale=par.scale,
                      snapshots_path=out.snapshots, curves_path=out.curves)
    ctx.log(f"{len(rollouts)} rollouts -> {len(table)} table rows")
