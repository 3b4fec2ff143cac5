import numpy as np
import mindspore as ms

from src.charset import Charset
from src.model import build_crnn, count_parameters, sequence_length


def test_reference_parameter_count_and_output_shape(cfg, charset):
    net = build_crnn(charset.num_classes, cfg.hidden_size)
    assert charset.num_classes == 37 and charset.blank == 36
    assert count_parameters(net) == 8_332_133
    net.set_train(False)
    out = net(ms.Tensor(np.zeros((2, 3, 32, 100), np.float32)))
    assert out.shape == (24, 2, 37)
    assert sequence_length(100) == 24


def test_class_count_follows_alphabet(cfg):
    cs = Charset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", case_sensitive=True)
    net = build_crnn(cs.num_classes, cfg.hidden_size)
    net.set_train(False)
    assert net(ms.Tensor(np.zeros((1, 3, 32, 100), np.float32))).shape == (24, 1, 63)


def test_parameter_names_match_reference_layout(cfg, charset):
    names = {p.name for p in build_crnn(charset.num_classes, cfg.hidden_size).get_parameters()}
    assert "vgg.conv1.conv.weight" in names and "vgg.conv7.bn.moving_variance" in names
    assert "rnn.0.rnn.weight_ih_l0_reverse" in names and "rnn.1.embedding.bias" in names
