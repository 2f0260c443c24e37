"""Rule rollout: latent ODE for every parameter, decoded through every stage (eq. 19)."""

from romflow import io
from romflow.lasdi import predict
from romflow.workflow import rule_context

with rule_context(snakemake) as ctx:
    fom = io.open_dataset(snakemake.input.fom, "fom")
    coefficients = io.open_dataset(snakemake.input.coefficients, "coefficients")
    states = [io.load_model(p) for p in snakemake.input.models]
    prediction = predict(fom, coefficients, states, device=ctx.device,
                         blowup_threshold=snakemake.params.rollout["blowup_threshold"],
                         config=snakemake.params.rollout)
    blown = int((prediction["blowup_step"] >= 0).sum())
    ctx.log(f"{blown} of {prediction.sizes['param']} mean-coefficient rollouts blew up")
    io.write_dataset(prediction, snakemake.output.prediction, "prediction")
