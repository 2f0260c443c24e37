"""Rule fom: solve the full-order model of {problem} and write fom.nc."""

from romflow import io
from romflow.fom import datasets
from romflow.workflow import rule_context

with rule_context(snakemake) as ctx:
    problem = snakemake.params.problem
    ds = datasets.solve(problem, snakemake.params.fom, device=ctx.device, seed=ctx.seed,
                        log=ctx.log)
    ctx.log(f"{problem}: u {dict(ds['u'].sizes)}")
    io.write_dataset(ds, snakemake.output.fom, "fom")
