"""Soft labels (seed 001): construction, a simulator, training methods, training data, evaluation sets.

Modules: ``class_sets`` (named class-name sets); ``label_construction`` (CIFAR-10S responses →
per-annotator soft labels, T1/T2 × uniform/clamp, and their mean); ``label_files`` (the soft-label
JSON file of ``levelsets labels build``); ``simulator`` (seed 001 appendix B.5); ``methods``
(training objectives for :func:`levelsets.classifiers.training.fit`: CE, label smoothing, mixup,
Mix-MaxEnt, Ent-WC, confidence smoothing γ^ω); ``class_pair_transform`` (the logistic τ of
appendix C); ``training_data`` (training sets from a dataset, soft-label files and augmenting
sample runs; de-aggregation); ``evaluation_sets`` (soft-labelled evaluation sets: near-boundary shapes,
sample runs, label files). The metrics themselves (CE, RMSE calibration, FGSM loss, accuracy, KL,
reliability diagram) are general classifier evaluation: :mod:`levelsets.evaluation.classifier`.

The package imports nothing heavy at import time; import the module you need.
"""
