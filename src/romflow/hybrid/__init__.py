"""Hybrid simulation: a known resolved step plus a learned unresolved part (TR)."""

from romflow.hybrid import linear_theory

__all__ = ["linear_theory"]
