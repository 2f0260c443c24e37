"""Rule fom_pairs: states and unresolved parts of one case of a hybrid problem."""

from romflow import io
from romflow.fom import channel, linear, reaction_diffusion
from romflow.workflow import rule_context


def every(n, ctx):
    """A progress callback that logs every n-th step."""
    return lambda k, *_: k % n == 0 and ctx.log(f"step {k}")


def digested(case, fom, seed):
    """What the file's config_digest covers: the problem's FOM section, this case's
    sweep values (γ and grid, draw, Re and grid) and the seed, so cases differ."""
    return {"fom": dict(fom), "case": dict(case), "seed": int(seed)}


def rd(c, p, seed, ctx):
    return reaction_diffusion.solve(float(c["gamma"]), int(c["n"]),
                                    trajectories=p["trajectories"], steps=p["steps"],
                                    warmup=p["warmup"], dt=p["dt"], seed=seed,
                                    unresolved=p["unresolved"], config=digested(c, p, seed),
                                    progress=every(200, ctx))


def lin(c, p, seed, ctx):
    return linear.solve(int(c["draw"]), trajectories=p["trajectories"], steps=p["steps"],
                        noise=p["noise"], config=digested(c, p, seed))


def chan(c, p, seed, ctx):
    return channel.solve(float(c["reynolds"]), int(c["nx"]), int(c["ny"]),
                         trajectories=p["trajectories"], steps=p["steps"], warmup=p["warmup"],
                         dt=p["dt"], seed=seed, config=digested(c, p, seed),
                         progress=every(200, ctx))


with rule_context(snakemake) as ctx:
    wc, par = snakemake.wildcards, snakemake.params
    solver = {"rd": rd, "linear": lin, "channel": chan}[wc.problem]
    ds = solver(par.case, par.fom, par.seed, ctx)
    ctx.log(f"{wc.problem}/{wc.case}: {dict(ds.sizes)}")
    io.write_dataset(ds, snakemake.output.pairs, "pairs")
