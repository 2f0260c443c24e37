"""Rule fom_pairs: states and unresolved parts of one case of a hybrid problem."""

import re

from romflow import io
from romflow.fom import linear, reaction_diffusion
from romflow.workflow import rule_context


def rd(case, p, seed):
    n, gamma = re.fullmatch(r"n(\d+)_gamma([0-9.]+)", case).groups()
    return reaction_diffusion.solve(float(gamma), int(n), trajectories=p["trajectories"],
                                    steps=p["steps"], warmup=p["warmup"], dt=p["dt"],
                                    seed=seed, unresolved=p["unresolved"], config=p)


def lin(case, p, seed):
    draw = int(re.fullmatch(r"draw(\d+)", case).group(1))
    return linear.solve(draw, trajectories=p["trajectories"], steps=p["steps"],
                        noise=p["noise"], config=p)


with rule_context(snakemake) as ctx:
    wc = snakemake.wildcards
    ds = {"rd": rd, "linear": lin}[wc.problem](wc.case, snakemake.params.fom,
                                                snakemake.params.seed)
    ctx.log(f"{wc.problem}/{wc.case}: {dict(ds.sizes)}")
    io.write_dataset(ds, snakemake.output.pairs, "pairs")
