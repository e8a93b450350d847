"""The BG/NBD and Gamma-Gamma module on its own: the published CDNOW fits and the formulas'
known properties."""

from __future__ import annotations

import numpy as np
import pytest

from loyalty.insight import btyd
from tests.insight.cdnow import PUBLISHED, summary


@pytest.fixture(scope="module")
def cdnow():  # type: ignore[no-untyped-def]
    return summary()


def test_bgnbd_reproduces_the_published_cdnow_fit(cdnow):
    x, t_x, age, _ = cdnow
    assert len(x) == 2357
    fit = btyd.fit_bgnbd(x, t_x, age)
    for name, published in PUBLISHED.items():
        assert getattr(fit, name) == pytest.approx(published, rel=0.01), name
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.1)


def test_gamma_gamma_reproduces_the_published_cdnow_fit(cdnow):
    x, _, _, mean_cents = cdnow
    fit = btyd.fit_gamma_gamma(x, mean_cents)
    assert fit.p == pytest.approx(6.25, rel=0.01)
    assert fit.q == pytest.approx(3.74, rel=0.01)
    assert fit.v / 100 == pytest.approx(15.44, rel=0.01)  # dollars; we fit in cents


MODEL = btyd.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=0.0)


def test_p_alive():
    # no repeat purchase: nothing says the customer left
    assert btyd.p_alive(MODEL, [0], [0], [30])[0] == 1.0
    # the same history, a longer silence since: less likely alive
    recent, silent = btyd.p_alive(MODEL, [4, 4], [30, 10], [32, 32])
    assert 0 < silent < recent < 1
    # more purchases over the same span and silence: the silence says more
    assert btyd.p_alive(MODEL, [10], [10], [32])[0] < silent


def test_expected_purchases():
    a_while = btyd.expected_purchases(MODEL, 10, [4], [30], [32])[0]
    longer = btyd.expected_purchases(MODEL, 20, [4], [30], [32])[0]
    assert 0 < a_while < longer
    assert btyd.expected_purchases(MODEL, 0, [4], [30], [32])[0] == pytest.approx(0.0)
    # Fader, Hardie and Lee 2005, section 4: x = 2, t_x = 30.43, T = 38.86, next 39 weeks
    assert btyd.expected_purchases(MODEL, 39, [2], [30.43], [38.86])[0] == pytest.approx(
        1.226, abs=0.005)


def test_expected_average_spend_shrinks_to_the_population_mean():
    model = btyd.GammaGamma(p=6.25, q=3.74, v=15.44, log_likelihood=0.0)
    population = model.p * model.v / (model.q - 1)
    one, many = btyd.expected_average_spend(model, [1, 50], [100.0, 100.0])
    assert population < one < many < 100.0
    assert btyd.expected_average_spend(model, [0], [0.0])[0] == pytest.approx(population)


def test_log_likelihood_is_a_probability_and_peaks_at_the_fit():
    x, t_x, age = np.zeros(1), np.zeros(1), np.array([10.0])
    (p_none,) = np.exp(btyd.bgnbd_log_likelihood([0.243, 4.414, 0.793, 2.426], x, t_x, age))
    assert 0 < p_none < 1
    # a worse parameter set fits CDNOW worse
    xs, txs, ages, _ = summary()
    best = btyd.bgnbd_log_likelihood([0.243, 4.414, 0.793, 2.426], xs, txs, ages).sum()
    worse = btyd.bgnbd_log_likelihood([1.0, 4.414, 0.793, 2.426], xs, txs, ages).sum()
    assert worse < best


def test_nothing_to_fit_is_a_value_error():
    with pytest.raises(ValueError):
        btyd.fit_bgnbd([], [], [])
    with pytest.raises(ValueError):
        btyd.fit_gamma_gamma([0, 0], [0.0, 0.0])
