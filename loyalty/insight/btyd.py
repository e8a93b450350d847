"""BG/NBD (Fader, Hardie and Lee 2005, "Counting your customers the easy way") and the
Gamma-Gamma spend model (Fader, Hardie and Lee 2005, "RFM and CLV"; Fader and Hardie 2013).

Pure numerics on numpy/scipy: no database, no web.  Inputs per customer, in one time unit:
``x`` repeat purchases (purchase days after the first), ``t_x`` time of the last purchase since
the first, ``age`` from the first purchase to the end of calibration (the papers' T).  Parameters
are fitted on their logarithms, so the optimiser never leaves the positive half-line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

Array = NDArray[np.float64]


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    v: float
    log_likelihood: float


def _arrays(*values: ArrayLike) -> list[Array]:
    return [np.asarray(v, dtype=np.float64) for v in values]


def bgnbd_log_likelihood(params: ArrayLike, x: ArrayLike, t_x: ArrayLike, age: ArrayLike
                         ) -> Array:
    """Each customer's log-likelihood under BG/NBD with ``params = (r, alpha, a, b)``."""
    r, alpha, a, b = _arrays(params)[0]
    x, t_x, age = _arrays(x, t_x, age)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + age)
    repeat = x > 0
    # B(a+1, b+x-1) / B(a, b+x) = a / (b+x-1); only defined (and only present) when x > 0.
    a4 = np.where(repeat, np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0))
                  - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def fit_bgnbd(x: ArrayLike, t_x: ArrayLike, age: ArrayLike) -> BgNbd:
    """Maximum-likelihood fit; raises ``ValueError`` when there is nothing to fit."""
    x, t_x, age = _arrays(x, t_x, age)
    if x.size == 0:
        raise ValueError("no customers to fit")

    def negative(log_params: Array) -> float:
        return -float(np.sum(bgnbd_log_likelihood(np.exp(log_params), x, t_x, age)))

    best = _minimise(negative, np.zeros(4))
    r, alpha, a, b = np.exp(best.x)
    return BgNbd(float(r), float(alpha), float(a), float(b), -float(best.fun))


def p_alive(model: BgNbd, x: ArrayLike, t_x: ArrayLike, age: ArrayLike) -> Array:
    """P(still active at age | x, t_x, age); 1 for a customer with no repeat purchase."""
    x, t_x, age = _arrays(x, t_x, age)
    return 1.0 / (1.0 + _dropout_odds(model, x, t_x, age))


def _dropout_odds(model: BgNbd, x: Array, t_x: Array, age: Array) -> Array:
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    repeat = x > 0
    log_odds = (np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0))
                + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x)))
    return np.where(repeat, np.exp(log_odds), 0.0)


def expected_purchases(model: BgNbd, t: float, x: ArrayLike, t_x: ArrayLike,
                       age: ArrayLike) -> Array:
    """E[purchases in (age, age + t] | x, t_x, age] (FHL 2005, eq. 10)."""
    x, t_x, age = _arrays(x, t_x, age)
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    z = t / (alpha + age + t)
    head = (a + b + x - 1) / (a - 1)
    bracket = 1.0 - ((alpha + age) / (alpha + age + t)) ** (r + x) * hyp2f1(r + x, b + x,
                                                                         a + b + x - 1, z)
    return head * bracket / (1.0 + _dropout_odds(model, x, t_x, age))


def gamma_gamma_log_likelihood(params: ArrayLike, x: ArrayLike, mean_value: ArrayLike) -> Array:
    """Each customer's log-likelihood of their mean repeat spend; ``params = (p, q, v)``."""
    p, q, v = _arrays(params)[0]
    x, m = _arrays(x, mean_value)
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
            + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(x * m + v))


def fit_gamma_gamma(x: ArrayLike, mean_value: ArrayLike) -> GammaGamma:
    """Fit on customers with at least one repeat purchase and a positive mean spend."""
    x, m = _arrays(x, mean_value)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if x.size == 0:
        raise ValueError("no repeat customers with spend to fit")

    def negative(log_params: Array) -> float:
        return -float(np.sum(gamma_gamma_log_likelihood(np.exp(log_params), x, m)))

    # Start at p = q = 1 and v at the mean spend: from v = 1 on a scale of cents the
    # simplex wanders off towards p -> infinity.
    best = _minimise(negative, np.array([0.0, 0.0, np.log(np.mean(m))]))
    p, q, v = np.exp(best.x)
    return GammaGamma(float(p), float(q), float(v), -float(best.fun))


def expected_average_spend(model: GammaGamma, x: ArrayLike, mean_value: ArrayLike) -> Array:
    """E[M | x, m_x]: the mean spend shrunk towards the population mean; with no repeat
    purchase, the population mean p v / (q - 1)."""
    x, m = _arrays(x, mean_value)
    p, q, v = model.p, model.q, model.v
    return (p * (v + x * m)) / (p * x + q - 1)


def _minimise(negative, start: Array):  # type: ignore[no-untyped-def]
    """Nelder-Mead first (robust from a poor start), then a quasi-Newton polish."""
    rough = minimize(negative, start, method="Nelder-Mead",
                     options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-8})
    polished = minimize(negative, rough.x, method="BFGS")
    best = polished if np.isfinite(polished.fun) and polished.fun <= rough.fun else rough
    if not np.isfinite(best.fun):
        raise ValueError("the likelihood could not be evaluated at any point tried")
    return best
