"""Training a network: the loss, the loop and the training core every loop shares
(:mod:`.optimisation`), checkpoints, data-parallel processes, pre-trained layers; a model shipped
(trained, its decision tuned, saved: :mod:`.ship`) and trained from a data folder, the job of
``train_model.py`` (:mod:`.data_folder`).

Layer 5 (tests/test_layout.py's LAYERS): it may import :mod:`seecgnet.inference` (validation runs
the prediction path), :mod:`seecgnet.trained` (the settings it trains by and the model it makes),
:mod:`seecgnet.models`, :mod:`seecgnet.data` and layer 0; nothing on the prediction path imports
it.
"""
