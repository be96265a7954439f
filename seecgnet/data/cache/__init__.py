"""The on-disk cache of prepared records: built once (:mod:`.build`), described by its index
(:mod:`.index`) and read window by window (:mod:`.store`).

Part of :mod:`seecgnet.data`, layer 1: it imports :mod:`seecgnet.data`'s other modules and layer 0
(:mod:`seecgnet.io`, :mod:`seecgnet.challenge`), nothing above.
"""
