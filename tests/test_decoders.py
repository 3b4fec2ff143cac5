import itertools
import math
import random

import numpy as np
import pytest

from src.charset import Charset
from src.decoding import greedy_decode
from src.decoding.beam import CharNgramPrior, prefix_beam_search
from src.decoding.lexicon import BKTree, LexiconSearch, ctc_log_likelihoods, edit_distance


def random_log_probs(t, c, seed, sharp=2.0):
    x = np.random.default_rng(seed).normal(size=(t, c)) * sharp
    return x - np.log(np.exp(x).sum(1, keepdims=True))


def collapse(path, blank):
    return tuple(k for i, k in enumerate(path) if k != blank and (i == 0 or path[i - 1] != k))


def brute_force_distribution(lp, blank):
    """P(label sequence) for every sequence, by enumerating all frame paths."""
    dist = {}
    for path in itertools.product(range(lp.shape[1]), repeat=lp.shape[0]):
        key = collapse(path, blank)
        dist[key] = dist.get(key, 0.0) + math.exp(sum(lp[i, k] for i, k in enumerate(path)))
    return dist


@pytest.mark.parametrize("seed", range(5))
def test_ctc_probability_equals_brute_force(seed):
    lp = random_log_probs(5, 3, seed)
    dist = brute_force_distribution(lp, blank=2)
    targets = [(), (0,), (1, 0), (0, 0), (0, 1, 0), (1, 1, 1)]
    got = np.exp(ctc_log_likelihoods(lp, targets, blank=2))
    for t, p in zip(targets, got):
        assert p == pytest.approx(dist.get(t, 0.0), rel=1e-6, abs=1e-12)
    assert got[-1] > 0                      # "111" needs exactly the 5 frames there are
    assert (0, 0, 0, 0) not in dist         # needs 7 frames: impossible, probability exactly 0
    assert np.exp(ctc_log_likelihoods(lp, [(0, 0, 0, 0)], 2))[0] == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_beam_width_one_is_greedy_and_wide_beam_is_exact(seed):
    lp = random_log_probs(5, 3, seed, sharp=1.0)
    (greedy_ids, _), = greedy_decode(lp[:, None, :], blank=2)
    assert prefix_beam_search(lp, blank=2, beam_width=1, prune=-1e9)[0] == greedy_ids
    dist = brute_force_distribution(lp, blank=2)
    best = max(dist, key=dist.get)
    ids, prob = prefix_beam_search(lp, blank=2, beam_width=100, prune=-1e9)
    assert tuple(ids) == best and prob == pytest.approx(dist[best], rel=1e-6)


def test_char_prior_steers_ambiguous_frames():
    # frames: "a" then an even split between "b" and "c"
    lp = np.log(np.array([[0.9, 0.05, 0.04, 0.01], [0.01, 0.49, 0.48, 0.02], [0.01, 0.01, 0.01, 0.97]]))
    prior = CharNgramPrior([(0, 2)] * 20, num_symbols=4, order=2, weight=1.0)   # "ac" is a word
    assert prefix_beam_search(lp, blank=3, beam_width=5)[0] == [0, 1]
    assert prefix_beam_search(lp, blank=3, beam_width=5, prior=prior)[0] == [0, 2]


def test_bk_tree_matches_linear_scan():
    rng = random.Random(0)
    words = ["".join(rng.choice("abcde") for _ in range(rng.randint(1, 7))) for _ in range(400)]
    tree = BKTree(words)
    for query in ["abc", "eeee", "a", "bcdea", "ddddddd"]:
        for delta in (0, 1, 2, 3):
            expected = sorted({w for w in words if edit_distance(query, w) <= delta})
            assert sorted(tree.search(query, delta)) == expected


def test_lexicon_decoder_returns_the_right_lexicon_word():
    cs = Charset("abcdefghijklmnopqrstuvwxyz")
    lp = np.full((8, cs.num_classes), -8.0)
    for t, ch in enumerate("__h_oo_t"):      # frames spell "hot" loosely; greedy gives "hot"
        lp[t, cs.blank if ch == "_" else cs.index[ch]] = -0.01
    words = ["hat", "hot", "hotel", "shot", "dog"]
    dec = LexiconSearch(words, cs)
    word, conf = dec.decode(lp, "hot")
    assert word == "hot" and 0 < conf <= 1
    # a noisy greedy result still maps into the lexicon
    assert dec.decode(lp, "hqt")[0] in words
    rng = random.Random(1)
    filler = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(2000)]
    big = LexiconSearch(words + filler, cs, full_search_limit=100)
    assert big.tree is not None and big.decode(lp, "hot")[0] == "hot"


