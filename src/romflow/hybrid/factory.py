"""The networks of a pairs file: the closure U-Net and the manifold autoencoder.

Sized from the pairs (channels of the state and of the unresolved part, the
grid), padded as the problem's domain is (circular when periodic), and scaled
by the training data's standard deviations when these are given.
"""

from __future__ import annotations

from romflow.errors import ConfigError
from romflow.hybrid import data
from romflow.hybrid.networks import CoarseLatentAutoencoder, ConvNet, SubgridSkip, subgrid_detail
from romflow.hybrid.simulate import resolved_step

__all__ = ["LATENTS", "SKIPS", "surrogate", "autoencoder"]

LATENTS = ("conv", "coarse")
SKIPS = ("none", "subgrid")


def _max_halvings(grid) -> int:
    k = 0
    while all(n % 2 ** (k + 1) == 0 for n in grid):
        k += 1
    return k


def _net(pairs, widths, skips, batchnorm=False, in_scale=1.0, out_scale=1.0, out="u"):
    """A U-Net (``skips``) or plain conv net from the state to ``out`` (``"u"`` or
    ``"unresolved"``), padded as the problem's domain is (circular when periodic)."""
    grid = pairs["u"].shape[-2:]
    halvings = len(widths) - 1
    if any(n % 2**halvings for n in grid):
        raise ConfigError(f"network widths {list(widths)} halve the grid {halvings} times, but "
                          f"the grid {tuple(grid)} is not divisible by {2**halvings}; allowed: "
                          f"at most {_max_halvings(grid) + 1} widths")
    periodic = resolved_step(pairs.attrs.get("problem", ""), pairs).periodic
    return ConvNet(data.channels(pairs, "u"), data.channels(pairs, out), widths, skips=skips,
                   periodic=periodic, batchnorm=batchnorm, in_scale=in_scale,
                   out_scale=out_scale)


def _coarse_fine(pairs, key, value, plain):
    """``skip: subgrid`` needs the coarse–fine correction problem (its y is the
    sub-grid detail plus a remainder)."""
    if pairs.attrs.get("unresolved") != "correction":
        raise ConfigError(f"{key} = {value!r} needs coarse-fine correction pairs (rd with "
                          f"unresolved: correction), but these pairs have unresolved = "
                          f"{pairs.attrs.get('unresolved')!r}; allowed here: {key} = {plain!r}")


def autoencoder(pairs, widths, latent, batchnorm=False, u=None):
    """The manifold autoencoder: the U-Net without skips (``conv``) or the coarse-latent
    one (``coarse``); ``u`` (training states) sets the data scaling when given."""
    if latent not in LATENTS:
        raise ConfigError(f"manifold latent = {latent!r} is invalid; allowed: {list(LATENTS)}")
    if latent == "conv":
        scale = 1.0 if u is None else float(u.std())
        return _net(pairs, widths, skips=False, batchnorm=batchnorm, in_scale=scale,
                    out_scale=scale)
    su, sd = (1.0, 1.0) if u is None else (float(u.std()), float(subgrid_detail(u).std()))
    return CoarseLatentAutoencoder(_net(pairs, widths, skips=True, batchnorm=batchnorm,
                                        in_scale=su, out_scale=sd))


def surrogate(pairs, widths, skip, batchnorm=False, u=None, y=None, scale: float = 1.0):
    """The closure U-Net to y / ``scale`` (the training's units), with the sub-grid skip
    (divided by ``scale`` too) when ``skip == "subgrid"``; ``u, y`` (training states and
    targets) set the data scaling when given."""
    if skip not in SKIPS:
        raise ConfigError(f"closure skip = {skip!r} is invalid; allowed: {list(SKIPS)}")
    if skip == "none":
        su, sy = (1.0, 1.0) if u is None else (float(u.std()), float(y.std()))
        return _net(pairs, widths, skips=True, batchnorm=batchnorm, in_scale=su, out_scale=sy,
                    out="unresolved")
    _coarse_fine(pairs, "skip", skip, SKIPS[0])
    su, sr = ((1.0, 1.0) if u is None
              else (float(u.std()), float((y - subgrid_detail(u) / scale).std())))
    return SubgridSkip(_net(pairs, widths, skips=True, batchnorm=batchnorm, in_scale=su,
                            out_scale=sr, out="unresolved"), skip_scale=1.0 / scale)
