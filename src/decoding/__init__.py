"""CTC decoders: per-frame network outputs -> text."""
from .greedy import greedy_decode, softmax

__all__ = ["greedy_decode", "softmax"]
