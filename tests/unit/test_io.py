"""Tests of romflow.io: the NetCDF contract, validation, atomic writes and model files."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
import torch
import xarray as xr

from romflow import io
from romflow.errors import DataError


def _truncate(path, fraction=0.5):
    size = os.path.getsize(path)
    with open(path, "r+b") as fh:
        fh.truncate(int(size * fraction))


def test_round_trip_is_identical(toy_fom, tmp_path):
    path = io.write_dataset(toy_fom, tmp_path / "fom.nc", "fom")
    assert path == tmp_path / "fom.nc"
    back = io.open_dataset(path, "fom")
    xr.testing.assert_identical(back, toy_fom.load())
    for name in toy_fom.variables:
        assert back[name].dtype == toy_fom[name].dtype, name
    assert back["u"].dtype == np.float32
    assert back.attrs == toy_fom.attrs


def test_write_creates_parent_directories(toy_fom, tmp_path):
    path = io.write_dataset(toy_fom, tmp_path / "a" / "b" / "fom.nc", "fom")
    assert path.is_file()


def test_atomic_write_leaves_no_temporary_file(toy_fom, tmp_path):
    target = tmp_path / "fom.nc"
    io.write_dataset(toy_fom, target, "fom")
    io.write_dataset(toy_fom, target, "fom")  # overwriting works too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fom.nc"]
    assert io.atomic_path(target) == tmp_path / f"fom.nc.{os.getpid()}.tmp"


def test_failed_validation_creates_nothing(toy_fom, tmp_path):
    target = tmp_path / "sub" / "fom.nc"
    with pytest.raises(DataError, match="holds a 'fom' file where a 'latent' file"):
        io.write_dataset(toy_fom, target, "latent")
    assert not target.exists() and not io.atomic_path(target).exists()


def test_failed_write_removes_temporary_and_keeps_old_file(toy_fom, tmp_path):
    target = tmp_path / "fom.nc"
    io.write_dataset(toy_fom, target, "fom")
    before = target.read_bytes()
    bad = toy_fom.copy()
    bad.attrs["unstorable"] = {"a": 1}  # NetCDF cannot store a dict attribute
    with pytest.raises(TypeError, match="unstorable"):
        io.write_dataset(bad, target, "fom")
    assert not io.atomic_path(target).exists()
    assert target.read_bytes() == before


def test_write_interrupted_midway_removes_partial_file(toy_fom, tmp_path, monkeypatch):
    target = tmp_path / "fom.nc"

    def partial_write(self, path, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"\x89HDF\r\n partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", partial_write)
    with pytest.raises(OSError, match="No space left"):
        io.write_dataset(toy_fom, target, "fom")
    assert list(tmp_path.iterdir()) == []


def test_save_model_interrupted_midway_removes_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "m.pt"

    def partial_save(obj, path):
        with open(path, "wb") as fh:
            fh.write(b"PK partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", partial_save)
    with pytest.raises(OSError, match="No space left"):
        io.save_model({"w": torch.zeros(2)}, target)
    assert list(tmp_path.iterdir()) == []


def test_validate_accepts_toy_fom(toy_fom):
    assert io.validate(toy_fom, "fom") is toy_fom


def test_validate_missing_global_attribute(toy_fom):
    ds = toy_fom.copy()
    ds.attrs = {k: v for k, v in ds.attrs.items() if k != "solver"}
    with pytest.raises(DataError, match=r"not a romflow file.*\['solver'\]"):
        io.validate(ds, "fom")


def test_validate_wrong_kind(toy_fom):
    with pytest.raises(DataError, match="holds a 'fom' file where a 'errors' file is expected"):
        io.validate(toy_fom, "errors")


def test_validate_unknown_kind(toy_fom):
    with pytest.raises(DataError, match="unknown file kind 'weights'"):
        io.validate(toy_fom, "weights")
    with pytest.raises(DataError, match="unknown file kind 'weights'"):
        io.provenance("weights", "toy", equation="", solver="", scheme="")


def test_validate_missing_variable(toy_fom):
    ds = toy_fom.rename({"u": "v"})
    with pytest.raises(DataError, match="variable 'u' is missing"):
        io.validate(ds, "fom", path="somewhere.nc")


def test_validate_wrong_dims(toy_fom):
    ds = toy_fom.copy()
    ds["u"] = ds["u"].transpose("time", "param", "x")
    with pytest.raises(DataError, match=r"variable 'u' has dims \('time', 'param', 'x'\); "
                                         r"expected leading dims \('param', 'time'\)"):
        io.validate(ds, "fom")


@pytest.mark.parametrize("attr", ["units", "long_name"])
def test_validate_missing_units_or_long_name(toy_fom, attr):
    ds = toy_fom.copy(deep=True)
    del ds["u"].attrs[attr]
    with pytest.raises(DataError, match=f"variable 'u' has no '{attr}' attribute"):
        io.validate(ds, "fom")


def test_validate_nonfinite(toy_fom):
    ds = toy_fom.copy(deep=True)
    ds["u"].values[1, 2, 3] = np.nan
    with pytest.raises(DataError, match=r"'u' holds 1 non-finite values \(first at index "
                                        r"\(1, 2, 3\)"):
        io.validate(ds, "fom")
    ds["u"].attrs[io.NONFINITE_ATTR] = "NaN after a blow-up"
    io.validate(ds, "fom")


def test_validate_names_the_path(toy_fom):
    ds = toy_fom.copy()
    ds.attrs = {}
    with pytest.raises(DataError, match=re.escape("/data/x.nc: not a romflow file")):
        io.validate(ds, "fom", path="/data/x.nc")
    with pytest.raises(DataError, match="<in-memory dataset>: not a romflow file"):
        io.validate(ds, "fom")


def test_open_missing_file(tmp_path):
    path = tmp_path / "nope.nc"
    with pytest.raises(DataError, match=re.escape(f"{path}: file not found")):
        io.open_dataset(path, "fom")


def test_open_truncated_file(toy_fom, tmp_path):
    path = io.write_dataset(toy_fom, tmp_path / "fom.nc", "fom")
    _truncate(path)
    with pytest.raises(DataError, match=re.escape(f"{path}: cannot be read as NetCDF")):
        io.open_dataset(path, "fom")


def test_open_plain_text_file(tmp_path):
    path = tmp_path / "notes.nc"
    path.write_text("this is not a NetCDF file\n")
    with pytest.raises(DataError, match=re.escape(f"{path}: cannot be read as NetCDF")):
        io.open_dataset(path, "fom")


def test_open_foreign_netcdf(tmp_path):
    path = tmp_path / "foreign.nc"
    xr.Dataset({"u": (("param", "time"), np.zeros((2, 3)))}).to_netcdf(path, engine="netcdf4")
    with pytest.raises(DataError, match=re.escape(f"{path}: not a romflow file")):
        io.open_dataset(path, "fom")


def test_open_wrong_kind_names_the_file(toy_fom, tmp_path):
    path = io.write_dataset(toy_fom, tmp_path / "fom.nc", "fom")
    with pytest.raises(DataError, match=re.escape(f"{path}: holds a 'fom' file where a "
                                                  f"'latent' file is expected")):
        io.open_dataset(path, "latent")


def test_nonfinite_survives_round_trip_when_declared(toy_fom, tmp_path):
    ds = toy_fom.copy(deep=True)
    ds["u"].values[0, -1, :] = np.nan
    ds["u"].attrs[io.NONFINITE_ATTR] = "NaN after blowup_step"
    back = io.open_dataset(io.write_dataset(ds, tmp_path / "f.nc", "fom"), "fom")
    xr.testing.assert_identical(back, ds)


def test_provenance_and_digest():
    attrs = io.provenance("fom", "toy", equation="e", solver="s", scheme="c",
                          config={"b": 1, "a": [1, 2]}, parameters="A", extra={"k": [1]})
    assert set(io.REQUIRED_ATTRS) <= set(attrs)
    assert attrs["kind"] == "fom" and attrs["problem"] == "toy"
    assert attrs["extra"] == '{"k": [1]}'
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", attrs["created"])
    # key order does not change the digest; values do
    assert io.config_digest({"a": 1, "b": 2}) == io.config_digest({"b": 2, "a": 1})
    assert io.config_digest({"a": 1}) != io.config_digest({"a": 2})
    assert attrs["config_digest"] == io.config_digest({"a": [1, 2], "b": 1})
    assert re.fullmatch(r"[0-9a-f]{16}", attrs["config_digest"])


def test_variable_carries_units_and_long_name():
    v = io.variable(("param",), [1.0], units="m", long_name="length", extra="x")
    assert v.attrs == {"units": "m", "long_name": "length", "extra": "x"}


def test_parameter_names_and_values(toy_fom):
    assert io.parameter_names(toy_fom) == ["A"]
    np.testing.assert_array_equal(io.parameter_values(toy_fom), [[1.0], [1.4], [1.2]])
    ds = toy_fom.copy()
    ds.attrs = {**ds.attrs, "parameters": "A,nu"}
    with pytest.raises(DataError, match=r"does not name coordinates.*missing: \['nu'\]"):
        io.parameter_names(ds)


def test_model_round_trip(tmp_path):
    state = {"arch": "autoencoder", "kwargs": {"n_in": 3, "hidden": [4], "latent": 2},
             "state_dict": {"w": torch.arange(6.0).reshape(2, 3)}, "scale": 0.5,
             "stage": 1, "library": "linear"}
    path = io.save_model(state, tmp_path / "models" / "m.pt")
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.pt"]
    back = io.load_model(path)
    assert back.keys() == state.keys()
    assert torch.equal(back["state_dict"]["w"], state["state_dict"]["w"])
    assert {k: v for k, v in back.items() if k != "state_dict"} == \
        {k: v for k, v in state.items() if k != "state_dict"}


def test_load_model_truncated(tmp_path):
    path = io.save_model({"w": torch.randn(100, 100)}, tmp_path / "m.pt")
    _truncate(path)
    with pytest.raises(DataError, match=re.escape(f"{path}: cannot be read as a romflow "
                                                  "model file")):
        io.load_model(path)


def test_load_model_missing(tmp_path):
    path = tmp_path / "m.pt"
    with pytest.raises(DataError, match=re.escape(f"{path}: model file not found")):
        io.load_model(path)


def test_load_model_refuses_pickled_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"obj": _Custom()}, path)
    with pytest.raises(DataError, match=re.escape(f"{path}: cannot be read")):
        io.load_model(path)


class _Custom:
    pass


def test_written_by_records_the_rule(toy_fom, tmp_path):
    """Inside written_by every file names the rule that made it; outside, none."""
    with io.written_by("fom"):
        nc = io.write_dataset(toy_fom, tmp_path / "fom.nc", "fom")
        pt = io.save_model({"w": torch.zeros(2)}, tmp_path / "m.pt")
    plain = io.write_dataset(toy_fom, tmp_path / "plain.nc", "fom")
    assert io.open_dataset(nc, "fom").attrs[io.RULE_ATTR] == "fom"
    assert io.load_model(pt)[io.RULE_ATTR] == "fom"
    assert io.RULE_ATTR not in io.open_dataset(plain, "fom").attrs
    assert io.RULE_ATTR not in toy_fom.attrs                      # the caller's dataset


def test_data_error_carries_the_file_and_its_rule(toy_fom, tmp_path):
    with io.written_by("fom"):
        nc = io.write_dataset(toy_fom, tmp_path / "fom.nc", "fom")
    with pytest.raises(DataError) as info:                        # readable: its rule known
        io.open_dataset(nc, "latent")
    assert info.value.path == str(nc) and info.value.rule == "fom"
    _truncate(nc)
    with pytest.raises(DataError) as info:                        # unreadable: file only
        io.open_dataset(nc, "fom")
    assert info.value.path == str(nc) and info.value.rule is None


def _pairs(n_traj=3, n_step=6):
    rng = np.random.default_rng(0)
    shape = (n_traj, n_step, 2, 4, 4)
    y = rng.normal(size=shape).astype(np.float32)
    y[:, -1] = np.nan  # the last step has no next state
    return xr.Dataset(
        {"u": io.variable((io.TRAJECTORY, io.STEP, "component", "y", "x"),
                          rng.normal(size=shape).astype(np.float32), units="1", long_name="u"),
         "unresolved": io.variable((io.TRAJECTORY, io.STEP, "component", "y", "x"), y,
                                   units="1", long_name="y",
                                   nonfinite_means="NaN at the last step")},
        attrs=io.provenance("pairs", "rd", equation="-", solver="-", scheme="-"))


def test_states_are_stored_one_per_chunk_and_read_lazily(tmp_path):
    """A pairs file holds one compressed chunk per (trajectory, step), so a reader of a
    few steps decompresses only those; ``lazy=True`` reads values only when selected
    and gives what the full read gives."""
    ds = _pairs()
    path = io.write_dataset(ds, tmp_path / "pairs.nc", "pairs")
    with xr.open_dataset(path, engine="netcdf4") as raw:
        assert raw["u"].encoding["chunksizes"] == (1, 1, 2, 4, 4)
    lazy = io.open_dataset(path, "pairs", lazy=True)
    assert not lazy["u"].variable._in_memory
    sub = io.finite_values(lazy["u"].isel({io.TRAJECTORY: [0, 2], io.STEP: [1, 3]}))
    np.testing.assert_array_equal(sub, ds["u"].values[[0, 2]][:, [1, 3]])
    full = io.open_dataset(path, "pairs")
    np.testing.assert_array_equal(full["u"].values, ds["u"].values)


def test_a_lazy_reader_still_refuses_non_finite_values(tmp_path):
    """NaN never travels silently: a lazily opened file skips the whole-file check, and
    the part a rule reads is checked instead (a variable that declares what its
    non-finite values mean is exempt, as in :func:`io.validate`)."""
    ds = _pairs()
    path = tmp_path / "pairs.nc"
    ds["u"].values[1, 4, 0, 2, 3] = np.inf
    ds.to_netcdf(path, engine="netcdf4")  # bypasses write_dataset's validation
    with pytest.raises(DataError, match="non-finite"):
        io.open_dataset(path, "pairs")
    lazy = io.open_dataset(path, "pairs", lazy=True)
    io.finite_values(lazy["u"].isel({io.TRAJECTORY: [0]}))  # the finite part reads
    with pytest.raises(DataError, match=r"pairs.nc: variable 'u' holds 1 non-finite values "
                                        r"in the part read"):
        io.finite_values(lazy["u"].isel({io.TRAJECTORY: [1]}))
    io.finite_values(lazy["unresolved"])  # declared: NaN at the last step
