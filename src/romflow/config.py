"""Configuration: scale presets, schema validation and typed views.

A configuration is data (YAML), never code.  ``config.yaml`` holds the base
values plus a ``scales`` section of presets (``test``, ``quick``, ``paper``);
:func:`resolve` merges the chosen preset over the base, then the user's own
settings (``--config``, ``--configfile``) over both, and validates the result
against the JSON schema and the cross-key rules of :mod:`romflow.config_checks`,
raising one :class:`~romflow.errors.ConfigError` whose lines name each bad key,
its value and what is allowed.  Numerical code never reads nested dicts: it
receives the typed views below.

The schema is read more strictly than JSON Schema's own types: an ``integer``
is an integer literal (Draft 2020-12 counts ``40.0`` as one, and torch and
numpy then fail inside a job), a ``number`` is finite (NaN and infinity are
no setting), and an array with ``increasing: true`` holds strictly increasing
values (a ``[min, max]`` range is not empty).  These apply to every key the
schema types, present and future.
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
from pathlib import Path

import yaml

from romflow.config_checks import Problem, empty_overrides, problems
from romflow.errors import ConfigError

__all__ = ["SCALES", "deep_merge", "load_yaml", "ordered_like", "resolve", "validate_config",
           "differences"]

SCALES = ("test", "quick", "paper")


def load_yaml(path) -> dict:
    """Read a YAML file as plain data (``yaml.safe_load``: no code is evaluated)."""
    path = Path(path)
    try:
        with open(path) as fh:
            data = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot be read as YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got "
                          f"{type(data).__name__}")
    return data


def deep_merge(base: dict, override: dict) -> dict:
    """Return ``base`` with ``override`` merged in: mappings merge, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _key(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<top level>"


def _is_integer(_checker, value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(_checker, value) -> bool:
    return _is_integer(_checker, value) or (isinstance(value, numbers.Real)
                                            and not isinstance(value, bool)
                                            and math.isfinite(value))


def _increasing(validator, on, instance, schema):
    """Custom keyword ``increasing: true``: each item above the one before."""
    import jsonschema

    if on and validator.is_type(instance, "array") and all(
            validator.is_type(v, "number") for v in instance):
        if any(not a < b for a, b in zip(instance, instance[1:])):
            yield jsonschema.ValidationError(f"{instance!r} is not strictly increasing")


@functools.cache
def _validator_class():
    """Draft 2020-12 with strict integers, finite numbers and ``increasing``."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    types = base.TYPE_CHECKER.redefine_many({"integer": _is_integer, "number": _is_number})
    return jsonschema.validators.extend(base, validators={"increasing": _increasing},
                                        type_checker=types)


def _type_hint(expected, value) -> str:
    """Why ``value`` is not of the schema type ``expected``, where it looks like one."""
    if isinstance(value, float) and not math.isfinite(value):
        return " (finite: nan and inf are not allowed)"
    if expected == "integer" and isinstance(value, float) and value.is_integer():
        return (f" ({value!r} is a float: write an integer without a decimal point or "
                f"exponent)")
    if isinstance(value, str) and expected in ("integer", "number", "boolean"):
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return ""
        if not isinstance(parsed, str):
            return (" (this one is text: quoted, or given as a nested --config value, which "
                    "Snakemake reads as text; set nested keys in a YAML file given with "
                    "--configfile)")
    return ""


def _allowed(error) -> str:
    v, s = error.validator, error.validator_value
    if v == "enum":
        return f"one of {s}"
    if v == "type":
        return f"a value of type {s}" + _type_hint(s, error.instance)
    if v == "increasing":
        return "strictly increasing values ([min, max] with min < max)"
    if v == "uniqueItems":
        return "a list without repeated values"
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">",
              "exclusiveMaximum": "<"}[v]
        return f"a number {op} {s}"
    if v == "minItems":
        return f"a list of at least {s} items"
    if v == "maxItems":
        return f"a list of at most {s} items"
    if v == "pattern":
        return f"a string matching {s!r}"
    if v == "additionalProperties":
        props = sorted(error.schema.get("properties", {}))
        return f"only the keys {props}" if props else "no other keys"
    return error.message


def _problem_line(problem: Problem) -> str:
    why = f" ({problem.why})" if problem.why else ""
    return (f"config key '{_key(problem.path)}' = {problem.value!r} is invalid; allowed: "
            f"{problem.allowed}{why}")


def _refuse(lines) -> None:
    if lines:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines))


def _schema_lines(config: dict, schema: dict) -> list[str]:
    errors = sorted(_validator_class()(schema).iter_errors(config),
                    key=lambda e: list(map(str, e.path)))
    # A value of the wrong type is named once, for its type, not again for its range.
    mistyped = {tuple(e.path) for e in errors if e.validator == "type"}
    lines = []
    for err in errors:
        where = list(err.path)
        if tuple(where) in mistyped and err.validator != "type":
            continue
        if err.validator == "required":
            missing = err.message.split("'")[1]
            lines.append(f"config key '{_key(where + [missing])}' is missing")
        elif err.validator == "additionalProperties":
            known = set(err.schema.get("properties", {}))
            extra = sorted(k for k in err.instance if k not in known)
            for key in extra:
                lines.append(f"config key '{_key(where + [key])}' is not known; allowed "
                             f"here: {_allowed(err)}")
        else:
            desc = err.schema.get("description")
            lines.append(f"config key '{_key(where)}' = {err.instance!r} is invalid; "
                         f"allowed: {_allowed(err)}" + (f" ({desc})" if desc else ""))
    return lines


def validate_config(config: dict, schema: dict, found=()) -> dict:
    """Validate ``config`` against ``schema`` (read strictly, see the module docstring),
    then, if it passes, against the cross-key rules of :mod:`romflow.config_checks`;
    raise one ``ConfigError`` listing every problem (after the lines ``found`` already)."""
    _refuse([*found, *_schema_lines(config, schema)])
    _refuse([_problem_line(p) for p in problems(config)])
    return config


def ordered_like(data, template):
    """``data`` with its mappings' keys in ``template``'s order (keys ``template``
    lacks follow, in their own order); lists and values are left as they are.

    Snakemake tells a rule's params apart by their text, key order included, and
    its merged config puts the keys of a ``--configfile`` first: without this the
    same settings, set by a file or by the preset, would rerun the rules."""
    if not (isinstance(data, dict) and isinstance(template, dict)):
        return data
    keys = [k for k in template if k in data] + [k for k in data if k not in template]
    return {k: ordered_like(data[k], template.get(k)) for k in keys}


def resolve(config: dict, schema: dict, user: dict | None = None,
            template: dict | None = None) -> dict:
    """Merge the preset named by ``config['scale']`` over the base and validate.

    ``user`` holds the settings given on top of the base (the workflow passes
    what Snakemake read from ``--configfile`` and ``--config``); they win over
    the preset, so a ``--configfile`` holding ``rd: {hybrid: {splits: 3}}``
    means 3 splits at every scale, and one that repeats a base value the
    preset changes restores it.  Its ``scales``
    part, if any, is already in ``config['scales']`` and acts through the
    preset.  An empty mapping in the preset or in ``user`` over a non-empty one
    is refused: it would merge into nothing (:func:`romflow.config_checks.
    empty_overrides`).  Returns the effective configuration without the ``scales`` section,
    its keys in ``template``'s order when given (:func:`ordered_like`; the
    workflow passes ``config.yaml``).
    """
    scale = config.get("scale", "quick")
    if scale not in SCALES:
        raise ConfigError(f"config key 'scale' = {scale!r} is invalid; allowed: one of "
                          f"{list(SCALES)}")
    presets = config.get("scales") or {}
    base = {k: v for k, v in config.items() if k != "scales"}
    preset = presets.get(scale) or {}
    effective = deep_merge(base, preset)
    effective = deep_merge(effective, {k: v for k, v in (user or {}).items() if k != "scales"})
    effective["scale"] = scale
    if template is not None:
        effective = ordered_like(effective, template)
    empty = empty_overrides(preset, base, ("scales", scale)) + empty_overrides(user or {}, config)
    validate_config(effective, schema, [_problem_line(p) for p in empty])
    return validate_protocols(effective, schema)


def validate_protocols(config: dict, schema: dict) -> dict:
    """Check every protocol of every section with ``protocol_settings``: each one in
    ``protocols`` is defined, and the section with a protocol's overrides merged over
    its ``fom`` and ``hybrid`` passes the schema and the cross-key rules as the
    section itself does (problems are named under ``<section>.protocol_settings.<name>``)."""
    lines = []
    for name, section in config.items():
        if not (isinstance(section, dict) and isinstance(section.get("protocol_settings"), dict)):
            continue
        defined = section["protocol_settings"]
        for i, proto in enumerate(section.get("protocols", [])):
            if proto not in defined:
                lines.append(f"config key '{name}.protocols[{i}]' = {proto!r} is invalid; "
                             f"allowed: one of {sorted(defined)} (the entries of "
                             f"{name}.protocol_settings)")
        for proto, overrides in defined.items():
            merged = {**config, name: deep_merge(section, dict(overrides or {}))}
            try:
                validate_config(merged, schema)
            except ConfigError as exc:
                lines.append(f"in protocol '{proto}' ({name}.protocol_settings.{proto} merged "
                             f"over {name}): {exc}")
    _refuse(lines)
    return config


def differences(config: dict, reference: dict, prefix: str = "") -> list[str]:
    """``'key.path: value (reference: other)'`` for every leaf where ``config`` differs
    from ``reference`` (mappings compared key by key, anything else as a whole); the
    tables use it to print what a scale reduced against the paper's settings."""
    out = []
    for key in sorted(set(config) | set(reference), key=str):
        path = f"{prefix}.{key}" if prefix else str(key)
        a, b = config.get(key), reference.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, path)
        elif a != b:
            out.append(f"{path}: {a} (paper: {b})")
    return out
