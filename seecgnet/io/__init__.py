"""Reading WFDB challenge records: the header parser, the MATLAB v4 signal, synthetic records.

The bottom layer, beside :mod:`seecgnet.challenge`; it imports no torch.
"""
