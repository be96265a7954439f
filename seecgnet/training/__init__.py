"""Training a network: the loss, the loop, checkpoints, data-parallel processes, pre-trained
layers; a model shipped (trained, its decision tuned, saved: :mod:`.ship`) and trained from a data
folder, the job of ``train_model.py`` (:mod:`.data_folder`).

Layer 5: it may import :mod:`seecgnet.inference` (validation predicts as the driver does),
:mod:`seecgnet.trained` and the layers below them.
"""
