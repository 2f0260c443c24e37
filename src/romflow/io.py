"""The NetCDF contract: names, provenance, validation and atomic writes.

Every file the pipeline exchanges is an xarray Dataset that explains itself:
named dimensions, coordinates with units, data variables with ``units`` and
``long_name``, and global attributes saying which problem, equation, solver,
scheme and configuration made it.  This module is the only place that knows
the names; rules and package code import the constants below.

A file written inside :func:`written_by` (every rule script is, through
:func:`romflow.workflow.rule_context`) records the rule that made it: attribute
``romflow_rule`` of a NetCDF file, key ``romflow_rule`` of a model state.  A file
that cannot be read or fails its contract raises a :class:`DataError` that
carries the file and, where the file still says so, that rule.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import xarray as xr

from romflow.errors import DataError

__all__ = [
    "PARAM", "TIME", "LATENT", "STAGE", "SAMPLE", "TERM", "ITERATION",
    "SPLIT", "TRAJECTORY", "STEP", "KINDS", "REQUIRED_ATTRS", "RULE_ATTR",
    "config_digest", "lineage", "upstream_digest", "now", "provenance", "variable",
    "written_by",
    "validate", "write_dataset", "open_dataset", "finite_values",
    "save_model", "load_model", "atomic_path", "write_text", "parameter_names",
    "parameter_values",
]

# Dimension names (ARCHITECTURE.md, data contract).
PARAM = "param"
TIME = "time"
LATENT = "latent"
STAGE = "stage"
SAMPLE = "sample"
TERM = "term"
ITERATION = "iteration"
SPLIT = "split"
TRAJECTORY = "trajectory"
STEP = "step"

#: For each file kind, the data variables it must hold and their leading dims.
KINDS: dict[str, dict[str, tuple[str, ...]]] = {
    "fom": {"u": (PARAM, TIME)},
    "latent": {"z": (PARAM, TIME, LATENT), "z_sindy": (PARAM, TIME, LATENT),
               "xi": (PARAM, TERM, LATENT)},
    "loss": {"loss": (ITERATION,)},
    "residual": {"eps": (), "train_rel_error": (PARAM,)},
    "coefficients": {"xi_mean": (PARAM, TERM, LATENT), "xi_std": (PARAM, TERM, LATENT),
                     "xi_samples": (SAMPLE, PARAM, TERM, LATENT)},
    "prediction": {"z_pred": (PARAM, TIME, LATENT), "blowup_step": (PARAM,)},
    "errors": {"rel_error": (STAGE, PARAM, TIME), "max_rel_error": (STAGE, PARAM),
               "min_rel_error_over_time": (STAGE, PARAM)},
    "pairs": {"u": (TRAJECTORY, STEP), "unresolved": (TRAJECTORY, STEP)},
    "linear_sweep": {"trajectory_error": ("estimator", "lam", "draw", STEP)},
    "normals": {"normal": (TRAJECTORY, STEP), "distance": (TRAJECTORY, STEP)},
    "rollout": {"rel_error": (TRAJECTORY, STEP), "shift": (TRAJECTORY, STEP),
                "blowup_step": (TRAJECTORY,)},
}

#: Global attributes every file carries.
REQUIRED_ATTRS = ("romflow_version", "kind", "problem", "equation", "solver", "scheme",
                  "created", "config_digest")

#: A data variable with this attribute may hold non-finite values; the
#: attribute says what they mean (e.g. "after blowup_step").
NONFINITE_ATTR = "nonfinite_means"

#: Attribute (NetCDF) and key (model state) naming the workflow rule that wrote a file.
RULE_ATTR = "romflow_rule"

_WRITER: contextvars.ContextVar[str | None] = contextvars.ContextVar(RULE_ATTR, default=None)


@contextlib.contextmanager
def written_by(rule: str):
    """Within the block, every file written here records ``rule`` as its maker."""
    token = _WRITER.set(rule)
    try:
        yield
    finally:
        _WRITER.reset(token)


def config_digest(section) -> str:
    """Short SHA-256 of a JSON-serialisable config section (sorted keys)."""
    text = json.dumps(section, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def lineage(obj) -> tuple[str, str]:
    """``(config_digest, created)`` of a romflow dataset or model state."""
    if isinstance(obj, xr.Dataset):
        return str(obj.attrs.get("config_digest", "")), str(obj.attrs.get("created", ""))
    if isinstance(obj, dict):
        return str(obj.get("digest", "")), str(obj.get("created", ""))
    raise TypeError(f"lineage: expected a dataset or a model state, got {type(obj).__name__}")


def upstream_digest(settings, *inputs) -> str:
    """A ``config_digest`` that covers everything upstream: the digest of ``settings``
    and of each input's own ``config_digest`` (which covers its inputs in turn).

    Creation stamps are left out, so the same config gives the same digest in
    every run and directory."""
    return config_digest({"settings": settings, "upstream": [lineage(x)[0] for x in inputs]})


def now() -> str:
    """The ``created`` stamp: UTC, to the second."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def provenance(kind: str, problem: str, *, equation: str, solver: str, scheme: str,
               config=None, inputs=(), **extra) -> dict:
    """Global attributes for a file of ``kind`` (see ``REQUIRED_ATTRS``).

    ``config_digest`` covers ``config`` and, through their own digests, the
    ``inputs`` (datasets or model states) the file was computed from
    (:func:`upstream_digest`)."""
    from romflow import __version__

    if kind not in KINDS:
        raise DataError(f"unknown file kind {kind!r}; allowed: {sorted(KINDS)}")
    attrs = {
        "romflow_version": __version__,
        "kind": kind,
        "problem": problem,
        "equation": equation,
        "solver": solver,
        "scheme": scheme,
        "created": now(),
        "config_digest": (upstream_digest(config if config is not None else {}, *inputs)
                          if inputs else config_digest(config if config is not None else {})),
    }
    for key, value in extra.items():
        attrs[key] = value if isinstance(value, (str, int, float)) else json.dumps(value)
    return attrs


