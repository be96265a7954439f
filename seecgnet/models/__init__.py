"""The networks: their settings (no torch) and the one registry of architectures
(:mod:`seecgnet.models.settings`), the building blocks, SE-ECGNet, the plain 1-D ResNet baseline,
ResNeXt and ResNeSt, and :func:`seecgnet.models.registry.build_network`, which builds one from its
settings.

Layer 2 (tests/test_layout.py's LAYERS): it may import :mod:`seecgnet.data` (the network's input
shape) and layer 0; never a trained model, inference or training.
"""
