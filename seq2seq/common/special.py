"""The special token ids every SentencePiece model of this project has, and the model uses."""

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
SPECIAL_IDS = EOS_ID + 1  # ids below it are special; the pieces of text come after
SPECIAL_PIECE_NAMES = ("<pad>", "<unk>", "<s>", "</s>")  # their SentencePiece pieces, in id order
NEVER_OUTPUT = (PAD_ID, BOS_ID)  # no search outputs them (an imported Marian model starts at pad)


def source_prompt(source: list[int]) -> list[int]:
    """What a decoder-only translation model reads before the target: bos, the source ids
    (eos last), bos. It learns each pair as this prompt followed by the target ids and eos,
    the two sentences back to back, each as a language model reads a sentence."""
    return [BOS_ID, *source, BOS_ID]


def joined_side_limit(max_positions: int) -> int:
    """The most tokens of either side (eos excluded) that a decoder-only translation model
    reads, when both sides, two bos and the source's eos share its ``max_positions``."""
    return (max_positions - 3) // 2
