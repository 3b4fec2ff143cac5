"""CRNN network: backbone (CNN), sequence (BiLSTM) and CTC head."""
from .backbone import sequence_length
from .crnn import CRNN, build_crnn, count_parameters, pack_lstm_weights_for

__all__ = ["CRNN", "build_crnn", "count_parameters", "pack_lstm_weights_for", "sequence_length"]
