"""Inference: search over the encoder and the decoder's key/value cache; model directories."""
