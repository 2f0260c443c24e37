"""Tests of romflow.workflow: the rule context a rule script runs in.

A corrupt finished file stops the rule that reads it; Snakemake still counts the
file as complete, so the log must say which rerun remakes it (issue 19, item 5).
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import xarray as xr

from romflow import io
from romflow.errors import DataError
from romflow.workflow import rerun_hint, rule_context


@pytest.fixture(autouse=True)
def _restore_torch():
    """rule_context seeds every generator, sets threads and deterministic kernels for
    the process: give the other tests theirs back."""
    state = (torch.get_rng_state(), torch.get_num_threads(),
             torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(), np.random.get_state())
    yield
    torch.set_rng_state(state[0])
    torch.set_num_threads(state[1])
    torch.use_deterministic_algorithms(state[2], warn_only=state[3])
    np.random.set_state(state[4])


def fake_snakemake(tmp_path, rule, inputs=(), outputs=()):
    """What Snakemake's ``script:`` directive hands a rule script, as far as it is used."""
    return SimpleNamespace(rule=rule, log=[str(tmp_path / f"{rule}.log")], threads=1,
                           config={"seed": 0, "device": "cpu"}, input=list(map(str, inputs)),
                           output=list(map(str, outputs)))


def run_rule(smk, body):
    """Run ``body()`` as a rule script; return the exception and the rule's log."""
    with pytest.raises(Exception) as info:
        with rule_context(smk):
            body()
    return info.value, open(smk.log[0]).read()


def truncated(path):
    os.truncate(path, os.path.getsize(path) // 3)


def _written(toy_fom, path, rule="fom"):
    with rule_context(fake_snakemake(path.parent, rule, outputs=[path])):
        io.write_dataset(toy_fom, path, "fom")
    return path


def test_a_rule_records_itself_in_what_it_writes(toy_fom, tmp_path):
    path = _written(toy_fom, tmp_path / "fom.nc")
    with rule_context(fake_snakemake(tmp_path, "train_stage1", [path])):
        io.save_model({"w": torch.zeros(1)}, tmp_path / "stage1.pt")
    assert io.open_dataset(path, "fom").attrs[io.RULE_ATTR] == "fom"
    assert io.load_model(tmp_path / "stage1.pt")[io.RULE_ATTR] == "train_stage1"


def _rewritten(path, change):
    """A finished file rewritten by hand with ``change`` applied, its attributes kept
    (as a bad copy or an edit would leave it)."""
    with xr.open_dataset(path) as ds:
        bad = change(ds.load())
    path.unlink()
    bad.to_netcdf(path, engine="netcdf4")


def _with_nan(ds):
    ds["u"].values[0, 0, 0] = np.nan
    return ds


class _Code:
    """Pickled as code, not data: ``weights_only`` loading refuses it."""


# Each maker leaves a corrupt file at ``p`` (from the toy FOM ``ds``) and returns how
# the rule reads it.
def truncated_netcdf(ds, p):
    truncated(_written(ds, p))
    return lambda: io.open_dataset(p, "fom")


def empty_file(ds, p):
    p.write_bytes(b"")
    return lambda: io.open_dataset(p, "fom")


def not_netcdf(ds, p):
    p.write_text("not NetCDF\n")
    return lambda: io.open_dataset(p, "fom")


def foreign_netcdf(ds, p):
    xr.Dataset({"u": ("x", [1.0])}).to_netcdf(p)
    return lambda: io.open_dataset(p, "fom")


def another_kind(ds, p):
    _written(ds, p)
    return lambda: io.open_dataset(p, "latent")


def missing_variable(ds, p):
    _rewritten(_written(ds, p), lambda d: d.rename(u="v"))
    return lambda: io.open_dataset(p, "fom")


def non_finite_values(ds, p):
    _rewritten(_written(ds, p), _with_nan)
    return lambda: io.open_dataset(p, "fom")


def truncated_model(ds, p):
    truncated(io.save_model({"w": torch.randn(64, 64)}, p))
    return lambda: io.load_model(p)


def model_holding_code(ds, p):
    torch.save({"x": _Code()}, p)
    return lambda: io.load_model(p)


# maker -> whether the corrupt file still names the rule that made it
CORRUPT = {truncated_netcdf: False, empty_file: False, not_netcdf: False,
           foreign_netcdf: False, another_kind: True, missing_variable: True,
           non_finite_values: True, truncated_model: False, model_holding_code: False}


@pytest.mark.parametrize("make, names_rule", CORRUPT.items(), ids=[f.__name__ for f in CORRUPT])
def test_corrupt_input_names_the_rerun(toy_fom, tmp_path, make, names_rule):
    path = tmp_path / "results" / "input.nc"
    path.parent.mkdir()
    read = make(toy_fom, path)
    exc, log = run_rule(fake_snakemake(tmp_path, "train_stage1", [path]), read)
    assert isinstance(exc, DataError) and str(path) in str(exc)
    last = log.strip().splitlines()[-1]
    assert last.startswith("HOW TO FIX:") and f"--forcerun {path} at the end" in last, log
    assert ("rule 'fom' made it" in last) == names_rule, last
    assert path.exists()                                  # nothing is deleted for the user


def test_no_rerun_is_named_for_what_is_no_declared_input(toy_fom, tmp_path):
    """A corrupt checkpoint, or an error about no file, is not remade by --forcerun."""
    ckpt = tmp_path / "stage1.ckpt"
    ckpt.write_bytes(b"garbage")
    exc, log = run_rule(fake_snakemake(tmp_path, "train_stage1", [tmp_path / "fom.nc"]),
                        lambda: io.load_model(ckpt))
    assert isinstance(exc, DataError) and "HOW TO FIX" not in log, log
    assert rerun_hint(DataError("pairs: no step is finite"), [ckpt]) is None
    assert rerun_hint(ValueError("x"), [ckpt]) is None


def test_the_hint_matches_the_input_however_it_is_spelled(tmp_path, monkeypatch):
    """Snakemake hands relative input paths; io may name the file another way."""
    monkeypatch.chdir(tmp_path)
    hint = rerun_hint(DataError("bad", path=tmp_path / "results/fom.nc", rule="fom"),
                      ["results/fom.nc"])
    assert hint is not None and "rule 'fom' made it" in hint and "--forcerun fom" in hint
