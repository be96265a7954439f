"""Cross-validation scored with the challenge metric, as the paper reports its method, and on
hospitals and lead sets the model has not seen.

``python -m seecgnet.crossval DATA WORKDIR --folds 5`` splits the records into stratified folds
(saved in WORKDIR/folds.csv); ``--split source`` makes one fold per source database instead, told
by the record name's prefix (leave-one-source-out). For each fold it trains on the others, writes
the held-out fold's outputs in challenge format with the driver's own code
(WORKDIR/fold_K/outputs/), and scores them.
A fold whose outputs are complete is skipped when the command runs again, and a fold cut off during
training resumes from its last epoch. ``--architectures seecgnet,baseline,resnext,resnest`` puts
several networks through the same folds, SE-ECGNet in WORKDIR itself and each other in
WORKDIR/NAME/fold_K/ (``--baseline`` adds the plain 1-D ResNet), and compares them side by side:
cost, scores over folds and seconds (:mod:`.compare`). With ``--members 2`` each fold trains a
second network (another seed) so that ensembles (mean and union of the members) can be compared on
out-of-fold data.
Each method's per-fold training curves (loss and validation challenge metric by epoch) are drawn
in its training_curves.png.

Besides the model's own rule, three decision rules are compared on the same out-of-fold
probabilities: fixed 0.5, the paper's per-sample max/5, and per-class thresholds tuned on each
fold's *training* part (the inner validation records that chose its best epoch), never on the fold.
Each fold's held-out records are also cut down to the 2021 challenge's lead sets (6, 4, 3 and 2
leads) and predicted and scored again, each lead set on its own.

Modules: :mod:`.folds` (each record's fold), :mod:`.run` (the folds in a work folder),
:mod:`.lead_sets` (the held-out records with fewer leads), :mod:`.results` (scoring them),
:mod:`.tables` (tables and figures), :mod:`.compare` (the architectures side by side),
``__main__`` (the command).

Layer 7, the applications (tests/test_layout.py's LAYERS), beside :mod:`seecgnet.mitbih` and
:mod:`seecgnet.report`, neither of which it imports: it may import any layer below, training
included.
"""
