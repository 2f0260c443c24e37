"""The papers' published numbers, read from ``paper_numbers.yaml`` (one place).

Tables, figure captions and the report set our results beside these; nothing
else in the package writes a published number down again.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

__all__ = ["PATH", "load", "lookup"]

PATH = Path(__file__).with_name("paper_numbers.yaml")


@functools.cache
def _data() -> dict:
    with open(PATH) as fh:
        return yaml.safe_load(fh)


def load() -> dict:
    """Every published number, as nested plain data (a fresh copy)."""
    import copy

    return copy.deepcopy(_data())


def lookup(*keys, default=None):
    """``lookup('mlasdi', 'table1', 'toy', 'gplasdi')``: the entry at that path, or
    ``default`` where the papers publish none."""
    node = _data()
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node
