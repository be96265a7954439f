"""What a trained model is: all its settings joined (:mod:`.settings`), its decision rule, one
:class:`~seecgnet.trained.decision.Decision` per rule that tunes and applies itself
(:mod:`.decision`, with the searches in :mod:`.tuning`), how its networks are combined
(:mod:`.ensemble`), its training curves (:mod:`.curves`), and the model folder that holds it,
written atomically and read back from itself alone (:mod:`.folder`).

Layer 3: it may import :mod:`seecgnet.models`, :mod:`seecgnet.data` and the bottom layer
(:mod:`seecgnet.io`, :mod:`seecgnet.challenge`, ...). Both prediction (:mod:`seecgnet.inference`)
and training (:mod:`seecgnet.training`) sit above it, so that predicting never imports the
training code.
"""
