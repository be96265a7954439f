"""From a record to its labels: the windows through the network(s), the one-vote union and the
model's decision (:mod:`.prediction`); a model folder loaded as a predictor (:mod:`.loading`), for
one 2021 lead set (:mod:`.lead_set_model`); and a folder of records predicted into output files,
the driver's job (:mod:`.driver`).

Layer 4: it may import :mod:`seecgnet.trained` and the layers below it, never
:mod:`seecgnet.training`; training validates through this same path, so it sits above.
"""
