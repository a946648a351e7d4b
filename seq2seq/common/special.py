"""The special token ids every SentencePiece model of this project has, and the model uses."""

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
