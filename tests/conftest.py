"""Shared fixtures of the unit and numerics tests.

Torch runs on one thread so the suite is quick and its numbers reproducible on
a 2-core CI machine.  The small toy problem and the stage-1 fit built here are
shared by the GP, rollout, metrics and training tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """One thread for torch and for the BLAS libraries of NumPy/SciPy: with spinning BLAS
    threads on a loaded 2-core machine, small scipy.linalg.expm calls slow down a
    hundredfold.  threadpoolctl limits this process only, not subprocesses."""
    import scipy.linalg  # noqa: F401  (loads SciPy's BLAS so the limit reaches it)
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def small_spec(iterations=(30,), *, hidden=(16,), latent=3, lr=1e-3, kappa=1.0,
               library="linear", name="tiny", coef_penalty="norm", keep="best"):
    """A ModelSpec small enough for a unit test (one StageSpec per entry of iterations)."""
    from romflow.model_specs import ModelSpec, StageSpec

    stages = tuple(StageSpec(iterations=n, lr=lr, kappa=kappa) for n in iterations)
    return ModelSpec(name=name, hidden=tuple(hidden), latent=latent, library=library,
                     beta1=0.1, beta2=1e-3, coef_penalty=coef_penalty, coef_norm="fro",
                     derivative="sbp12", init="xavier_uniform", keep=keep, stages=stages)


def quiet(*_args, **_kwargs):
    """A ``log`` callback that drops messages."""


@pytest.fixture()
def toy_fom():
    """Two training amplitudes and one test amplitude on a coarse grid."""
    from romflow.fom import toy

    return toy.solve([1.0, 1.4], [1.2], nx=64, nt=21)


@pytest.fixture(scope="session")
def stage1_fit():
    """``(fom, spec, state, latent, loss)`` of a 30-iteration stage-1 fit."""
    from romflow.fom import toy
    from romflow.lasdi.train import fit_stage1

    fom = toy.solve([1.0, 1.4], [1.2], nx=64, nt=21)
    spec = small_spec((30, 200), lr=1e-3)
    state, _, latent, loss = fit_stage1(fom, spec, seed=0, log=quiet)
    return fom, spec, state, latent, loss


@pytest.fixture()
def make_spec():
    """Factory of small ModelSpecs: ``make_spec(iterations=(30,), hidden=(16,), ...)``."""
    return small_spec


@pytest.fixture()
def quiet_log():
    return quiet


@pytest.fixture(scope="session")
def stage1_coefficients(stage1_fit):
    """GP 'coefficients' dataset (3 samples) interpolated from :func:`stage1_fit`."""
    from romflow.lasdi.gp import interpolate

    fom, _, _, latent, _ = stage1_fit
    return interpolate(fom, latent, samples=3, seed=0)
