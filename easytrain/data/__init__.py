"""Data sources, splits and the bundle of tensors that flows into training."""
