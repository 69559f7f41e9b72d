"""Experiments: seeded sweeps over fresh labs, the theory they are checked against, results as data.

`theory` holds the published formulas, `stats` the 95 % intervals and the per-run
seeds, `spec` the `experiment ...` command's parameters, `results` the rows and
their CSV, `markov` a network-free cross-check of the selfish-mining strategy.
"""
