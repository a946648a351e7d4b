"""Attention extraction and plots: see what each head of the Transformer looks at."""
