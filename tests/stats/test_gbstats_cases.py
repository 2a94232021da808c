"""Tenure against GrowthBook's gbstats on the sufficient statistics its own tests use.

Two kinds of expected values, each with its provenance:

* "published": asserted (rounded to 5 decimals) in gbstats' tests in
  github.com/growthbook/growthbook, ``packages/stats/tests/frequentist/test_tests.py`` and
  ``packages/stats/tests/bayesian/test_tests.py``. Checked to half a unit of the 5th decimal.
* "gbstats 0.8.0": the same call run in gbstats 0.8.0 (``pip install gbstats==0.8.0`` in its
  own venv, see ``benchmarks/bench_stats.py``), printed with ``repr``; checked to 1e-9.

Conventions that differ, each tested explicitly below:

* Proportions: gbstats' ``ProportionStatistic`` uses the variance :math:`p(1-p)` (``n``
  denominator); Tenure's ``Moments`` of 0/1 data uses ``n - 1`` (as ``scipy.stats.ttest_ind``
  does). Feeding Tenure the ``sum_squares`` whose ``n - 1`` variance is :math:`p(1-p)`
  reproduces gbstats exactly.
* ``p_value`` in Tenure always tests the absolute effect; gbstats' default ("relative")
  p-value is Tenure's ``p_value_rel``.
* Degenerate cells: gbstats returns effect 0, CI [0, 0], p = 1; Tenure returns NaN with a
  ``status`` code.
"""

from __future__ import annotations

import numpy as np
import pytest

from tenure.stats import (
    CrossMoments,
    GaussianPrior,
    Moments,
    bayesian_test,
    cuped_test,
    ratio_test,
    srm_test,
    welch_test,
)

PUBLISHED = 5e-6  # expected values were rounded to 5 decimals
EXACT = 1e-9

# packages/stats/tests/frequentist/test_tests.py :: TestTwoSidedTTest.setUp / test_two_sided_ttest
A_3407 = Moments(3407, 1396.87, 52377.9767)
A_3000 = Moments(3000, 1396.87, 52377.9767)
B_3461 = Moments(3461, 2422.7, 134698.29)


def gb_proportion(successes: float, n: float) -> Moments:
    """Moments whose (n - 1) variance equals gbstats' p(1 - p)."""
    p = successes / n
    return Moments(n, successes, successes**2 / n + (n - 1) * p * (1 - p))


def test_two_sided_relative() -> None:
    # test_tests.py::TestTwoSidedTTest::test_two_sided_ttest (published):
    #   expected=0.70732, ci=[-0.03526, 1.44989], stddev=0.37879, p_value=0.06191
    r = welch_test(A_3407, B_3461)
    assert float(r.effect_rel) == pytest.approx(0.7073170731707317, abs=EXACT)
    assert float(r.ci_rel_low) == pytest.approx(-0.03526008906611777, abs=EXACT)
    assert float(r.ci_rel_high) == pytest.approx(1.449894235407581, abs=EXACT)
    assert float(r.se_rel) == pytest.approx(0.3787943616681428, abs=EXACT)
    assert float(r.p_value_rel) == pytest.approx(0.06191182745618362, abs=EXACT)
    assert float(r.p_value_rel) == pytest.approx(0.06191, abs=PUBLISHED)


def test_two_sided_absolute() -> None:
    # test_tests.py::TestTwoSidedTTest::test_two_sided_ttest_absolute (published):
    #   expected=0.29, ci=[0.04538, 0.53462], stddev=0.12478, p_value=0.02016
    r = welch_test(A_3407, B_3461)
    assert float(r.effect_abs) == pytest.approx(0.29, abs=EXACT)
    assert float(r.ci_abs_low) == pytest.approx(0.04537789255929012, abs=EXACT)
    assert float(r.ci_abs_high) == pytest.approx(0.5346221074407098, abs=EXACT)
    assert float(r.se_abs) == pytest.approx(0.12478363158758794, abs=EXACT)
    assert float(r.p_value) == pytest.approx(0.020158402643587037, abs=EXACT)


def test_two_sided_binomial_with_gbstats_variance_convention() -> None:
    # test_tests.py::TestTwoSidedTTest::test_two_sided_ttest_binom (published):
    #   ProportionStatistic(14, 28) vs (16, 30): expected=0.06667, ci=[-0.47767, 0.61101],
    #   stddev=0.2717, p_value=0.80707
    r = welch_test(gb_proportion(14, 28), gb_proportion(16, 30))
    assert float(r.effect_rel) == pytest.approx(0.06666666666666665, abs=EXACT)
    assert float(r.ci_rel_low) == pytest.approx(-0.4776740282706786, abs=EXACT)
    assert float(r.ci_rel_high) == pytest.approx(0.6110073616040119, abs=EXACT)
    assert float(r.p_value_rel) == pytest.approx(0.8070716832021887, abs=EXACT)


