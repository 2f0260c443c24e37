"""Stopping times t_K of the hybrid paper's Table 2 (romflow.hybrid.stopping).

Reference: the paper's definition (section 4.2 and appendix B.2) read as "the first
step whose error exceeds K"; censoring as in survival analysis (a rollout still
within K at the end of observation is right-censored: its time is only known to be
>= the horizon; Kaplan & Meier 1958).  Every expected value below is counted by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from romflow.errors import ConfigError
from romflow.hybrid import report, stopping


def test_first_step_over_K_and_blowups_count_as_over():
    e = np.array([[0.0, 1.0, 5.0, 200.0, 1.0],     # over at step 3
                  [0.0, 0.0, np.inf, np.inf, np.inf],   # blow-up at step 2
                  [0.0, np.nan, 0.0, 0.0, 0.0],     # NaN is over every K
                  [0.0, 100.0, 99.0, 1.0, 0.0]])    # never over (<= K is within)
    t, censored, horizon = stopping.stopping_times(e, 100.0)
    assert t.tolist() == [3, 2, 1, 5] and censored.tolist() == [False, False, False, True]
    assert horizon == 5


def test_censored_rollouts_are_counted_never_averaged_as_stopped():
    t, censored = np.array([400, 600, 1000, 1000]), np.array([False, False, True, True])
    s = stopping.summarize(t, censored, 1000)
    assert (s["stopped"], s["censored"], s["rollouts"]) == (2, 2, 4)
    assert s["mean"] == 500.0 and s["std"] == 100.0          # of the two that stopped
    assert s["lower_bound"] == 750.0                         # (400 + 600 + 2 x 1000) / 4
    assert stopping.format_summary(s) == "≥ 750 (2/4 censored)"
    none = stopping.summarize([1000, 1000], [True, True], 1000)
    assert math.isnan(none["mean"]) and stopping.format_summary(none) == "≥ 1000 (2/2 censored)"
    all_stopped = stopping.summarize([430, 440], [False, False], 1000)
    assert stopping.format_summary(all_stopped) == "435 ± 5"


@pytest.mark.parametrize("K", [0.0, -1.0, math.inf, math.nan, "100"])
def test_bad_threshold_is_refused(K):
    with pytest.raises(ConfigError, match="K = .* is invalid; allowed: a finite number > 0"):
        stopping.stopping_times(np.zeros((1, 3)), K)


def _rollout(est, split, rel, absolute, re=100.0):
    rel, absolute = np.atleast_2d(rel), np.atleast_2d(absolute)
    n, steps = rel.shape
    return xr.Dataset(
        {"rel_error": (("trajectory", "step"), rel), "abs_error": (("trajectory", "step"), absolute),
         "shift": (("trajectory", "step"), np.zeros_like(rel))},
        attrs={"protocol": "paper", "nx": 128, "ny": 32, "reynolds": re, "estimator": est,
               "split": split, "config_digest": "d"})


def test_table2_rows_use_the_chosen_criterion_and_stand_beside_the_paper():
    # relative error crosses 0.5 at step 2; the absolute error crosses 100 at step 3
    rel, ab = [0.0, 0.1, 0.6, 0.9], [0.0, 50.0, 90.0, 150.0]
    tr_rel, tr_abs = [0.0, 0.1, 0.2, 0.3], [0.0, 1.0, 2.0, 3.0]
    rollouts = [_rollout("ols", 0, rel, ab), _rollout("ols", 1, rel, ab),
                _rollout("tr", 0, tr_rel, tr_abs)]
    published = {"reynolds": [100, 200], "n128x32": {"ols": [435, 301], "tr": [506, 497],
                                                     "std": {"ols": [15, 20]}}}
    absolute = report.channel_table2(rollouts, scale="test", criterion="absolute", K=100.0,
                                     published=published)
    ols, tr = absolute.iloc[0], absolute.iloc[1]
    assert (ols.estimator, ols.t_K_mean, ols.censored, ols.splits) == ("ols", 3.0, 0, 2)
    assert ols.paper == "435 ± 15" and tr.paper == "506"
    assert (tr.censored, tr.t_K) == (1, "≥ 4 (1/1 censored)") and math.isnan(tr.t_K_mean)
    relative = report.channel_table2(rollouts, scale="test", criterion="relative", K=0.5)
    assert relative.iloc[0].t_K_mean == 2.0 and relative.iloc[0].paper == ""
    with pytest.raises(ValueError, match="criterion 'rms' is invalid"):
        report.channel_table2(rollouts, scale="test", criterion="rms", K=1.0)
