"""Evaluation of what a person sees: the perceptual quality and diversity of sampled images."""
