"""Inference: search over model.encode / model.decode_step, the model directory, Translator."""
