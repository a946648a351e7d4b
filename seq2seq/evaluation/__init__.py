"""Evaluation: sacrebleu metrics, test-set catalog, reports."""
