"""Rule fom: solve the full-order model of {problem} and write fom.nc."""

from romflow import io
from romflow.fom import toy, wake
from romflow.workflow import rule_context

SOLVERS = {
    "toy": lambda p, ctx: toy.solve(p["train"]["A"], p["test"]["A"], nx=p["nx"], nt=p["nt"],
                                    x_min=p["x_min"], x_max=p["x_max"], t_end=p["t_end"],
                                    config=p),
    "wake": lambda p, ctx: wake.solve(p["train"]["nu"], p["test"]["nu"], nx=p["nx"],
                                      ny=p["ny"], spinup=p["spinup"], duration=p["duration"],
                                      snapshots=p["snapshots"], points=tuple(p["points"]),
                                      seed=ctx.seed, device=ctx.device, config=p),
}

with rule_context(snakemake) as ctx:
    problem = snakemake.params.problem
    ds = SOLVERS[problem](snakemake.params.fom, ctx)
    ctx.log(f"{problem}: u {dict(ds['u'].sizes)}")
    io.write_dataset(ds, snakemake.output.fom, "fom")
