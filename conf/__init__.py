"""The Hydra configuration tree, shipped inside the package as ``seq2seq.conf``."""
