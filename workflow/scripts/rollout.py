"""Rule rollout: latent ODE for every parameter, decoded through every stage (eq. 19),
and its errors against the FOM (eq. 25) and GP spread."""

from romflow import io
from romflow.lasdi import predict
from romflow.workflow import rule_context

with rule_context(snakemake) as ctx:
    par, out = snakemake.params, snakemake.output
    fom = io.open_dataset(snakemake.input.fom, "fom")
    coefficients = io.open_dataset(snakemake.input.coefficients, "coefficients")
    states = [io.load_model(p) for p in snakemake.input.models]
    prediction, errors = predict(fom, coefficients, states, device=ctx.device,
                                 blowup_threshold=par.rollout["blowup_threshold"],
                                 store_states=par.store_states, config=par.rollout,
                                 log=ctx.log)
    blown = int((prediction["blowup_step"] >= 0).sum())
    ctx.log(f"{blown} of {prediction.sizes['param']} mean-coefficient rollouts blew up")
    for stage in errors["stage"].values:
        e = errors["max_rel_error"].sel(stage=stage).values
        ctx.log(f"{stage} stage(s): max rel. error, median {float(sorted(e)[len(e) // 2]):.4g}"
                f", max {float(e.max()):.4g}")
    io.write_dataset(prediction, out.prediction, "prediction")
    io.write_dataset(errors, out.errors, "errors")
