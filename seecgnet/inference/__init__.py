"""From a record to its labels: the windows through the network(s), the one-vote union, the
decision rules and the per-class thresholds tuned for the challenge metric.

Training validates through this same path, so it sits below :mod:`seecgnet.training`.
"""