def test_proportion_convention_differs_by_n_over_n_minus_1() -> None:
    # Tenure on raw 0/1 rows: variance is p(1-p) n/(n-1), gbstats uses p(1-p).
    ours = Moments(28, 14, 14)
    assert float(ours.variance) == pytest.approx(0.25 * 28 / 27, abs=1e-15)
    assert float(gb_proportion(14, 28).variance) == pytest.approx(0.25, abs=1e-15)


def test_missing_variance_is_a_status_not_a_default() -> None:
    # test_tests.py::TestTwoSidedTTest::test_two_sided_ttest_missing_variance: n=2 with these
    # sums has negative variance; gbstats returns its default output (0, [0, 0], p=1).
    r = welch_test(Moments(2, 1396.87, 52377.9767), B_3461)
    assert str(r.status) == "zero_variance"
    assert np.isnan(r.effect_abs) and np.isnan(r.p_value)


def test_one_sided_greater() -> None:
    # test_tests.py::TestOneSidedGreaterTTest::test_one_sided_ttest (published, full precision):
    #   expected=0.5033610858562358, ci=(-0.045136675850396046, inf), pValue=0.06558262868467746
    r = welch_test(A_3000, B_3461, alternative="greater")
    assert float(r.effect_rel) == pytest.approx(0.5033610858562358, abs=EXACT)
    assert float(r.ci_rel_low) == pytest.approx(-0.045136675850396046, abs=EXACT)
    assert np.isinf(r.ci_rel_high)
    assert float(r.p_value_rel) == pytest.approx(0.06558262868467746, abs=EXACT)


def test_one_sided_greater_absolute() -> None:
    # test_tests.py::TestOneSidedGreaterTTest::test_one_sided_ttest_absolute (published):
    #   expected=0.23437666666666668, ci=(0.020791480063255735, inf),
    #   stddev=0.12983081254184736, pValue=0.03554272489873023
    r = welch_test(A_3000, B_3461, alternative="greater")
    assert float(r.effect_abs) == pytest.approx(0.23437666666666668, abs=EXACT)
    assert float(r.ci_abs_low) == pytest.approx(0.020791480063255735, abs=EXACT)
    assert float(r.se_abs) == pytest.approx(0.12983081254184736, abs=EXACT)
    assert float(r.p_value) == pytest.approx(0.03554272489873023, abs=EXACT)


def test_sequential_relative_tuning_1000() -> None:
    # test_tests.py::TestSequentialTTest::test_sequential_test_runs (published):
    #   SequentialConfig(sequential_tuning_parameter=1000): expected=0.50336,
    #   ci=[-0.55844, 1.56516], stddev=0.33341, p_value=1
    r = welch_test(A_3000, B_3461, method="sequential", tuning=1000)
    assert float(r.effect_rel) == pytest.approx(0.5033610858562358, abs=EXACT)
    assert float(r.ci_rel_low) == pytest.approx(-0.5584405051077315, abs=EXACT)
    assert float(r.ci_rel_high) == pytest.approx(1.5651626768202032, abs=EXACT)
    assert float(r.p_value_rel) == 1.0


def test_sequential_absolute_default_tuning() -> None:
    # gbstats 0.8.0: SequentialTwoSidedTTest(A_3000, B_3461,
    #   SequentialConfig(difference_type="absolute")).compute_result()
    #   -> ci=[-0.16011652842982782, 0.6288698617631612], p_value=0.7601250075467714
    r = welch_test(A_3000, B_3461, method="sequential")
    assert float(r.ci_abs_low) == pytest.approx(-0.16011652842982782, abs=EXACT)
    assert float(r.ci_abs_high) == pytest.approx(0.6288698617631612, abs=EXACT)
    assert float(r.p_value) == pytest.approx(0.7601250075467714, abs=EXACT)


