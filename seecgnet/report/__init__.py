"""A readable report of one record: the ECG on paper, the diagnoses by name, and where they came from.

``python -m seecgnet.report MODEL RECORD [--out FILE.png|.pdf|.html]``; see
:mod:`seecgnet.report.__main__`.

Layer 7, the applications (tests/test_layout.py's LAYERS), beside :mod:`seecgnet.crossval` and
:mod:`seecgnet.mitbih`, neither of which it imports: it may import any layer below; it reads a
trained model through the prediction path, never :mod:`seecgnet.training`.
"""
