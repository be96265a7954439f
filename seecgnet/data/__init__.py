"""Records prepared for training: signals at 500 Hz in mV, the windows drawn from them, the folds,
and the on-disk cache of prepared records (:mod:`seecgnet.data.cache`).

It reads records through :mod:`seecgnet.io` and labels them with :mod:`seecgnet.challenge`.
"""
