"""Records prepared for training: signals at 500 Hz in mV, the windows drawn from them, the folds,
and the on-disk cache of prepared records (:mod:`seecgnet.data.cache`).

Layer 1 (tests/test_layout.py's LAYERS): it may import layer 0, reading records through
:mod:`seecgnet.io` and labelling them with :mod:`seecgnet.challenge`, and :mod:`seecgnet.errors`;
nothing above it, and no torch outside the training windows' dataset.
"""
