"""The model directory: what training and import write, and what inference and export read."""
