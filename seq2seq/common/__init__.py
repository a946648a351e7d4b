"""The bottom layer: what every other layer may use and nothing here imports from them.

Errors that end as one line for the user, atomic writes, what the CPU is, the version and the
special token ids. tests/test_layers.py checks each layer's imports.
"""
