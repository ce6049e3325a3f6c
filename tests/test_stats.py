import numpy as np
import pytest

from sedbench.errors import SedbenchError
from sedbench.evaluation import PSDS1, scores_from_probs
from sedbench.evaluation.resample import psds_statistics
from sedbench.evaluation.synthetic import make_eval_set
from sedbench.stats import (
    aa_clip_bootstrap_rate,
    aa_false_positive_rate,
    bootstrap_psds_difference,
    format_p,
    hierarchical_bootstrap,
    holm,
    mde,
    paired_power,
    paired_test,
    resampled_psds,
    seeds_needed,
    sign_flip_p,
    summarize,
)


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
    assert exact.p_ttest == pytest.approx(2 / 2**6) and "constant" in exact.note  # exact sign-flip


def test_a_constant_shift_over_few_seeds_is_not_a_finding():
    # the t statistic of a constant difference is infinite; its limit p = 0 called two tiny-profile
    # seeds of environment-mask (+0.004 both times) "beats scratch, p_adj < 0.001"
    ref = {0: 0.0, 1: 0.0}
    shifted = paired_test({0: 0.004, 1: 0.004}, ref)
    assert shifted.p_ttest == pytest.approx(0.5) and "sign-flip" in shifted.note
    assert paired_test({s: 0.004 for s in range(3)}, {s: 0.0 for s in range(3)}).p_ttest == pytest.approx(0.25)
    assert sign_flip_p(np.array([0.1, 0.2, 0.3])) == pytest.approx(0.25)  # as for any one-signed set


def test_identical_methods_are_not_significant():
    ref = {0: 0.30, 1: 0.35, 2: 0.28}
    t = paired_test(dict(ref), ref)
    assert t.delta == 0 and t.p_ttest == 1.0
    # differences of float rounding (scores through float32, JSON) are none, not a constant shift:
    # 6 same-signed ones would otherwise get the sign-flip test's p = 0.031, a "finding"
    noise = paired_test({s: v + 1e-9 * (1 + s % 2) for s, v in enumerate([0.3] * 6)}, {s: 0.3 for s in range(6)})
    assert noise.p_ttest == 1.0 and noise.note == "identical on every seed"
    rng = np.random.default_rng(0)
    a = {s: 0.3 + rng.normal(0, 0.02) for s in range(5)}
    b = {s: 0.3 + rng.normal(0, 0.02) for s in range(5)}
    assert paired_test(a, b).p_ttest > 0.05


def test_too_few_seeds_gives_no_p_value():
    t = paired_test({0: 0.4, 7: 0.5}, {0: 0.3, 1: 0.3})
    assert t.n == 1 and t.p_ttest is None and t.ci_low is None and "no method-level test" in t.note
    assert paired_test({3: 0.4}, {1: 0.3}).note == "no common seeds"
    assert paired_test({0: 0.4, 1: 0.5}, {0: 0.3, 1: 0.3}).p_wilcoxon is None


def test_holm_by_hand():
    # sorted: 0.01*4=0.04, 0.02*3=0.06, 0.03*2=0.06 (monotone), 0.5*1=0.5; None is not a test
    assert holm([0.03, None, 0.01, 0.5, 0.02]) == pytest.approx([0.06, None, 0.04, 0.5, 0.06])
    assert holm([0.6, 0.9]) == [1.0, 1.0]
    assert holm([]) == [] and holm([None]) == [None]
    # Holm (1979)'s own example: p = .01 .02 .03 .04 .05 at alpha .05 rejects nothing past the first step
    assert holm([0.01, 0.02, 0.03, 0.04, 0.05]) == pytest.approx([0.05, 0.08, 0.09, 0.09, 0.09])
    assert holm([float("nan"), 0.02]) == [None, 0.02]


def test_power_numbers():
    # paired t, alpha .05 two-sided, 80 % power: Cohen's d detectable at n pairs (G*Power gives the same)
    assert mde(1.0, 3) == pytest.approx(3.2640, abs=1e-3)
    assert mde(1.0, 10) == pytest.approx(0.9960, abs=1e-3)
    assert mde(0.02, 5) == pytest.approx(0.02 * 1.6820, abs=1e-4)
    assert mde(0.02, 1) is None and mde(0.0, 5) is None and mde(None, 5) is None
    # d = 1 needs 10 pairs (power 0.80 at n=10: 0.803; at 9: 0.759); d = 0.5 needs 34
    assert seeds_needed(0.02, 0.02) == 10
    assert seeds_needed(0.01, 0.02) == 34
    assert seeds_needed(1.0, 0.01) == 2  # huge effect: the minimum
    assert seeds_needed(1e-6, 1.0) == 10_001  # beyond the cap
    assert seeds_needed(0.0, 0.02) == 10_001 and seeds_needed(0.01, None) is None


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


