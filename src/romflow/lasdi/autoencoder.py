"""Networks of mLaSDI: the stage-1 autoencoder and the sine decoders of later stages.

Stage 1 (GPLaSDI): an MLP encoder N_u - h_1 - ... - N_z with Softplus
activations and a decoder mirroring it (mLaSDI paper, section 2.2).
Stage k >= 2: a decoder with the same widths whose first layer is
sin(kappa (W z + b)) with trainable kappa, Xavier-normal W and b = 0, and tanh
after every later hidden layer (mLaSDI paper, section 3.2 and appendix A).
"""

from __future__ import annotations

import torch
from torch import nn

from romflow.errors import ConfigError, DataError

__all__ = ["INITS", "SINE_INITS", "mlp", "Autoencoder", "SineDecoder", "ARCHITECTURES", "build"]

#: Weight initialisations of the stage-1 autoencoder: ``xavier_uniform`` (GPLaSDI's
#: ``latent_space.py``; biases keep PyTorch's default) or ``torch`` (PyTorch's default,
#: Kaiming-uniform with a = sqrt(5)).
INITS = ("xavier_uniform", "torch")


def mlp(widths, activation: type[nn.Module]) -> nn.Sequential:
    """Fully connected layers ``widths[0] -> ... -> widths[-1]``, activation between."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """MLP autoencoder with Softplus activations; the decoder mirrors the encoder.

    Parameters
    ----------
    n_in : int
        State dimension N_u.
    hidden : sequence of int
        Encoder hidden widths h_1, ..., h_m (decoder: h_m, ..., h_1).
    latent : int
        Latent dimension N_z.
    init : {"xavier_uniform", "torch"}
        Initialisation of every weight matrix (:data:`INITS`).
    """

    def __init__(self, n_in: int, hidden, latent: int, init: str = "torch"):
        super().__init__()
        if init not in INITS:
            raise ConfigError(f"init {init!r} is invalid; allowed: one of {list(INITS)}")
        widths = [int(n_in), *map(int, hidden), int(latent)]
        self.encoder = mlp(widths, nn.Softplus)
        self.decoder = mlp(widths[::-1], nn.Softplus)
        if init == "xavier_uniform":
            for layer in (*self.encoder, *self.decoder):
                if isinstance(layer, nn.Linear):
                    nn.init.xavier_uniform_(layer.weight)

    def encode(self, u: torch.Tensor) -> torch.Tensor:
        """``u : (..., N_u)`` -> ``z : (..., N_z)``, eq. (3)."""
        return self.encoder(u)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``z : (..., N_z)`` -> ``u : (..., N_u)``."""
        return self.decoder(z)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(u))


#: First-layer initialisations of the sine decoders: ``paper``, W ~ N(0, sigma) with
#: sigma = sqrt(1 / (n_in + n_out)) as appendix A writes it; ``xavier_normal``, PyTorch's
#: Xavier normal, sigma = sqrt(2 / (n_in + n_out)).
SINE_INITS = ("paper", "xavier_normal")


class SineLayer(nn.Module):
    """sin(kappa (W z + b)), W normal (``init``, :data:`SINE_INITS`), b = 0 (appendix A);
    kappa a trained parameter, or a fixed buffer with ``train_kappa=False`` (Fig. A.10)."""

    def __init__(self, n_in: int, n_out: int, kappa: float = 1.0, train_kappa: bool = True,
                 init: str = "paper"):
        super().__init__()
        if init not in SINE_INITS:
            raise ConfigError(f"sine_init {init!r} is invalid; allowed: one of "
                              f"{list(SINE_INITS)}")
        self.linear = nn.Linear(n_in, n_out)
        nn.init.xavier_normal_(self.linear.weight, gain=1.0 if init == "xavier_normal"
                               else 2 ** -0.5)
        nn.init.zeros_(self.linear.bias)
        value = torch.tensor(float(kappa))
        if train_kappa:
            self.kappa = nn.Parameter(value)
        else:
            self.register_buffer("kappa", value)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.kappa * self.linear(z))


class SineDecoder(nn.Module):
    """Decoder of stage k >= 2: ``z : (..., N_z)`` -> normalized residual ``(..., N_u)``.

    Widths N_z - h_m - ... - h_1 - N_u (the stage-1 decoder's), first layer
    :class:`SineLayer`, tanh after every later hidden layer, linear output.
    """

    def __init__(self, n_in: int, hidden, latent: int, kappa: float = 1.0,
                 train_kappa: bool = True, init: str = "paper"):
        super().__init__()
        widths = [int(latent), *map(int, reversed(list(hidden))), int(n_in)]
        self.first = SineLayer(widths[0], widths[1], kappa, train_kappa, init)
        self.rest = mlp(widths[1:], nn.Tanh)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.first(z)
        return self.rest(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Same as ``forward``; the name shared with :class:`Autoencoder`."""
        return self(z)


#: Registered architectures, by the name stored in model files.
ARCHITECTURES = {"autoencoder": Autoencoder, "sine_decoder": SineDecoder}


def build(arch: str, **kwargs) -> nn.Module:
    """Instantiate a registered architecture by name (as stored in a model file)."""
    if arch not in ARCHITECTURES:
        raise DataError(f"unknown architecture {arch!r}; allowed: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[arch](**kwargs)
