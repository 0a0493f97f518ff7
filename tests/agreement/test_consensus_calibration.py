"""Dawid-Skene recovers planted annotator reliabilities; calibration sweeps find the threshold."""

import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import DawidSkene
from sklearn.metrics import roc_auc_score

from evaluation.agreement.calibration import counts_at_thresholds, sweep
from evaluation.agreement.consensus import build_consensus, majority_vote
from evaluation.agreement.dawid_skene import fit_dawid_skene, fit_on_patterns

M = -1


def planted(n_items=3000, sens=(0.95, 0.85, 0.6, 0.9), spec=(0.9, 0.95, 0.55, 0.7), seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.random(n_items) < 0.6
    cols = []
    for se, sp in zip(sens, spec, strict=True):
        says_yes = np.where(truth, rng.random(n_items) < se, rng.random(n_items) >= sp)
        col = says_yes.astype(np.int8)
        col[rng.random(n_items) < 0.2] = M  # crowds never rate everything
        cols.append(col)
    return truth, np.column_stack(cols)


def test_dawid_skene_recovers_planted_reliabilities():
    sens, spec = (0.95, 0.85, 0.6, 0.9), (0.9, 0.95, 0.55, 0.7)
    truth, votes = planted(sens=sens, spec=spec)
    consensus = build_consensus(votes, ["ann", "bea", "cal", "dee"])
    for r, se, sp in zip(consensus.reliability, sens, spec, strict=True):
        assert r.sensitivity == pytest.approx(se, abs=0.04)
        assert r.specificity == pytest.approx(sp, abs=0.05)
    mv = majority_vote(votes)
    decided = mv != M  # majority vote leaves ties out; compare on the items it decides
    ds_acc = (consensus.dawid_skene[decided] == truth[decided]).mean()
    mv_acc = (mv[decided] == truth[decided]).mean()
    assert ds_acc > mv_acc  # weighting by reliability beats counting heads


def test_numpy_dawid_skene_agrees_with_crowd_kit():
    _, votes = planted(n_items=800, seed=3)
    rows, cols = np.nonzero(votes != M)
    labels = votes[rows, cols].astype(np.int64)
    ours = fit_dawid_skene(rows, cols, labels, len(votes), votes.shape[1])
    frame = pd.DataFrame({"task": rows, "worker": cols, "label": labels})
    ref = DawidSkene(n_iter=100).fit(frame)
    ref_yes = ref.probas_[1].reindex(np.unique(rows)).to_numpy()
    ours_yes = ours.p_true[np.unique(rows), 1]
    assert ((ref_yes >= 0.5) == (ours_yes >= 0.5)).mean() > 0.995
    for w in range(votes.shape[1]):
        assert ours.confusion[w, 1, 1] == pytest.approx(ref.errors_.loc[(w, 1), 1], abs=0.01)


def test_fitting_distinct_rows_with_weights_equals_fitting_every_item():
    _, votes = planted(n_items=5000, seed=5)
    votes = votes[(votes != M).any(axis=1)]
    rows, cols = np.nonzero(votes != M)
    every = fit_dawid_skene(rows, cols, votes[rows, cols].astype(np.int64), *votes.shape)
    patterns, pattern_of_item = fit_on_patterns(votes)
    assert len(patterns.p_true) <= 3**4 < len(votes)
    assert patterns.iterations == every.iterations
    np.testing.assert_allclose(patterns.p_true[pattern_of_item], every.p_true, atol=1e-9)
    np.testing.assert_allclose(patterns.confusion, every.confusion, atol=1e-9)
    np.testing.assert_allclose(patterns.prior, every.prior, atol=1e-9)


def test_excluded_annotator_does_not_shape_the_consensus():
    truth, votes = planted(n_items=500, seed=4)
    votes[:, 3] = 1 - np.clip(votes[:, 3], 0, 1)  # a saboteur
    consensus = build_consensus(votes, ["a", "b", "c", "saboteur"], excluded={"saboteur"})
    assert consensus.reliability[3].excluded
    kept = build_consensus(votes[:, :3], ["a", "b", "c"])
    assert (consensus.majority == kept.majority).all()


def test_counts_at_thresholds_by_hand():
    scores = np.array([0.1, 0.2, 0.3, 0.4])
    truth = np.array([0, 1, 0, 1])
    a, b, c, d = counts_at_thresholds(scores, truth, np.array([0.25]))
    assert (a[0], b[0], c[0], d[0]) == (1, 1, 1, 1)  # >= 0.25 says yes on 0.3 and 0.4


def test_sweep_finds_the_planted_threshold_and_sklearn_auc():
    rng = np.random.default_rng(2)
    n = 4000
    truth = (rng.random(n) < 0.5).astype(np.int8)
    scores = np.where(truth == 1, 0.30, 0.20) + rng.normal(0, 0.03, n)
    verdicts = (scores >= 0.22).astype(np.int8)  # the rater's own (too lenient) threshold
    layers = np.arange(n) % 2
    curve = sweep("ES", scores, verdicts, truth, "consensus", layers, ["l1", "l2"])
    assert curve.best_threshold == pytest.approx(0.25, abs=0.01)
    assert curve.roc_auc == pytest.approx(roc_auc_score(truth, scores))
    assert curve.higher_means_yes
    assert set(curve.by_layer) == {"l1", "l2"}
    assert max(curve.percent) == pytest.approx(curve.best_percent, abs=0.02)


def test_sweep_reads_direction_from_the_raters_own_verdicts():
    rng = np.random.default_rng(8)
    truth = (rng.random(1000) < 0.5).astype(np.int8)
    rank = np.where(truth == 1, 0.1, 0.6) + rng.normal(0, 0.1, 1000)  # lower = yes
    verdicts = (rank < 0.35).astype(np.int8)
    curve = sweep("CP", rank, verdicts, truth, "consensus", np.zeros(1000, int), ["l"])
    assert not curve.higher_means_yes
    assert curve.roc_auc > 0.95
    assert curve.best_threshold == pytest.approx(0.35, abs=0.05)
