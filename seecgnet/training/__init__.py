"""Training a network: all of a run's settings, the loss, the loop, checkpoints, data-parallel
processes, and the training curves."""
