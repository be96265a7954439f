"""The challenge's own format and metric: the scored classes and their weights, the output files,
the challenge metric and the other scores, and the scorer over folders.

Layer 0, the bottom (tests/test_layout.py's LAYERS), beside :mod:`seecgnet.io`. It imports from
the package only :mod:`seecgnet.errors` (below every layer), and no torch, so the scorer runs
without it.
"""
