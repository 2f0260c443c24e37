"""Rule fom: solve the full-order model of {problem} and write fom.nc."""

from romflow import io
import numpy as np

from romflow.fom import toy, vlasov, wake
from romflow.workflow import rule_context


def two_stream(p, ctx):
    axis = np.arange(p["points"])
    T = np.linspace(*p["T"], p["points"])
    k = np.linspace(*p["k"], p["points"])
    TT, KK = (a.ravel() for a in np.meshgrid(T, k, indexing="ij"))
    on = axis % p["train_every"] == 0
    train = np.outer(on, on).ravel()                     # x-major, like TT and KK
    return vlasov.solve(TT, KK, nx=p["nx"], nv=p["nv"], t_end=p["t_end"], dt=p["dt"],
                        save_every=p["save_every"], weno=p["weno"], device=ctx.device,
                        split=np.where(train, "train", "test"), config=p,
                        progress=lambda n: n % 100 == 0 and ctx.log(f"RK4 step {n}"))


SOLVERS = {
    "toy": lambda p, ctx: toy.solve(p["train"]["A"], p["test"]["A"], nx=p["nx"], nt=p["nt"],
                                    x_min=p["x_min"], x_max=p["x_max"], t_end=p["t_end"],
                                    config=p),
    "vlasov": two_stream,
    "wake": lambda p, ctx: wake.solve(p["train"]["nu"], p["test"]["nu"], nx=p["nx"],
                                      ny=p["ny"], spinup=p["spinup"], duration=p["duration"],
                                      snapshots=p["snapshots"], points=tuple(p["points"]),
                                      seed=ctx.seed, device=ctx.device, config=p,
                                      progress=lambda k, n: k % 500 == 0
                                      and ctx.log(f"step {k} of {n}")),
}

with rule_context(snakemake) as ctx:
    problem = snakemake.params.problem
    ds = SOLVERS[problem](snakemake.params.fom, ctx)
    ctx.log(f"{problem}: u {dict(ds['u'].sizes)}")
    io.write_dataset(ds, snakemake.output.fom, "fom")
