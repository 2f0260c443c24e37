"""Rule fom: solve the full-order model of {problem} and write fom.nc."""

from romflow import io
from romflow.fom import toy
from romflow.workflow import rule_context

SOLVERS = {"toy": lambda p, cfg: toy.solve(p["train"]["A"], p["test"]["A"], nx=p["nx"],
                                           nt=p["nt"], x_min=p["x_min"], x_max=p["x_max"],
                                           t_end=p["t_end"], config=cfg)}

with rule_context(snakemake) as ctx:
    problem = snakemake.params.problem
    ds = SOLVERS[problem](snakemake.params.fom, snakemake.params.fom)
    ctx.log(f"{problem}: u {dict(ds['u'].sizes)}")
    io.write_dataset(ds, snakemake.output.fom, "fom")
