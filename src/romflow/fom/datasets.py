"""The FOM datasets from their config sections (``<problem>.fom``).

:func:`solve` (the mLaSDI problems' 'fom' dataset) is what the workflow's
``fom`` rule runs, :func:`pairs` (one case of a hybrid problem: states and
unresolved parts) what ``fom_pairs`` runs; from Python they give the same
datasets, e.g. ``datasets.solve("vlasov", cfg["vlasov"]["fom"])``.
"""

from __future__ import annotations

import xarray as xr

from romflow.errors import ConfigError
from romflow.fom import channel, linear, reaction_diffusion, toy, vlasov, wake

__all__ = ["PROBLEMS", "PAIRS", "solve", "pairs"]


def _toy(p, device, seed, log):
    return toy.solve(p["train"]["A"], p["test"]["A"], nx=p["nx"], nt=p["nt"], x_min=p["x_min"],
                     x_max=p["x_max"], t_end=p["t_end"], config=p)


def _wake(p, device, seed, log):
    return wake.solve(p["train"]["nu"], p["test"]["nu"], nx=p["nx"], ny=p["ny"],
                      spinup=p["spinup"], duration=p["duration"], snapshots=p["snapshots"],
                      points=tuple(p["points"]), seed=seed, device=device, config=p,
                      progress=lambda k, n: k % 500 == 0 and log(f"step {k} of {n}"))


def _vlasov(p, device, seed, log):
    T, k, split = vlasov.parameter_grid(p["T"], p["k"], p["points"], p["train_every"])
    return vlasov.solve(T, k, nx=p["nx"], nv=p["nv"], t_end=p["t_end"], dt=p["dt"],
                        save_every=p["save_every"], weno=p["weno"], device=device, split=split,
                        config=p, progress=lambda n: n % 100 == 0 and log(f"RK4 step {n}"))


PROBLEMS = {"toy": _toy, "wake": _wake, "vlasov": _vlasov}


def solve(problem: str, settings: dict, *, device="cpu", seed: int = 0,
          log=print) -> xr.Dataset:
    """The 'fom' dataset of ``problem`` for its config section ``settings``."""
    if problem not in PROBLEMS:
        raise ConfigError(f"problem {problem!r} has no FOM dataset here; allowed: "
                          f"{sorted(PROBLEMS)}")
    return PROBLEMS[problem](settings, device, seed, log)


def _every(n, log):
    """A progress callback that logs every n-th step."""
    return lambda k, *_: k % n == 0 and log(f"step {k}")


def _rd(c, p, seed, config, log):
    return reaction_diffusion.solve(float(c["gamma"]), int(c["n"]),
                                    trajectories=p["trajectories"], steps=p["steps"],
                                    warmup=p["warmup"], dt=p["dt"], seed=seed,
                                    unresolved=p["unresolved"], config=config,
                                    keep_every=p.get("keep_every", 1),
                                    progress=_every(200, log))


def _linear(c, p, seed, config, log):
    return linear.solve(int(c["draw"]), trajectories=p["trajectories"], steps=p["steps"],
                        noise=p["noise"], config=config)


def _channel(c, p, seed, config, log):
    return channel.solve(float(c["reynolds"]), int(c["nx"]), int(c["ny"]),
                         trajectories=p["trajectories"], steps=p["steps"], warmup=p["warmup"],
                         dt=p["dt"], seed=seed, config=config, progress=_every(200, log))


PAIRS = {"rd": _rd, "linear": _linear, "channel": _channel}


def pairs(problem: str, case: dict, settings: dict, *, seed: int = 0, log=print) -> xr.Dataset:
    """The 'pairs' dataset of one case (``case``: its sweep values: γ and grid, draw,
    Re and grid) of hybrid ``problem`` under its FOM section ``settings``.  Its
    config digest covers ``settings``, ``case`` and the seed, so cases differ."""
    if problem not in PAIRS:
        raise ConfigError(f"problem {problem!r} has no pairs dataset; allowed: {sorted(PAIRS)}")
    config = {"fom": dict(settings), "case": dict(case), "seed": int(seed)}
    return PAIRS[problem](case, settings, int(seed), config, log)
