"""Rule fom_pairs: states and unresolved parts of one case of a hybrid problem."""

from romflow import io
from romflow.fom import channel, linear, reaction_diffusion
from romflow.workflow import rule_context


def every(n, ctx):
    """A progress callback that logs every n-th step."""
    return lambda k, *_: k % n == 0 and ctx.log(f"step {k}")


def rd(c, p, seed, ctx):
    return reaction_diffusion.solve(float(c["gamma"]), int(c["n"]),
                                    trajectories=p["trajectories"], steps=p["steps"],
                                    warmup=p["warmup"], dt=p["dt"], seed=seed,
                                    unresolved=p["unresolved"], config=p,
                                    progress=every(200, ctx))


def lin(c, p, seed, ctx):
    return linear.solve(int(c["draw"]), trajectories=p["trajectories"], steps=p["steps"],
                        noise=p["noise"], config=p)


def chan(c, p, seed, ctx):
    return channel.solve(float(c["reynolds"]), int(c["nx"]), int(c["ny"]),
                         trajectories=p["trajectories"], steps=p["steps"], warmup=p["warmup"],
                         dt=p["dt"], seed=seed, config=p, progress=every(200, ctx))


with rule_context(snakemake) as ctx:
    wc, par = snakemake.wildcards, snakemake.params
    solver = {"rd": rd, "linear": lin, "channel": chan}[wc.problem]
    ds = solver(par.case, par.fom, par.seed, ctx)
    ctx.log(f"{wc.problem}/{wc.case}: {dict(ds.sizes)}")
    io.write_dataset(ds, snakemake.output.pairs, "pairs")