def test_power_where_the_noncentral_t_gives_nan(monkeypatch):
    from statsmodels.stats.power import TTestPower

    cases = ((0.5, 20), (2.0, 3), (9.8, 2), (1.0, 10))
    expected = [TTestPower().power(es, n, 0.05) for es, n in cases]
    monkeypatch.setattr(TTestPower, "power", lambda *args, **kwargs: float("nan"))
    assert [paired_power(es, n) for es, n in cases] == pytest.approx(expected, abs=1e-6)


def test_hierarchical_bootstrap_without_clip_noise_is_the_paired_t_interval():
    # every clip resample gives the seed's own value: only seeds vary, and the interval is the t one
    a = np.array([0.30, 0.36, 0.33, 0.31])
    b = np.array([0.28, 0.30, 0.31, 0.30])
    res_a, res_b = np.repeat(a[:, None], 4000, 1), np.repeat(b[:, None], 4000, 1)
    h = hierarchical_bootstrap(res_a, res_b, a, b, seed=3)
    t = paired_test(dict(enumerate(a)), dict(enumerate(b)))
    assert h.delta == pytest.approx(t.delta)
    assert h.ci_low == pytest.approx(t.ci_low, rel=0.05) and h.ci_high == pytest.approx(t.ci_high, rel=0.05)
    # the plain percentile interval over 4 seeds is much narrower: that is why it is not used
    assert h.pct_high - h.pct_low < 0.6 * (h.ci_high - h.ci_low)


def test_hierarchical_bootstrap_adds_clip_noise_and_shares_the_clip_draw():
    rng = np.random.default_rng(0)
    a = np.array([0.30, 0.36, 0.33])
    b = np.array([0.28, 0.30, 0.31])
    clip = rng.normal(0, 0.02, 3000)  # one clip draw per replicate, the same for every seed
    res_a = a[:, None] + clip[None, :]
    res_b = b[:, None] + 0.5 * clip[None, :]
    wide = hierarchical_bootstrap(res_a, res_b, a, b, seed=1)
    narrow = hierarchical_bootstrap(res_a - clip / 2, res_b, a, b, seed=1)  # clip noise cancels in pairs
    assert wide.se > narrow.se
    with pytest.raises(SedbenchError):
        hierarchical_bootstrap(res_a[:1], res_b[:1], a[:1], b[:1])


def test_hierarchical_bootstrap_from_score_statistics(two_systems):
    good, bad = two_systems
    res = resampled_psds([good, bad, good, bad], n_resamples=300, seed=2)
    assert res.shape == (4, 300)
    np.testing.assert_allclose(res[0], res[2])  # the same clip draws for every system
    # two "seeds" per method (here the same checkpoints twice): the CI is the clip-level one, t-scaled
    h = hierarchical_bootstrap(res[[0, 2]], res[[1, 3]], [good.psds()] * 2, [bad.psds()] * 2)
    assert h.ci_low < h.delta < h.ci_high and h.delta == pytest.approx(good.psds() - bad.psds())


def test_aa_calibration_of_the_paired_t_is_near_alpha():
    # 400 seeds of one "method" (iid normal): pseudo-methods of 3 seeds each, 2000 random splits
    values = np.random.default_rng(11).normal(0.3, 0.02, 400)
    results = aa_false_positive_rate(values, n=3, n_splits=2000, seed=5)
    t = results[0]
    assert t.test.startswith("paired t") and t.trials == 2000
    assert 0.035 <= t.rate <= 0.065
    assert t.ci_low < 0.05 < t.ci_high  # Clopper-Pearson interval around the nominal 5 %
    with pytest.raises(SedbenchError):
        aa_false_positive_rate(values[:5], n=3)


