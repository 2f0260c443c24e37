"""Convolutional networks of the hybrid experiments (paper appendix, "U-Net").

One implementation serves both roles the paper describes: with skip
connections it is the U-Net surrogate of the unresolved part; without them it
is the autoencoder that learns the data manifold ("the same net without skip
connections").  Each level halves the grid (4×4 stride-2 convolution) and the
way up doubles it (upsampling + 3×3 convolution); ``periodic=True`` uses
circular padding, for periodic domains such as the reaction–diffusion square.
Fields are ``(batch, channels, H, W)`` with H, W divisible by 2**levels.
"""

from __future__ import annotations

import torch
from torch import nn

from romflow.fom import reaction_diffusion as rd

__all__ = ["ConvNet", "subgrid_detail", "SubgridSkip", "CoarseLatentAutoencoder"]


def _conv(c_in, c_out, k, stride, periodic):
    pad = (k - 1) // 2 if stride == 1 else 1
    return nn.Conv2d(c_in, c_out, k, stride=stride, padding=pad,
                     padding_mode="circular" if periodic else "zeros")


def _norm(c, batchnorm):
    return nn.BatchNorm2d(c) if batchnorm else nn.Identity()


class ConvNet(nn.Module):
    """U-Net (``skips=True``) or convolutional autoencoder (``skips=False``).

    Parameters
    ----------
    channels : int
        Input channels (2 for (u, v) of FitzHugh–Nagumo).
    out_channels : int
        Output channels (the unresolved field's components).
    widths : sequence of int
        Feature widths per level, finest first; ``len(widths) - 1`` halvings.
    batchnorm : bool
        Batch normalization after every down- and up-sampling convolution, as in
        the paper's appendix.  In ``eval()`` mode it uses the running statistics,
        so samples stay independent (the per-sample normals need that).
    in_scale, out_scale : float
        The network sees ``x / in_scale`` and its output is multiplied by
        ``out_scale`` (the data's standard deviations, so that training works on
        unit-scale numbers); stored as buffers, so they travel with the weights.
    """

    def __init__(self, channels: int, out_channels: int, widths=(16, 32, 64), *,
                 skips: bool = True, periodic: bool = True, batchnorm: bool = False,
                 in_scale: float = 1.0, out_scale: float = 1.0):
        super().__init__()
        if not (in_scale > 0 and out_scale > 0):
            raise ValueError(f"in_scale={in_scale}, out_scale={out_scale}: must be > 0")
        self.register_buffer("in_scale", torch.tensor(float(in_scale)))
        self.register_buffer("out_scale", torch.tensor(float(out_scale)))
        self.skips = skips
        w = list(map(int, widths))
        self.inlet = nn.Sequential(_conv(channels, w[0], 3, 1, periodic), nn.GELU())
        bn = bool(batchnorm)
        self.down = nn.ModuleList(nn.Sequential(_conv(a, b, 4, 2, periodic), _norm(b, bn),
                                                nn.GELU(), _conv(b, b, 3, 1, periodic),
                                                nn.GELU())
                                  for a, b in zip(w[:-1], w[1:]))
        self.up = nn.ModuleList(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                              _conv(b, a, 3, 1, periodic), _norm(a, bn),
                                              nn.GELU())
                                for a, b in zip(w[:-1], w[1:]))
        self.merge = nn.ModuleList(_conv(2 * a if skips else a, a, 3, 1, periodic)
                                   for a in w[:-1])
        self.outlet = _conv(w[0], out_channels, 3, 1, periodic)
        self.levels = len(w) - 1

    def encode(self, x: torch.Tensor):
        """Features of every level, finest first (the last one is the code)."""
        feats = [self.inlet(x)]
        for block in self.down:
            feats.append(block(feats[-1]))
        return feats

    def decode(self, feats) -> torch.Tensor:
        """Back to the input grid; uses the skip features only when ``skips``."""
        h = feats[-1]
        for level in reversed(range(self.levels)):
            h = self.up[level](h)
            if self.skips:
                h = torch.cat([h, feats[level]], dim=1)
            h = torch.nn.functional.gelu(self.merge[level](h))
        return self.outlet(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 2**self.levels or x.shape[-2] % 2**self.levels:
            raise ValueError(f"field {tuple(x.shape[-2:])} is not divisible by "
                             f"2**{self.levels}")
        return self.decode(self.encode(x / self.in_scale)) * self.out_scale


def subgrid_detail(u: torch.Tensor) -> torch.Tensor:
    """(1 - I R) u: what restriction to the N/2 grid and injection back lose.

    R is the 2×2 block mean and I copies a coarse value to its block (the
    coarse–fine operators of the hybrid paper's section 2.2), so the detail has
    zero mean over every 2×2 block.  ``u : (batch, channels, N, N)``.
    """
    return u - rd.inject(rd.restrict(u))


class SubgridSkip(nn.Module):
    """Closure φθ(u) = (1 - I R) u + net(u) for the coarse–fine correction.

    The correction y_k = u_{k+1} - I f_coarse(R u_k) is the sub-grid detail of
    u_k plus an O(Δt) remainder: at γ = 0.05, N = 64, |y - (1 - I R) u| is about
    1/700 of |y|.  A net that outputs y directly spends its accuracy on the
    detail, a fixed linear function of its input; with this skip it learns only
    the remainder, the part that carries the dynamics.  The hybrid model is
    unchanged (u_{k+1} = I f_coarse(R u_k) + φθ(u_k)); only the surrogate's
    parametrization is.
    """

    def __init__(self, net: nn.Module, skip_scale: float = 1.0):
        super().__init__()
        self.net = net
        # 1 / Δt when the closure learns the correction as a rate (TR units: rate)
        self.skip_scale = float(skip_scale)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.skip_scale * subgrid_detail(u) + self.net(u)


class CoarseLatentAutoencoder(nn.Module):
    """Autoencoder whose code is the coarse field: E = R, D(z) = I z + (1 - I R) G(I z).

    The learned manifold is the set of fine states whose sub-grid detail is the
    one G predicts from their coarse part (fine scales slaved to coarse ones);
    F(u) = ||(1 - I R) u - (1 - I R) G(I R u)||₂.  ``net`` is G, a U-Net on the
    injected coarse field: it never sees the detail it must predict, so the
    reconstruction is not trivial although it has skip connections.
    """

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        coarse = rd.inject(rd.restrict(u))
        return coarse + subgrid_detail(self.net(coarse))
