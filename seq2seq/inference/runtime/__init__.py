"""What decoding runs on: the decoder's key/value cache, packed weights, precision modes."""
