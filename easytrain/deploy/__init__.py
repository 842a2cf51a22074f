"""Using a trained run: its model card, exports in every format, raw inputs → predictions."""