def variable(dims, data, *, units: str, long_name: str, **attrs) -> xr.Variable:
    """A data variable with the two attributes the contract requires."""
    return xr.Variable(dims, data, attrs={"units": units, "long_name": long_name, **attrs})


def _where(path) -> str:
    return f"{path}" if path is not None else "<in-memory dataset>"


def validate(ds: xr.Dataset, kind: str, path=None, *, values: bool = True) -> xr.Dataset:
    """Check ``ds`` against the contract for ``kind``; raise ``DataError`` naming the file.

    Checks: provenance attributes present and ``kind`` matching, every required
    variable present with its leading dimensions, ``units``/``long_name`` on every
    data variable, and no non-finite value outside variables that declare what
    such values mean (the last only with ``values``).
    """
    where = _where(path)

    def fail(message):
        raise DataError(f"{where}: {message}", path=path, rule=ds.attrs.get(RULE_ATTR))

    if kind not in KINDS:
        fail(f"unknown file kind {kind!r}; allowed: {sorted(KINDS)}")
    missing = [a for a in REQUIRED_ATTRS if a not in ds.attrs]
    if missing:
        fail(f"not a romflow file: global attributes {missing} are missing (a romflow "
             f"'{kind}' file carries {list(REQUIRED_ATTRS)})")
    if ds.attrs["kind"] != kind:
        fail(f"holds a '{ds.attrs['kind']}' file where a '{kind}' file is expected")
    for name, dims in KINDS[kind].items():
        if name not in ds.variables:
            fail(f"variable {name!r} is missing; a '{kind}' file needs {sorted(KINDS[kind])}")
        have = ds[name].dims[: len(dims)]
        if have != dims:
            fail(f"variable {name!r} has dims {ds[name].dims}; expected leading dims {dims}")
    for name, var in ds.data_vars.items():
        for attr in ("units", "long_name"):
            if attr not in var.attrs:
                fail(f"variable {name!r} has no {attr!r} attribute")
        if values:
            found = _nonfinite(var)
            if found:
                fail(f"variable {name!r} holds {found[0]} non-finite values (first "
                     f"at index {found[1]} of dims {var.dims})")
    return ds


def _nonfinite(var, values=None):
    """``(count, first index)`` of ``var``'s non-finite values (``values``: its values,
    already read), or None: none, not floating point, or declared (``NONFINITE_ATTR``)."""
    if NONFINITE_ATTR in var.attrs or not np.issubdtype(var.dtype, np.floating):
        return None
    bad = ~np.isfinite(var.values if values is None else values)
    if not bad.any():
        return None
    return int(bad.sum()), tuple(int(i) for i in np.argwhere(bad)[0])


def atomic_path(path) -> Path:
    """The temporary name a file is written to before it is renamed to ``path``:
    ``<name>.<pid>.tmp``, so two processes writing one file never share it."""
    path = Path(path)
    return path.with_name(f"{path.name}.{os.getpid()}.tmp")


