"""A readable report of one record: the ECG on paper, the diagnoses by name, and where they came from.

``python -m seecgnet.report MODEL RECORD [--out FILE.png|.pdf|.html]``; see ``__main__.py``.
"""
