"""CTC decoders: per-frame network outputs -> text."""
from .decoders import BeamDecoder, Decoder, GreedyDecoder, LexiconWordDecoder, build_decoder
from .greedy import greedy_decode, softmax

__all__ = ["BeamDecoder", "Decoder", "GreedyDecoder", "LexiconWordDecoder", "build_decoder", "greedy_decode",
           "softmax"]
