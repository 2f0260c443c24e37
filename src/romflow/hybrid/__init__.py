"""Hybrid simulation: a known resolved step plus a learned unresolved part (TR).

Modules: ``estimators`` (estimators and protocols as config data, no torch),
``closures`` (the estimators' training), ``networks``, ``factory`` (networks of
a pairs file), ``manifold``, ``data`` (pairs access), ``train`` (the rules'
training functions), ``simulate`` (resolved steps, rollouts), ``rollouts``
(the rollout files), ``report`` (Table 1, Fig. 4), ``linear_theory``.  Nothing
is imported here, so the workflow can read ``estimators`` without torch.
"""
