"""The MIT-BIH Arrhythmia Database benchmark (``python -m seecgnet.mitbih --help``) and the
pre-training of SE-ECGNet's lead-shared layers on it (``python -m seecgnet.mitbih.pretrain``).

Layer 7, an application on top of the package, beside ``crossval`` and ``report``: it may import
from every layer below it (``io``, ``challenge``, ``errors``, ``destinations``, ``interrupts``;
``data``; ``models``; ``training``, whose core and checkpoints it trains with; ``cli`` for its
commands' shared parts), and from nothing beside or above it (neither ``crossval`` nor ``report``).
Nothing imports it.

The commands are ``__main__.py`` (the benchmark) and ``pretrain.py`` (the pre-training, whose
library is ``lead_shared.py``); ``settings.py`` and ``settings_file.py`` hold their settings; the
rest is the benchmark's library, from the beats (``beats.py``, ``rhythm.py``) through training
(``beat_loss.py``, ``training.py``) to the run (``run.py``, ``seeds.py``) and its results files
(``result_files.py``).
"""
