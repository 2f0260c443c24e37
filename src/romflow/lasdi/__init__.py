"""mLaSDI: autoencoder + linear latent ODEs + GP interpolation + residual stages."""

from romflow.lasdi.autoencoder import ARCHITECTURES, Autoencoder, SineDecoder, build
from romflow.lasdi.gp import CoefficientGP, interpolate
from romflow.lasdi.rollout import integrate, predict
from romflow.lasdi.sindy import SINDy
from romflow.lasdi.stages import compose, load_stages, residual
from romflow.lasdi.train import fit_stage, fit_stage1

__all__ = ["ARCHITECTURES", "Autoencoder", "SineDecoder", "build", "CoefficientGP",
           "interpolate", "integrate", "predict", "SINDy", "compose", "load_stages",
           "residual", "fit_stage", "fit_stage1"]
