"""Rule fom_pairs: states and unresolved parts of one case of a hybrid problem."""

from romflow import io
from romflow.fom import datasets
from romflow.workflow import rule_context

with rule_context(snakemake) as ctx:
    wc, par = snakemake.wildcards, snakemake.params
    ds = datasets.pairs(par.problem, par.case, par.fom, seed=par.seed, log=ctx.log)
    ctx.log(f"{par.problem}/{wc.case}: {dict(ds.sizes)}")
    io.write_dataset(ds, snakemake.output.pairs, "pairs")
