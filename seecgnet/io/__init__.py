"""Reading WFDB challenge records: the header parser, the MATLAB v4 signal, reduced-lead records
and synthetic records.

Layer 0, the bottom (tests/test_layout.py's LAYERS), beside :mod:`seecgnet.challenge` and the small
modules ``device`` and ``interrupts``. It imports from the package only :mod:`seecgnet.errors`
(below every layer) and :mod:`seecgnet.destinations` (the rule its commands write by, just above
errors), and neither torch nor wfdb: reading a record loads numpy and scipy alone.
"""
