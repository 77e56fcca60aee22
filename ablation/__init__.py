"""Ablations: train and evaluate the same small model on outputs of different filter settings."""
