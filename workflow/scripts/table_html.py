"""Rule table_html: a result table's page in the report, ours beside the paper's."""

import pandas as pd

from romflow import report_pages
from romflow.workflow import rule_context

with rule_context(snakemake) as ctx:
    p = snakemake.params
    table = pd.read_csv(snakemake.input.csv)
    title = f"{snakemake.wildcards.problem}: {p.title}"
    scale = (", ".join(sorted(set(table["scale"].astype(str)))) if "scale" in table
             else snakemake.config["scale"])
    body = report_pages.table_page(
        table, title=title, kind=p.kind, published=dict(p.published),
        note=f"Scale {scale}; the numbers of {snakemake.input.csv}. The paper's numbers "
             "come from src/romflow/paper_numbers.yaml.")
    report_pages.write_page(body, snakemake.output.html, title=title)
    ctx.log(f"{len(table)} rows, comparison: {p.kind}")
