"""SE-ECGNet: a multi-scale squeeze-and-excitation network for 12-lead ECG classification.

The method of Chen et al., "SE-ECGNet: Multi-scale SE-Net for Multi-lead ECG Data" (Computing in
Cardiology 2020), packaged as a PhysioNet/CinC Challenge 2020 entry.
"""