def test_sequential_proportions() -> None:
    # test_tests.py::TestSequentialTTest::test_sequential_test_runs_prop (published):
    #   ProportionStatistic(1396, 3000) vs (2422, 3461): expected=0.50386,
    #   ci=[0.40098, 0.60675], stddev=0.03386, p_value=0.0
    # gbstats 0.8.0 full precision: ci=[0.4009784966859415, 0.6067482066783577],
    #   p_value=5.174716682839852e-44
    r = welch_test(gb_proportion(1396, 3000), gb_proportion(2422, 3461), method="sequential")
    assert float(r.effect_rel) == pytest.approx(0.5038633516821496, abs=EXACT)
    assert float(r.ci_rel_low) == pytest.approx(0.4009784966859415, abs=EXACT)
    assert float(r.ci_rel_high) == pytest.approx(0.6067482066783577, abs=EXACT)
    assert float(r.p_value_rel) == pytest.approx(5.174716682839852e-44, rel=1e-6)


def test_sequential_tuning_tightest_near_n() -> None:
    # test_tests.py::TestSequentialTTest::test_sequential_test_tuning_as_expected
    widths = [
        float(welch_test(A_3000, B_3461, method="sequential", tuning=t).ci_rel_high)
        for t in (10, 6461, 10000)
    ]
    below, near, above = widths
    assert below > above > near


def test_sequential_cuped_with_inconsistent_fixture_is_degenerate() -> None:
    # test_tests.py::TestSequentialTTest::test_sequential_test_runs_ra (older gbstats, published
    # 0.50236) used a made-up post_pre_sum_of_products; gbstats 0.8.0, which re-estimates
    # theta on the pooled arms (theta = 8.4405), reports ZERO_NEGATIVE_VARIANCE. So does Tenure.
    ca = CrossMoments(A_3000, Moments(3000, 16.87, 527.9767), 12525)
    cb = CrossMoments(B_3461, Moments(3461, 22.7, 1348.29), 3333)
    r = cuped_test(ca, cb, method="sequential")
    assert str(r.status) == "zero_variance"


# gbstats 0.8.0 on simulated CUPED data (np.random.default_rng(7); x ~ Gamma(2, 5),
# y = 0.8 x + N(10 [+0.6 in B], 4); 800 vs 900 units), RegressionAdjustedStatistic(theta=0).
CUPED_A = CrossMoments(
    Moments(800, 13934.694510292378, 279418.75519285176),
    Moments(800, 7506.8351588243595, 109809.91011784588),
    161644.34297145996,
)
CUPED_B = CrossMoments(
    Moments(900, 16633.35573717418, 352636.6640069957),
    Moments(900, 9019.906251339904, 136726.19647130318),
    204618.69635707221,
)


def test_cuped_fixed() -> None:
    # TwoSidedTTest(ra_a, ra_b, FrequentistConfig(difference_type=...)).compute_result()
    #   relative: expected=0.03153734360308241, ci=[0.009147239810770348, 0.05392744739539448],
    #             stddev=0.01141548658490851, p_value=0.0057954866105360825
    #   absolute: expected=0.5493290609688462, ci=[0.17163967994399243, 0.9270184419936999],
    #             stddev=0.19256311191518588, p_value=0.004387818709263858
    r = cuped_test(CUPED_A, CUPED_B)
    assert float(r.effect_rel) == pytest.approx(0.03153734360308241, abs=EXACT)
    assert float(r.ci_rel_low) == pytest.approx(0.009147239810770348, abs=EXACT)
    assert float(r.ci_rel_high) == pytest.approx(0.05392744739539448, abs=EXACT)
    assert float(r.se_rel) == pytest.approx(0.01141548658490851, abs=EXACT)
    assert float(r.p_value_rel) == pytest.approx(0.0057954866105360825, abs=EXACT)
    assert float(r.effect_abs) == pytest.approx(0.5493290609688462, abs=EXACT)
    assert float(r.ci_abs_low) == pytest.approx(0.17163967994399243, abs=EXACT)
    assert float(r.ci_abs_high) == pytest.approx(0.9270184419936999, abs=EXACT)
    assert float(r.p_value) == pytest.approx(0.004387818709263858, abs=EXACT)


