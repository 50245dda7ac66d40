"""Generative models: the shapes world (exact prior and posterior), VAE and GAN priors."""
