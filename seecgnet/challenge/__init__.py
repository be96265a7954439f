"""The challenge's own format and metric: the scored classes and their weights, the output files,
the challenge metric and the other scores, and the scorer over folders.

The bottom layer, beside :mod:`seecgnet.io`; it imports no torch, so the scorer runs without it.
"""