def test_cuped_sequential_and_bayesian() -> None:
    # SequentialTwoSidedTTest(ra_a, ra_b): ci=[-0.004569723522811972, 0.0676444107289768],
    #   p_value=0.11879162934528045
    # EffectBayesianABTest(ra_a, ra_b): chance_to_win=0.9971335584061998,
    #   risk=[0.03154718547657182, 9.84187348941503e-06],
    #   ci=[0.009163401030661593, 0.053911286175503226]
    s = cuped_test(CUPED_A, CUPED_B, method="sequential")
    assert float(s.ci_rel_low) == pytest.approx(-0.004569723522811972, abs=EXACT)
    assert float(s.ci_rel_high) == pytest.approx(0.0676444107289768, abs=EXACT)
    assert float(s.p_value_rel) == pytest.approx(0.11879162934528045, abs=EXACT)
    b = bayesian_test(cuped_test(CUPED_A, CUPED_B))
    assert float(b.chance_to_win) == pytest.approx(0.9971335584061998, abs=EXACT)
    assert float(b.risk_control) == pytest.approx(0.03154718547657182, abs=EXACT)
    assert float(b.risk_variant) == pytest.approx(9.84187348941503e-06, abs=EXACT)
    assert float(b.ci_low) == pytest.approx(0.009163401030661593, abs=EXACT)
    assert float(b.ci_high) == pytest.approx(0.053911286175503226, abs=EXACT)


# Numerator/denominator moments of test_tests.py::test_two_sided_ttest_test_runs_ratio_ra
# (post-period parts), run through gbstats 0.8.0's plain RatioStatistic:
#   RatioStatistic(n=100, m_statistic=m, d_statistic=d, m_d_sum_of_products=...)
RATIO_A = CrossMoments(
    Moments(100, 485.112236689623, 2715.484666118136),
    Moments(100, 679.9093275844917, 4939.424001640236),
    3602.146836776702,
)
RATIO_B = CrossMoments(
    Moments(100, 514.7757826608777, 2994.897482705013),
    Moments(100, 705.4090874383759, 5291.36604146392),
    3918.1561431600717,
)


def test_ratio_delta_method() -> None:
    # relative: expected=0.02278847825468685, ci=[-0.03224290232999808, 0.07781985883937179],
    #           stddev=0.02790610351392426, p_value=0.41513138051654996
    # absolute: expected=0.01625947638659242, ci=[-0.022554691439217553, 0.05507364421240239],
    #           stddev=0.019682446154282374, p_value=0.409747376575905
    r = ratio_test(RATIO_A, RATIO_B)
    assert float(r.effect_rel) == pytest.approx(0.02278847825468685, abs=EXACT)
    assert float(r.ci_rel_low) == pytest.approx(-0.03224290232999808, abs=EXACT)
    assert float(r.ci_rel_high) == pytest.approx(0.07781985883937179, abs=EXACT)
    assert float(r.se_rel) == pytest.approx(0.02790610351392426, abs=EXACT)
    assert float(r.p_value_rel) == pytest.approx(0.41513138051654996, abs=EXACT)
    assert float(r.effect_abs) == pytest.approx(0.01625947638659242, abs=EXACT)
    assert float(r.ci_abs_low) == pytest.approx(-0.022554691439217553, abs=EXACT)
    assert float(r.se_abs) == pytest.approx(0.019682446154282374, abs=EXACT)
    assert float(r.p_value) == pytest.approx(0.409747376575905, abs=EXACT)


def test_bayesian_binomial() -> None:
    # packages/stats/tests/bayesian/test_tests.py::TestBinom::test_bayesian_binomial_ab_test
    #   (published): expected=0.04082, ci=[-0.24779, 0.32943], stddev=0.14725,
    #   chance_to_win=0.60918, risk=[0.0814, 0.04058]
    b = bayesian_test(welch_test(gb_proportion(49, 100), gb_proportion(51, 100)))
    assert float(b.posterior_mean) == pytest.approx(0.04081632653061228, abs=EXACT)
    assert float(b.ci_low) == pytest.approx(-0.24779335974122607, abs=EXACT)
    assert float(b.ci_high) == pytest.approx(0.3294260128024506, abs=EXACT)
    assert float(b.posterior_sd) == pytest.approx(0.14725254573469446, abs=EXACT)
    assert float(b.chance_to_win) == pytest.approx(0.6091813095808981, abs=EXACT)
    assert float(b.risk_control) == pytest.approx(0.0813958491551631, abs=EXACT)
    assert float(b.risk_variant) == pytest.approx(0.04057952262455082, abs=EXACT)


NORM_A = Moments(10, 100, 1002.25)  # bayesian/test_tests.py::TestNorm.setUp
NORM_B = Moments(10, 105, 1111.5)


