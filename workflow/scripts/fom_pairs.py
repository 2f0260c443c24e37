"""Rule fom_pairs: states and unresolved parts of one case of a hybrid problem."""

import re

from romflow import io
from romflow.fom import channel, linear, reaction_diffusion
from romflow.workflow import rule_context


def every(n, ctx):
    """A progress callback that logs every n-th step."""
    return lambda k, *_: k % n == 0 and ctx.log(f"step {k}")


def rd(case, p, seed):
    n, gamma = re_match(r"n(\d+)_gamma([0-9.]+)", case)
    return reaction_diffusion.solve(float(gamma), int(n), trajectories=p["trajectories"],
                                    steps=p["steps"], warmup=p["warmup"], dt=p["dt"],
                                    seed=seed, unresolved=p["unresolved"], config=p,
                                    progress=every(200, ctx))


def lin(case, p, seed):
    draw = int(re_match(r"draw(\d+)", case)[0])
    return linear.solve(draw, trajectories=p["trajectories"], steps=p["steps"],
                        noise=p["noise"], config=p)


def chan(case, p, seed):
    nx, ny, reynolds = re_match(r"n(\d+)x(\d+)_re([0-9.]+)", case)
    return channel.solve(float(reynolds), int(nx), int(ny), trajectories=p["trajectories"],
                         steps=p["steps"], warmup=p["warmup"], dt=p["dt"], seed=seed,
                         config=p, progress=every(200, ctx))


def re_match(pattern, case):
    return re.fullmatch(pattern, case).groups()


with rule_context(snakemake) as ctx:
    wc = snakemake.wildcards
    solver = {"rd": rd, "linear": lin, "channel": chan}[wc.problem]
    ds = solver(wc.case, snakemake.params.fom, snakemake.params.seed)
    ctx.log(f"{wc.problem}/{wc.case}: {dict(ds.sizes)}")
    io.write_dataset(ds, snakemake.output.pairs, "pairs")
