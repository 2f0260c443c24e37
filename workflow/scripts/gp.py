"""Rule gp: interpolate the SINDy coefficients to every parameter (GPLaSDI, eq. 15)."""

from romflow import io
from romflow.lasdi import interpolate
from romflow.workflow import rule_context

with rule_context(snakemake) as ctx:
    gp = snakemake.params.gp
    fom = io.open_dataset(snakemake.input.fom, "fom")
    latent = io.open_dataset(snakemake.input.latent, "latent")
    coefficients = interpolate(fom, latent, samples=gp["samples"], seed=snakemake.params.seed,
                               kernel=gp["kernel"], nu=gp["nu"],
                               scale_inputs=gp["scale_inputs"], config=gp)
    ctx.log(f"max GP std over all coefficients: {float(coefficients['xi_std'].max()):.3g}")
    io.write_dataset(coefficients, snakemake.output.coefficients, "coefficients")
