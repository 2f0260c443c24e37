"""Fixtures of the configuration tests: config.yaml, its schema and a refusal helper."""

from __future__ import annotations

import pytest

from romflow.config import deep_merge, load_yaml, resolve
from romflow.errors import ConfigError


@pytest.fixture(scope="session")
def raw(repo_root):
    """config.yaml as read, presets not merged."""
    return load_yaml(repo_root / "config.yaml")


@pytest.fixture(scope="session")
def schema(repo_root):
    return load_yaml(repo_root / "workflow" / "schemas" / "config.schema.yaml")


@pytest.fixture()
def refused(raw, schema):
    """``refused(user, scale="quick")``: the ConfigError text of ``user``'s settings,
    given as --configfile / --config give them (merged in, and passed as ``user``)."""
    def run(user, scale="quick") -> str:
        config = deep_merge(raw, user)
        config["scale"] = scale
        with pytest.raises(ConfigError) as info:
            resolve(config, schema, user=user)
        return str(info.value)
    return run
