"""The networks: their settings (no torch), the building blocks, SE-ECGNet, the plain 1-D ResNet
baseline, and :func:`seecgnet.models.registry.build_network`, which builds one from its settings.
"""
