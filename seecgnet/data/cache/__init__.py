"""The on-disk cache of prepared records: built once (:mod:`.build`), described by its index
(:mod:`.index`) and read window by window (:mod:`.store`)."""