def test_decoder_objects_decode_batches_like_single_samples_and_the_prior_is_reachable():
    from src.decoding import BeamSearchDecoder, build_decoder

    charset = Charset("abc")
    batch = np.stack([random_log_probs(12, 4, seed) for seed in range(5)], axis=1)   # [T, N, C]
    for kind, kwargs in (("greedy", {}), ("beam:4", {}), ("lexicon", {"words": ["ab", "cab", "b"]})):
        decoder = build_decoder(kind, charset, **kwargs)
        assert decoder.decode_batch(batch) == [decoder(batch[:, i], i) for i in range(5)]
    per_image = build_decoder("lexicon", charset, per_image=[["a"], ["b"], ["c"], ["ab"], ["ba"]])
    assert [t for t, _ in per_image.decode_batch(batch)] == ["a", "b", "c", "ab", "ba"]
    # frames "a" then b/c evenly split: the word list ["ac"] turns the beam towards "ac" (weight 0.3, 3-gram)
    lp = np.log(np.array([[0.9, 0.05, 0.04, 0.01], [0.01, 0.49, 0.48, 0.02], [0.01, 0.01, 0.01, 0.97]]))
    assert BeamSearchDecoder(charset, 5)(lp)[0] == "ab"
    assert BeamSearchDecoder(charset, 5, prior_words=["AC"] * 50)(lp)[0] == "ac"
    with pytest.raises(ValueError, match="unknown decoder"):
        build_decoder("viterbi", charset)
    with pytest.raises(ValueError, match="needs per-image lexicons or a word list"):
        build_decoder("lexicon", charset)


def test_one_decoder_spec_grammar_canonical_names_and_old_aliases(tmp_path, caplog):
    from src.decoding import DecoderSpecError, build_decoder, parse_decoder_list, parse_decoder_spec
    from src.decoding.spec import from_legacy_keys

    words = tmp_path / "words.txt"
    words.write_text("ab\nca\n")
    cases = {"greedy": "greedy", "beam": "beam:10", "beam:4": "beam:4", f"beam:5+prior={words}": f"beam:5+prior={words}",
             f"beam:5+prior={words}+prior_weight=0.5": f"beam:5+prior={words}+prior_weight=0.5",
             "lexicon:50": "lexicon:50", "lexicon:1k": "lexicon:1k", f"lexicon={words}": f"lexicon={words}",
             f"lexicon={words}+delta=1": f"lexicon={words}+delta=1"}
    for text, canonical in cases.items():
        assert str(parse_decoder_spec(text)) == canonical
        assert str(parse_decoder_spec(canonical)) == canonical                     # canonical text round-trips
    assert parse_decoder_spec("lexicon:50").per_image == "small" and parse_decoder_spec("lexicon:1k").per_image == "medium"
    caplog.clear()
    assert [str(s) for s in parse_decoder_list(f"greedy,lex50,lex1k,small,{words}")] == \
        ["greedy", "lexicon:50", "lexicon:1k", f"lexicon={words}"]                 # old names, duplicates dropped
    assert sum("is now written" in r.getMessage() for r in caplog.records) == 4
    for bad, why in (("viterbi", "unknown decoder"), ("beam:x", "invalid literal"), ("beam:0", "at least 1"),
                     ("lexicon:20", "50 or 1k"), ("greedy+prior=a", "takes no option prior"), ("beam+prior", "KEY=VALUE")):
        with pytest.raises(DecoderSpecError, match=why):
            parse_decoder_spec(bad)
    assert from_legacy_keys(1, "none") == ("greedy", None)
    assert from_legacy_keys(5, "none")[0] == "beam:5" and from_legacy_keys(1, "small")[0] == "lexicon:50"
    charset = Charset("abc")
    assert build_decoder(f"lexicon={words}", charset)(random_log_probs(8, 4, 0))[0] in ("ab", "ca")
    with pytest.raises(ValueError, match="per-image lexicons come with a benchmark set"):
        build_decoder("lexicon:50", charset)
