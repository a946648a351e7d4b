"""Data: parallel text -> normalized, filtered SentencePiece ids -> binarized splits -> batches."""
