"""CTC decoders: per-frame network outputs -> text. A decoder is named by a spec (:mod:`.spec`)."""
from .decoders import (BeamDecoder, BeamSearchDecoder, Decoder, GreedyDecoder, LexiconDecoder, LexiconWordDecoder,
                       build_decoder)
from .greedy import greedy_decode, softmax
from .spec import DecoderSpec, DecoderSpecError, parse_decoder_list, parse_decoder_spec

__all__ = ["BeamDecoder", "BeamSearchDecoder", "Decoder", "DecoderSpec", "DecoderSpecError", "GreedyDecoder",
           "LexiconDecoder", "LexiconWordDecoder", "build_decoder", "greedy_decode", "parse_decoder_list",
           "parse_decoder_spec", "softmax"]
