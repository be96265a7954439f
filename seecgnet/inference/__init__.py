"""From a record to its labels: the windows through the network(s), the ensemble's mean or
one-vote union, and the trained model's decision rule applied to the probabilities
(:mod:`.prediction`); a model folder loaded as a predictor (:mod:`.loading`), for one 2021 lead
set (:mod:`.lead_set_model`); and a folder of records predicted into output files, the driver's job
(:mod:`.driver`).

Layer 4 (tests/test_layout.py's LAYERS), above :mod:`seecgnet.trained` (a trained model's settings,
folder and decision, layer 3): it may import those, :mod:`seecgnet.models`, :mod:`seecgnet.data`
and layer 0, never :mod:`seecgnet.training`. Training validates through this same path, so it
sits below training; predicting loads no training code.
"""
