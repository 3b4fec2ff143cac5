import itertools

import numpy as np
import mindspore as ms
import pytest

from src.train.loss import CTCLoss


def brute_force_ctc(log_probs: np.ndarray, target, blank: int) -> float:
    """-log of the sum over every frame path that collapses to ``target``."""
    t, c = log_probs.shape
    total = 0.0
    for path in itertools.product(range(c), repeat=t):
        collapsed = [k for i, k in enumerate(path) if k != blank and (i == 0 or path[i - 1] != k)]
        if collapsed == list(target):
            total += np.exp(sum(log_probs[i, k] for i, k in enumerate(path)))
    return -np.log(total)


def log_softmax(x):
    z = x - x.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def run_loss(logits, targets, lengths, weight, blank):
    loss = CTCLoss(blank)
    return float(loss(ms.Tensor(logits), ms.Tensor(np.array(targets, np.int32)),
                      ms.Tensor(np.array(lengths, np.int32)), ms.Tensor(np.array(weight, np.float32))).asnumpy())


def test_ctc_matches_brute_force_and_averages_per_sample():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 2, 3)).astype(np.float32)  # T=4, B=2, C=3 (blank = 2)
    targets = [[0, 1], [1, 1]]
    expected = [brute_force_ctc(log_softmax(logits[:, b]), targets[b], 2) for b in range(2)]
    got = run_loss(logits, targets, [2, 2], [1, 1], blank=2)
    assert got == pytest.approx(np.mean(expected), rel=1e-5)


def test_masked_sample_does_not_count():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4, 2, 3)).astype(np.float32)
    only_first = brute_force_ctc(log_softmax(logits[:, 0]), [0, 1], 2)
    assert run_loss(logits, [[0, 1], [1, 0]], [2, 2], [1, 0], blank=2) == pytest.approx(only_first, rel=1e-5)


def test_impossible_alignment_gives_finite_zero():
    logits = np.zeros((3, 1, 3), np.float32)
    # "aa" needs 3 frames (a, blank, a); "aaa" would need 5 > T=3 -> infinite -> zeroed
    assert np.isfinite(run_loss(logits, [[0, 0]], [2], [1], blank=2))
    assert run_loss(logits, [[0, 0, 0]], [3], [1], blank=2) == 0.0
