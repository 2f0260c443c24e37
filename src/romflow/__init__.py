"""romflow: reduced-order modeling workflows (mLaSDI, hybrid simulation with TR)."""

__version__ = "0.1.0"

from romflow import errors, io, config, device, metrics  # noqa: E402

__all__ = ["__version__", "errors", "io", "config", "device", "metrics"]
