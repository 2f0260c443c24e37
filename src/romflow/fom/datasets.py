"""The FOM dataset of each mLaSDI problem from its config section (``<problem>.fom``).

:func:`solve` is what the workflow's ``fom`` rule runs; from Python it gives the
same 'fom' dataset, e.g. ``datasets.solve("vlasov", cfg["vlasov"]["fom"])``.
"""

from __future__ import annotations

import xarray as xr

from romflow.errors import ConfigError
from romflow.fom import toy, vlasov, wake

__all__ = ["PROBLEMS", "solve"]


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