def test_exact_aa_enumerates_every_split_and_its_interval_covers_the_seed_draw():
    from sedbench.stats import aa_paired_t_exact

    # iid normal seeds: every paired split of 12 seeds in groups of 3, a rate near the nominal 5 %
    values = np.random.default_rng(11).normal(0.3, 0.02, 12)
    r = aa_paired_t_exact(values, n=3)
    assert r.trials == 220 * 84 * 6 and r.interval_over == "seeds"
    assert r.ci_low < 0.05 < r.ci_high and r.ci_high - r.ci_low < 0.1
    # two clusters of seeds (a class learned or not), cut by one split out of ten: the random-split
    # interval (Clopper-Pearson, split draw) is tight around whatever this pool gives; the jackknife
    # interval is wide, because one seed more or less in a cluster moves the rate a lot
    bimodal = [0.33, 0.31, 0.38, 0.21, 0.22, 0.22, 0.30]
    exact = aa_paired_t_exact(bimodal, n=3)
    drawn = aa_false_positive_rate(bimodal, n=3, n_splits=4000)[0]
    assert abs(drawn.rate - exact.rate) < 0.02
    assert exact.ci_high - exact.ci_low > 3 * (drawn.ci_high - drawn.ci_low)
    with pytest.raises(SedbenchError, match="needs >= 7 seeds"):
        aa_paired_t_exact(bimodal[:6], n=3)


def test_aa_shows_the_single_seed_clip_bootstrap_is_not_a_method_test():
    # seeds of one method differ by training noise (sd 0.03) much larger than the clip-level noise
    # (sd 0.005) of each checkpoint: the clip bootstrap calls most pairs of seeds "different"
    rng = np.random.default_rng(4)
    seed_effect = rng.normal(0, 0.03, 12)
    clip_noise = rng.normal(0, 0.005, (1, 2000))
    res = 0.3 + seed_effect[:, None] + clip_noise + rng.normal(0, 0.001, (12, 2000))
    clip = aa_clip_bootstrap_rate(res, 0.3 + seed_effect)
    assert clip.trials == 66 and clip.rate > 0.5
    t = aa_false_positive_rate(0.3 + seed_effect, n=3, n_splits=500, resampled=res)
    assert t[0].rate < 0.15 and [r.test.split()[0] for r in t] == ["paired", "hierarchical", "clip"]


def test_verdict_sentences():
    from sedbench.stats import verdict

    row = dict(
        method="vanilla",
        baseline="scratch",
        kind="reference",
        metric="psds1",
        n_pairs=3,
        delta=0.022,
        ci_low=0.005,
        ci_high=0.04,
        ci_method="hierarchical bootstrap",
        p=0.01,
        p_adj=0.04,
        mde=0.05,
    )
    assert verdict(row) == "vanilla beats scratch by +0.022 psds1 [95% CI +0.005, +0.040], p_adj 0.040, 3 seeds"
    assert [format_p(p) for p in (0.0496, 0.04996, 0.0504, 0.012, 0.0004, 0.31)] == [
        "0.0496", "0.04996", "0.050", "0.012", "<0.001", "0.31"]  # never rounded across alpha
    assert "includes 0" in verdict({**row, "ci_low": -0.001})
    ns = verdict({**row, "p_adj": 0.3, "ci_low": -0.01})
    assert ns.startswith("vanilla vs scratch: no evidence of a difference in psds1 at 3 seeds") and "MDE 0.050" in ns
    assert "excludes 0" in verdict({**row, "p_adj": 0.3})
    assert verdict({**row, "metric": "params"}, higher_is_better=False).startswith("vanilla is worse than scratch")
    assert "its control scratch" in verdict({**row, "kind": "control"})
    assert "no method-level test" in verdict({**row, "n_pairs": 1, "p": None, "p_adj": None})


def test_a_constant_shift_through_float32_rounding_is_still_constant():
    # +0.004 on 3 seeds, the method's values rounded to float32: the t-test saw a spread of 1e-8 and
    # gave p 2e-12; the rounding is not seed variation
    ref = {0: 0.31, 1: 0.35, 2: 0.28}
    method = {s: float(np.float32(v + 0.004)) for s, v in ref.items()}
    t = paired_test(method, ref)
    assert t.p_ttest == pytest.approx(0.25) and "sign-flip" in t.note
    assert t.ci_low is None and t.sd is None  # no zero-width interval, no power from a zero sd


def test_a_metric_missing_on_shared_seeds_is_said_so():
    t = paired_test({0: float("nan"), 1: float("nan")}, {0: 0.3, 1: 0.4})
    assert t.n == 0 and t.note == "no value on seed(s) 0,1"
