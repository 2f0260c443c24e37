"""Hybrid simulation: a known resolved step plus a learned unresolved part (TR)."""

from romflow.hybrid import closures, linear_theory, manifold, networks, simulate

__all__ = ["closures", "linear_theory", "manifold", "networks", "simulate"]
