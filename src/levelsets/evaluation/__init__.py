"""Evaluation of a classifier and of what a person sees.

:mod:`.classifier` (CE, calibration, FGSM, accuracy, KL) and :mod:`.classifier_report` (the ``levelsets evaluate``
report) evaluate a classifier; :mod:`.sample_quality` scores the perceptual quality and diversity of sampled images.
"""