def write_text(text: str, path) -> Path:
    """Write ``text`` to ``path`` atomically (temporary name, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_path(path)
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def _encoding(ds: xr.Dataset) -> dict:
    enc = {}
    for name, var in ds.data_vars.items():
        e = {"zlib": True, "complevel": 4}
        if var.ndim and PARAM in var.dims:
            e["chunksizes"] = tuple(1 if d == PARAM else n for d, n in zip(var.dims, var.shape))
        elif var.ndim > 2 and var.dims[:2] == (TRAJECTORY, STEP):
            # one chunk per state: a rule that reads a few trajectories or every n-th
            # step (closures, rollouts) decompresses only those, not the whole file
            e["chunksizes"] = (1, 1) + tuple(var.shape[2:])
        enc[name] = e
    return enc


def write_dataset(ds: xr.Dataset, path, kind: str) -> Path:
    """Validate ``ds`` and write it to ``path`` atomically (temp name, then rename);
    inside :func:`written_by` the file also carries the attribute ``RULE_ATTR``."""
    path = Path(path)
    validate(ds, kind, path)
    if _WRITER.get() is not None:
        ds = ds.assign_attrs({RULE_ATTR: _WRITER.get()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_path(path)
    try:
        ds.to_netcdf(tmp, engine="netcdf4", encoding=_encoding(ds))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def open_dataset(path, kind: str, *, lazy: bool = False) -> xr.Dataset:
    """Read, fully load and validate a file of ``kind``; ``DataError`` names the file.

    ``lazy=True`` leaves the values on disk until they are selected (a closure reads
    one split's training steps of a 400 MB pairs file, a rollout one trajectory) and
    validates the attributes, variables and dimensions only; whoever reads values
    from it checks them (:func:`finite_values`).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found (expected a romflow '{kind}' file)",
                        path=path)
    try:
        if lazy:
            ds = xr.open_dataset(path, engine="netcdf4")
        else:
            with xr.open_dataset(path, engine="netcdf4") as ds:
                ds = ds.load()
    except Exception as exc:  # netCDF4 raises OSError, RuntimeError or ValueError
        raise DataError(f"{path}: cannot be read as NetCDF (truncated, or not a NetCDF "
                        f"file): {exc}", path=path) from exc
    return validate(ds, kind, path, values=not lazy)


def finite_values(var: xr.DataArray) -> np.ndarray:
    """``var``'s values, read now; ``DataError`` (naming the file and variable) if any is
    non-finite: the check :func:`open_dataset` leaves to the reader with ``lazy=True``."""
    values = np.asarray(var.values)
    found = _nonfinite(var, values)
    if found:
        source = var.encoding.get("source", "a dataset")
        raise DataError(f"{source}: variable {var.name!r} holds {found[0]} non-finite "
                        f"values in the part read (first at index {found[1]} of dims "
                        f"{var.dims})")
    return values


def save_model(state: dict, path) -> Path:
    """Write a model state (tensors, numbers, strings, lists, dicts) atomically; inside
    :func:`written_by` the saved state also holds ``RULE_ATTR``."""
    import torch

    path = Path(path)
    if _WRITER.get() is not None:
        state = {**state, RULE_ATTR: _WRITER.get()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_path(path)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_model(path) -> dict:
    """Load a model state with ``weights_only=True``; ``DataError`` names the file."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: model file not found", path=path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise DataError(f"{path}: cannot be read as a romflow model file (truncated, or "
                        f"holds more than tensors and plain data): {exc}", path=path) from exc


def parameter_names(ds: xr.Dataset) -> list[str]:
    """Names of the parameter coordinates on ``param`` (attribute ``parameters``)."""
    names = [n for n in str(ds.attrs.get("parameters", "")).split(",") if n]
    missing = [n for n in names if n not in ds.coords]
    if not names or missing:
        raise DataError(f"{ds.attrs.get('problem', '?')} dataset: attribute 'parameters' "
                        f"= {ds.attrs.get('parameters')!r} does not name coordinates on "
                        f"'{PARAM}' (missing: {missing})")
    return names


def parameter_values(ds: xr.Dataset) -> np.ndarray:
    """Parameter points ``(param, d)`` in the order of :func:`parameter_names`."""
    return np.stack([ds[n].values.astype(float) for n in parameter_names(ds)], axis=1)
