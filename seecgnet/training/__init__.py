"""Training a network: the loss, the loop, checkpoints, data-parallel processes and pre-trained
layers.

Layer 5 (tests/test_layout.py's LAYERS): it may import :mod:`seecgnet.inference` (validation runs
the prediction path), :mod:`seecgnet.trained` (the settings it trains by and the model it makes),
:mod:`seecgnet.models`, :mod:`seecgnet.data` and layer 0; nothing on the prediction path imports
it.
"""
