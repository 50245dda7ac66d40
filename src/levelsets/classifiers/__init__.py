"""Classifiers: CNNs, the one training loop, the classifier zoo, black-box wrappers."""
