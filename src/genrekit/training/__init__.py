"""Training: config, loop, metrics, plots, checkpoints."""