def test_bayesian_gaussian_flat() -> None:
    # TestNorm::test_bayesian_gaussian_ab_test (published): expected=0.05, ci=[-0.02, 0.12],
    #   stddev=0.03572, chance_to_win=0.91923, risk=[0.05131, 0.00131]
    b = bayesian_test(welch_test(NORM_A, NORM_B))
    assert float(b.posterior_mean) == pytest.approx(0.05, abs=EXACT)
    assert float(b.ci_low) == pytest.approx(-0.020001863604820883, abs=EXACT)
    assert float(b.chance_to_win) == pytest.approx(0.9192339081566245, abs=EXACT)
    assert float(b.chance_to_win) == pytest.approx(0.91923, abs=PUBLISHED)
    assert float(b.risk_control) == pytest.approx(0.05130981716392653, abs=EXACT)
    assert float(b.risk_variant) == pytest.approx(0.001309817163926532, abs=EXACT)


def test_bayesian_gaussian_informative_prior() -> None:
    # TestNorm::test_bayesian_gaussian_ab_test_informative (published):
    #   GaussianPrior(mean=0.1, variance=0.1, proper=True): expected=0.05063,
    #   ci=[-0.01893, 0.12019], stddev=0.03549, chance_to_win=0.92315, risk=[0.05186, 0.00123]
    b = bayesian_test(
        welch_test(NORM_A, NORM_B), prior=GaussianPrior(mean=0.1, variance=0.1, proper=True)
    )
    assert float(b.posterior_mean) == pytest.approx(0.05062977888312218, abs=EXACT)
    assert float(b.posterior_sd) == pytest.approx(0.03549024888958016, abs=EXACT)
    assert float(b.ci_high) == pytest.approx(0.12018938850906194, abs=EXACT)
    assert float(b.chance_to_win) == pytest.approx(0.9231499085772956, abs=EXACT)
    assert float(b.risk_control) == pytest.approx(0.051856806429433584, abs=EXACT)
    assert float(b.risk_variant) == pytest.approx(0.001227027546311407, abs=EXACT)


def test_bayesian_prior_rescaling_between_absolute_and_relative() -> None:
    # gbstats 0.8.0, EffectBayesianConfig(prior_effect=GaussianPrior(0.1, 0.1, True), ...):
    #   difference_type="absolute" (prior_type defaults to "relative", so gbstats rescales the
    #   prior to N(0.1 * 10, 0.1 * 10**2)): expected=0.5061728395061729,
    #   chance_to_win=0.9251501725056291
    #   prior_type="absolute" (relative effect): expected=0.027577588574567425,
    #       chance_to_win=0.8779466343125463, risk=[0.029004714852277923, 0.0014271262777104984]
    prior = GaussianPrior(mean=0.1, variance=0.1, proper=True)
    r = welch_test(NORM_A, NORM_B)
    a = bayesian_test(r, relative=False, prior=prior, prior_type="relative")
    assert float(a.posterior_mean) == pytest.approx(0.5061728395061729, abs=EXACT)
    assert float(a.chance_to_win) == pytest.approx(0.9251501725056291, abs=EXACT)
    b = bayesian_test(r, relative=True, prior=prior, prior_type="absolute")
    assert float(b.posterior_mean) == pytest.approx(0.027577588574567425, abs=EXACT)
    assert float(b.chance_to_win) == pytest.approx(0.8779466343125463, abs=EXACT)
    assert float(b.risk_control) == pytest.approx(0.029004714852277923, abs=EXACT)
    assert float(b.risk_variant) == pytest.approx(0.0014271262777104984, abs=EXACT)


def test_srm_matches_check_srm() -> None:
    # gbstats 0.8.0 gbstats.utils.check_srm([1000, 1100, 950], [1, 1, 1]) = 0.0032221549052224925
    # and check_srm([5000, 5300], [0.4, 0.6]) = 4.238304830357706e-70
    assert float(srm_test([1000, 1100, 950], [1, 1, 1])) == pytest.approx(
        0.0032221549052224925, abs=EXACT
    )
    assert float(srm_test([5000, 5300], [0.4, 0.6])) == pytest.approx(
        4.238304830357706e-70, rel=1e-6
    )


def test_all_cases_at_once_vectorised() -> None:
    # The same engine, batched: stacking the cases reproduces the one-at-a-time results.
    a = Moments(*np.array([[3407, 1396.87, 52377.9767], [3000, 1396.87, 52377.9767]]).T)
    b = Moments(*np.array([[3461, 2422.7, 134698.29], [3461, 2422.7, 134698.29]]).T)
    r = welch_test(a, b)
    np.testing.assert_allclose(r.p_value, [0.020158402643587037, 2 * 0.03554272489873023])
