"""CRNN network: backbone (CNN), sequence (BiLSTM) and CTC head."""
from .backbone import sequence_length
from .crnn import CRNN, build_crnn, count_parameters

__all__ = ["CRNN", "build_crnn", "count_parameters", "sequence_length"]
