import numpy as np

from src.charset import Charset, ctc_min_frames, EMPTY, OOV, TOO_LONG, UNALIGNABLE
from src.decoding import greedy_decode
from src.evaluation.metrics import WordAccuracy, normalize_text, word_similarity


def one_hot_logits(seq, num_classes):
    logits = np.full((len(seq), 1, num_classes), -10.0, np.float32)
    for t, k in enumerate(seq):
        logits[t, 0, k] = 10.0
    return logits


def test_greedy_merges_repeats_and_drops_blanks():
    blank = 3
    # a a _ a b b _ _ -> "aab"
    (ids, conf), = greedy_decode(one_hot_logits([0, 0, 3, 0, 1, 1, 3, 3], 4), blank)
    assert ids == [0, 0, 1]
    assert 0.99 < conf <= 1.0
    (ids, _), = greedy_decode(one_hot_logits([3, 3, 3], 4), blank)
    assert ids == []


def test_charset_roundtrip_and_rules():
    cs = Charset("0123456789abcdefghijklmnopqrstuvwxyz")
    assert cs.decode(cs.encode("hello42", 23)[:7].tolist()) == "hello42"
    assert cs.encode("ab", 4).tolist() == [10, 11, 36, 36]
    assert cs.normalize("HeLLo") == "hello"
    assert cs.check("", 23, 24) == EMPTY
    assert cs.check("caf\u00e9", 23, 24) == OOV
    assert cs.check("a" * 24, 23, 24) == TOO_LONG
    assert ctc_min_frames("aab") == 4
    assert cs.check("aaaaaaaaaaaaa", 23, 24) == UNALIGNABLE  # 13 + 12 repeats = 25 frames
    assert cs.check("hello", 23, 24) is None


def test_metric_normalisation_and_unreadable():
    assert normalize_text("Hello, World!") == "helloworld"
    assert normalize_text("Caf\u00e9-42") == "caf42"
    assert normalize_text("AbC", case_sensitive=True) == "AbC"
    m = WordAccuracy()
    assert m.update("a", "PARKING", "parking")
    assert m.update("b", "don't", "DONT")
    assert not m.update("c", "exit", "exlt")
    assert not m.update("d", "exit", "exit", readable=False)
    assert (m.correct, m.total, m.unreadable) == (2, 4, 1)
    strict = WordAccuracy(case_sensitive=True)
    assert not strict.update("a", "Parking", "parking")


def test_char_accuracy_is_one_minus_normalised_edit_distance_after_the_protocol():
    assert word_similarity("exit", "exit") == 1.0 and word_similarity("", "") == 1.0
    assert word_similarity("exit", "exlt") == 0.75                 # one substitution in four
    assert word_similarity("off", "of") == 1 - 1 / 3              # one deletion, the longer is 3
    assert word_similarity("ab", "") == 0.0
    m = WordAccuracy()
    m.update("a", "PARKING!", "parking")                          # normalised first: exact, 1.0
    m.update("b", "hotel", "hote1")                               # 0.8
    m.update("c", "bus", "bus", readable=False)                   # unreadable: 0
    assert m.accuracy == 1 / 3
    assert abs(m.char_accuracy - (1.0 + 0.8 + 0.0) / 3) < 1e-12
    assert WordAccuracy().char_accuracy == 0.0
