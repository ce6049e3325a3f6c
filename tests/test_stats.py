import numpy as np
import pytest

from sedbench.evaluation import PSDS1, scores_from_probs
from sedbench.evaluation.resample import psds_statistics
from sedbench.evaluation.synthetic import make_eval_set
from sedbench.stats import bootstrap_psds_difference, holm, paired_test, summarize


def test_summary_mean_std_and_t_interval():
    s = summarize([0.30, 0.32, 0.34])
    assert (s.n, s.mean, s.std) == (3, pytest.approx(0.32), pytest.approx(0.02))
    half = 4.302652729911275 * 0.02 / np.sqrt(3)  # t(0.975, 2)
    assert s.ci_low == pytest.approx(0.32 - half) and s.ci_high == pytest.approx(0.32 + half)
    one = summarize([0.5])
    assert one.mean == 0.5 and one.std is None and one.ci_low is None


def test_method_better_by_a_fixed_margin_on_every_seed_is_significant():
    ref = {0: 0.30, 1: 0.35, 2: 0.28, 3: 0.33, 4: 0.31, 5: 0.36}
    noisy = {s: v + 0.05 + 0.002 * (-1) ** s for s, v in ref.items()}
    t = paired_test(noisy, ref)
    assert t.n == 6 and t.delta == pytest.approx(0.05)
    assert t.p_ttest < 1e-4 and t.p_wilcoxon == pytest.approx(0.03125)
    assert t.ci_low > 0
    exact = paired_test({s: v + 0.05 for s, v in ref.items()}, ref)
    assert exact.p_ttest == 0.0 and "constant" in exact.note


def test_identical_methods_are_not_significant():
    ref = {0: 0.30, 1: 0.35, 2: 0.28}
    t = paired_test(dict(ref), ref)
    assert t.delta == 0 and t.p_ttest == 1.0
    rng = np.random.default_rng(0)
    a = {s: 0.3 + rng.normal(0, 0.02) for s in range(5)}
    b = {s: 0.3 + rng.normal(0, 0.02) for s in range(5)}
    assert paired_test(a, b).p_ttest > 0.05


def test_too_few_seeds_gives_no_p_value():
    t = paired_test({0: 0.4, 7: 0.5}, {0: 0.3, 1: 0.3})
    assert t.n == 1 and t.p_ttest is None and t.note == "n<2 seeds"
    assert paired_test({3: 0.4}, {1: 0.3}).note == "no common seeds"
    assert paired_test({0: 0.4, 1: 0.5}, {0: 0.3, 1: 0.3}).p_wilcoxon is None


def test_holm_by_hand():
    # sorted: 0.01*4=0.04, 0.02*3=0.06, 0.03*2=0.06 (monotone), 0.5*1=0.5; None is not a test
    assert holm([0.03, None, 0.01, 0.5, 0.02]) == pytest.approx([0.06, None, 0.04, 0.5, 0.06])
    assert holm([0.6, 0.9]) == [1.0, 1.0]
    assert holm([]) == [] and holm([None]) == [None]


@pytest.fixture(scope="module")
def two_systems():
    es = make_eval_set(n_clips=40, n_classes=3, seed=7)
    out = []
    for seed, noise in ((1, 0.8), (2, 1.3)):
        frame, _ = es.system(noise, seed=seed)
        scores = scores_from_probs(frame, es.clip_ids, es.classes, es.frame_hop_s)
        out.append(psds_statistics(scores, es.ground_truth, es.durations, PSDS1))
    return out


def test_bootstrap_of_a_system_against_itself_is_centred_on_zero(two_systems):
    a, _ = two_systems
    r = bootstrap_psds_difference(a, a, n_resamples=50)
    assert r.delta == 0 and r.ci_low == 0 and r.ci_high == 0 and r.p == 1.0


def test_bootstrap_detects_a_clearly_better_system(two_systems):
    good, bad = two_systems
    r = bootstrap_psds_difference(good, bad, n_resamples=200, seed=1)
    assert r.delta == pytest.approx(good.psds() - bad.psds())
    assert 0 < r.ci_low < r.delta < r.ci_high
    assert r.p < 0.05
    flipped = bootstrap_psds_difference(bad, good, n_resamples=200, seed=1)
    assert flipped.ci_high == pytest.approx(-r.ci_low) and flipped.p == r.p
