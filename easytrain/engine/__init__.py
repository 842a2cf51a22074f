"""The training engine: device, optimisation, the loop, checkpoints."""
