"""Tests of romflow.lasdi.autoencoder: the stage-1 autoencoder and the stage-k sine decoder."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from romflow.errors import DataError
from romflow.lasdi.autoencoder import ARCHITECTURES, Autoencoder, SineDecoder, build

N_IN, HIDDEN, LATENT = 40, [24, 12], 3
KWARGS = {"autoencoder": {"n_in": N_IN, "hidden": HIDDEN, "latent": LATENT},
          "sine_decoder": {"n_in": N_IN, "hidden": HIDDEN, "latent": LATENT, "kappa": 1.5}}


def test_every_architecture_has_test_arguments():
    assert set(ARCHITECTURES) == set(KWARGS)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_build_shapes_and_gradients(arch):
    torch.manual_seed(0)
    net = build(arch, **KWARGS[arch])
    assert isinstance(net, ARCHITECTURES[arch])
    if arch == "autoencoder":
        x = torch.randn(2, 5, N_IN)
        z = net.encode(x)
        assert z.shape == (2, 5, LATENT)
        out = net(x)
        assert net.decode(z).shape == (2, 5, N_IN)
    else:
        x = torch.randn(2, 5, LATENT)
        out = net(x)
        torch.testing.assert_close(net.decode(x), out, rtol=0, atol=0)
    assert out.shape == (2, 5, N_IN)
    (out**2).mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None, f"{arch}: no gradient for {name}"
        assert torch.isfinite(p.grad).all(), f"{arch}: non-finite gradient for {name}"
        assert p.grad.abs().sum() > 0, f"{arch}: zero gradient for {name}"


def test_build_unknown_architecture():
    with pytest.raises(DataError, match=r"unknown architecture 'transformer'.*autoencoder"):
        build("transformer", n_in=3)


def _linear_widths(seq):
    return [(m.in_features, m.out_features) for m in seq if isinstance(m, nn.Linear)]


def test_autoencoder_softplus_and_mirrored_widths():
    ae = Autoencoder(N_IN, HIDDEN, LATENT)
    assert _linear_widths(ae.encoder) == [(40, 24), (24, 12), (12, 3)]
    assert _linear_widths(ae.decoder) == [(3, 12), (12, 24), (24, 40)]
    acts = [type(m) for m in [*ae.encoder, *ae.decoder] if not isinstance(m, nn.Linear)]
    assert acts == [nn.Softplus] * 4
    # no activation after the last layer of encoder or decoder
    assert isinstance(ae.encoder[-1], nn.Linear) and isinstance(ae.decoder[-1], nn.Linear)


def test_sine_decoder_layout():
    """Appendix A: sin(kappa (W z + b)) first, tanh after later hidden layers, linear output;
    widths mirror the encoder's: N_z - h_m - ... - h_1 - N_u."""
    dec = SineDecoder(N_IN, HIDDEN, LATENT, kappa=1.5)
    first = dec.first.linear
    assert (first.in_features, first.out_features) == (3, 12)
    assert _linear_widths(dec.rest) == [(12, 24), (24, 40)]
    assert [type(m) for m in dec.rest] == [nn.Linear, nn.Tanh, nn.Linear]
    z = torch.randn(6, LATENT)
    with torch.no_grad():
        h = torch.sin(1.5 * first(z))
        expected = dec.rest[2](torch.tanh(dec.rest[0](h)))
        torch.testing.assert_close(dec(z), expected)


@pytest.mark.parametrize("init, variance", [("paper", 1.0), ("xavier_normal", 2.0)])
def test_sine_layer_initialisation(init, variance):
    """Appendix A: W ~ N(0, sqrt(1 / (n_in + n_out))) as the paper writes it, or PyTorch's
    Xavier normal (gain 1) with std sqrt(2 / (n_in + n_out)); b = 0; kappa = argument."""
    torch.manual_seed(3)
    n_in, n_out = 300, 500
    dec = SineDecoder(n_in=10, hidden=[n_out], latent=n_in, kappa=2.5, init=init)
    layer = dec.first
    assert torch.count_nonzero(layer.linear.bias) == 0
    assert isinstance(layer.kappa, nn.Parameter) and layer.kappa.requires_grad
    assert float(layer.kappa.detach()) == 2.5
    assert any(p is layer.kappa for p in dec.parameters())
    expected = math.sqrt(variance / (n_in + n_out))
    measured = float(layer.linear.weight.detach().std())
    # 150 000 samples: the sample std is within 1 % of the true std
    assert measured == pytest.approx(expected, rel=0.01), (
        f"weight std {measured:.5f}, expected ({init}) {expected:.5f}")
    # zero mean: the sample mean has std expected / sqrt(150 000) ~ expected / 387
    assert abs(float(layer.linear.weight.detach().mean())) < 0.02 * expected


def test_kappa_is_trained():
    torch.manual_seed(0)
    dec = SineDecoder(n_in=5, hidden=[7], latent=2, kappa=1.0)
    opt = torch.optim.SGD(dec.parameters(), lr=0.1)
    loss = (dec(torch.randn(9, 2)) - 1.0).pow(2).mean()
    loss.backward()
    opt.step()
    assert float(dec.first.kappa.detach()) != 1.0
