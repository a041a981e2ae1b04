#!/usr/bin/env python3
"""Writes test/fixtures/stats.json: reference values for switchyard/stats, from SciPy.

Run: python3 scripts/generate-stats-fixtures.py   (or npm run fixtures:stats)
Needs numpy and scipy; CI does not, it reads the committed JSON.

How each reference is computed (independently of switchyard's formulas where SciPy has
an implementation; as the documented closed form where it has none):
- proportionTest.pValue: scipy.stats.chi2_contingency on the 2x2 table, correction=False
  (Pearson's chi-square equals the pooled two-proportion z-test squared). z is
  sign(diff) * sqrt(chi2). The unpooled Wald CI and the delta-method lift CI are the
  closed forms with scipy.stats.norm.ppf (SciPy has no two-proportion test).
- meanTest: scipy.stats.ttest_ind_from_stats(..., equal_var=False) for t and p; df by
  Welch-Satterthwaite; CI with scipy.stats.t.ppf. Sums of values scaled by 1e100 or 1e-100
  (scaled_mean_case): SciPy on the unscaled values, the interval scaled (t, df, p do not
  depend on the scale; SciPy's own df overflows there). relativeLift: the delta-method closed
  form with scipy.stats.norm.ppf, as for proportions.
- srmTest: scipy.stats.chisquare(f_obs, f_exp).
- sequentialSrm: the Dirichlet-multinomial Bayes factor of Lindon and Malek (2022) written with
  scipy.special.gammaln (ln G(A) - ln G(A + n) + sum ln G(a_i + c_i) - ln G(a_i) - sum c_i ln p_i,
  a_i = concentration p_i), where switchyard chains two-argument betaln: same quantity, other route.
- adjustPValues: bh and by with scipy.stats.false_discovery_control; bonferroni and holm
  (not in SciPy) by their definitions.
- sampleSize / power: the closed forms (Fleiss 4.2; two-sample z) with scipy.stats.norm.
- bayesProportion: P(T > C) and the expected losses by scipy.integrate.quad of
  f_T(x) F_C(x) and f_T(t) E[(C - t)+] over the treatment posterior's support (points at
  its mean), epsabs 1e-14; with a posterior parameter below 1 (unbounded density), of
  F_C(Q_T(u)) and E[(C - t)+] at t = Q_T(u) over u in (0, 1); credible intervals by
  scipy.stats.beta.ppf.
- bayesMean: closed forms with scipy.stats.norm.
- cuped: from raw numpy data (seeded): theta = cov(X, Y) / var(X) pooled, adjusted
  Y' = Y - theta (X - mean X), scipy.stats.ttest_ind(equal_var=False) on Y'.
- msprt: the mixture likelihood ratio and confidence sequence of Johari et al. (2017),
  evaluated in numpy (SciPy has no mSPRT).
"""
import json
import math
import pathlib
import platform

import numpy as np
import scipy
from scipy import integrate, stats

ALPHA = 0.05


def proportion_case(nc, xc, nt, xt, alpha=ALPHA):
    pc, pt = xc / nc, xt / nt
    diff = pt - pc
    table = np.array([[xc, nc - xc], [xt, nt - xt]], dtype=float)
    if (table.sum(axis=0) == 0).any():
        chi2, p = 0.0, 1.0
    else:
        chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    z = math.copysign(math.sqrt(chi2), diff) if diff != 0 else 0.0
    se = math.sqrt(pc * (1 - pc) / nc + pt * (1 - pt) / nt)
    crit = stats.norm.ppf(1 - alpha / 2)
    out = {
        "input": {"control": {"n": nc, "conversions": xc}, "treatment": {"n": nt, "conversions": xt}, "alpha": alpha},
        "expected": {"difference": diff, "z": z, "pValue": p, "differenceCI": [diff - crit * se, diff + crit * se]},
    }
    if pc > 0:
        vc, vt = pc * (1 - pc) / nc, pt * (1 - pt) / nt
        lift = pt / pc - 1
        lse = math.sqrt(vt / pc**2 + pt**2 * vc / pc**4)
        out["expected"]["relativeLift"] = [lift, lift - crit * lse, lift + crit * lse]
    else:
        out["expected"]["relativeLift"] = None
    return out


def mean_case(nc, sc, ssc, nt, st, sst, alpha=ALPHA):
    mc, mt = sc / nc, st / nt
    vc = (ssc - sc * mc) / (nc - 1)
    vt = (sst - st * mt) / (nt - 1)
    res = stats.ttest_ind_from_stats(mt, math.sqrt(vt), nt, mc, math.sqrt(vc), nc, equal_var=False)
    a, b = vc / nc, vt / nt
    df = (a + b) ** 2 / (a**2 / (nc - 1) + b**2 / (nt - 1))
    se = math.sqrt(a + b)
    crit = stats.t.ppf(1 - alpha / 2, df)
    diff = mt - mc
    zc = stats.norm.ppf(1 - alpha / 2)
    lift = mt / mc - 1
    lse = math.sqrt(b / mc**2 + mt**2 * a / mc**4)
    return {
        "input": {"control": {"n": nc, "sum": sc, "sumSq": ssc}, "treatment": {"n": nt, "sum": st, "sumSq": sst}, "alpha": alpha},
        "expected": {
            "t": float(res.statistic),
            "pValue": float(res.pvalue),
            "df": df,
            "differenceCI": [diff - crit * se, diff + crit * se],
            "relativeLift": [lift, lift - zc * lse, lift + zc * lse],
        },
    }


def scaled_mean_case(scale, nc, sc, ssc, nt, st, sst, alpha=ALPHA):
    """mean_case with every value multiplied by `scale`. At 1e100 or 1e-100 the textbook
    Welch df, (a + b)^2 / (a^2 / (n_c - 1) + b^2 / (n_t - 1)), overflows or underflows (in SciPy
    too), as does m_c^4 in the lift's delta-method variance; t, df, p and the lift do not depend
    on the scale, so the reference is SciPy at scale 1 with the difference's interval scaled."""
    case = mean_case(nc, sc, ssc, nt, st, sst, alpha)
    case["input"]["control"] = {"n": nc, "sum": sc * scale, "sumSq": ssc * scale * scale}
    case["input"]["treatment"] = {"n": nt, "sum": st * scale, "sumSq": sst * scale * scale}
    case["expected"]["differenceCI"] = [x * scale for x in case["expected"]["differenceCI"]]
    return case


def arm_sums(rng, n, mean, sd):
    x = rng.normal(mean, sd, n)
    return int(n), float(x.sum()), float((x * x).sum())


def srm_case(counts, weights):
    total = sum(counts)
    f_exp = [total * w / sum(weights) for w in weights]
    res = stats.chisquare(counts, f_exp)
    return {"input": {"counts": counts, "weights": weights}, "expected": {"chiSquare": float(res.statistic), "pValue": float(res.pvalue)}}


def sequential_srm_case(counts, weights, concentration=1000.0, previous=None, threshold=0.001):
    from scipy.special import gammaln

    shares = [w / sum(weights) for w in weights]
    log_bf = 0.0
    alphas, cs = [], []
    for c, p in zip(counts, shares):
        if p == 0:
            if c > 0:
                log_bf = math.inf
            continue
        alphas.append(concentration * p)
        cs.append(c)
        log_bf -= c * math.log(p)
    if log_bf != math.inf:
        a_total = sum(alphas)
        log_bf += float(gammaln(a_total) - gammaln(a_total + sum(cs)))
        log_bf += float(sum(gammaln(a + c) - gammaln(a) for a, c in zip(alphas, cs)))
    p_value = min(1.0 if previous is None else previous, 1.0, math.exp(-log_bf))
    options = {"concentration": concentration}
    if previous is not None:
        options["previousPValue"] = previous
    return {
        "input": {"counts": counts, "weights": weights, "options": options},
        # JSON has no infinity: an arm with counts but no share is written as the string "Infinity".
        "expected": {
            "logBayesFactor": "Infinity" if log_bf == math.inf else log_bf,
            "pValue": p_value,
            "mismatch": p_value < threshold,
        },
    }


def correction_case(p):
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    holm = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        holm[idx] = running
    return {
        "input": list(map(float, p)),
        "expected": {
            "bonferroni": list(map(float, np.minimum(1.0, p * m))),
            "holm": list(map(float, holm)),
            "bh": list(map(float, stats.false_discovery_control(p, method="bh"))),
            "by": list(map(float, stats.false_discovery_control(p, method="by"))),
        },
    }


def design_case(metric, baseline, mde, relative=False, sd=None, alpha=0.05, power=0.8):
    delta = abs(baseline) * mde if relative else mde
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    if metric == "proportion":
        p1, p2 = baseline, baseline + delta
        pbar = (p1 + p2) / 2
        n = (za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / delta**2
    else:
        n = 2 * sd**2 * (za + zb) ** 2 / delta**2
    per_arm = math.ceil(n - 1e-9)
    if metric == "proportion":
        achieved = stats.norm.cdf((delta * math.sqrt(per_arm) - za * math.sqrt(2 * pbar * (1 - pbar))) / math.sqrt(p1 * (1 - p1) + p2 * (1 - p2)))
    else:
        achieved = stats.norm.cdf(delta * math.sqrt(per_arm / (2 * sd**2)) - za)
    inp = {"metric": metric, "baseline": baseline, "mde": mde, "relative": relative, "alpha": alpha, "power": power}
    if sd is not None:
        inp["sd"] = sd
    return {"input": inp, "expected": {"perArm": per_arm, "powerAtPerArm": float(achieved)}}


def bayes_prop_case(nc, xc, nt, xt, a0=1.0, b0=1.0, level=0.95):
    C = stats.beta(a0 + xc, b0 + nc - xc)
    T = stats.beta(a0 + xt, b0 + nt - xt)
    Cp = stats.beta(a0 + xc + 1, b0 + nc - xc)
    if min(C.args + T.args) < 1:
        # A posterior parameter below 1: the density is unbounded at an edge, so the
        # integrals are taken over T's quantiles u (bounded integrands) instead of x.
        opts = dict(epsabs=1e-15, epsrel=1e-12, limit=2000)
        p, _ = integrate.quad(lambda u: C.cdf(T.ppf(u)), 0, 1, **opts)
        loss_t, _ = integrate.quad(lambda u: (lambda t: C.mean() * Cp.sf(t) - t * C.sf(t))(T.ppf(u)), 0, 1, **opts)
    else:
        lo, hi = T.ppf(1e-15), T.ppf(1 - 1e-15)
        opts = dict(epsabs=1e-14, epsrel=1e-12, limit=500, points=[T.mean()])
        p, _ = integrate.quad(lambda x: T.pdf(x) * C.cdf(x), lo, hi, **opts)
        loss_t, _ = integrate.quad(lambda t: T.pdf(t) * (C.mean() * Cp.sf(t) - t * C.sf(t)), lo, hi, **opts)
    loss_c = loss_t + T.mean() - C.mean()
    q = [(1 - level) / 2, (1 + level) / 2]
    return {
        "input": {"control": {"n": nc, "conversions": xc}, "treatment": {"n": nt, "conversions": xt}, "prior": {"alpha": a0, "beta": b0}, "credibleLevel": level},
        "expected": {
            "probabilityTreatmentBeats": p,
            "expectedLoss": {"treatment": loss_t, "control": loss_c},
            "controlCI": list(map(float, C.ppf(q))),
            "treatmentCI": list(map(float, T.ppf(q))),
        },
    }


def bayes_mean_case(nc, sc, ssc, nt, st, sst, level=0.95):
    def post(n, s, ss):
        m = s / n
        v = (ss - s * m) / (n - 1)
        return m, math.sqrt(v / n)

    (mc, sdc), (mt, sdt) = post(nc, sc, ssc), post(nt, st, sst)
    m, s = mt - mc, math.hypot(sdc, sdt)
    loss_t = s * stats.norm.pdf(m / s) - m * stats.norm.cdf(-m / s)
    return {
        "input": {"control": {"n": nc, "sum": sc, "sumSq": ssc}, "treatment": {"n": nt, "sum": st, "sumSq": sst}, "credibleLevel": level},
        "expected": {"probabilityTreatmentBeats": float(stats.norm.cdf(m / s)), "expectedLoss": {"treatment": float(loss_t), "control": float(loss_t + m)}},
    }


def bayes_mean_posterior_case(nc, sc, ssc, nt, st, sst, prior=None, level=0.95):
    """bayesMean with a Normal(mean, sd) prior on each arm's mean (None: flat), every output.

    The conjugate update with the sample variance plugged in (Gelman et al. 2.5): precision
    1/sd0^2 + n/s^2, mean (m0/sd0^2 + n xbar/s^2) / precision; a zero sample variance with a
    prior gives the sample mean with sd 0. Intervals by scipy.stats.norm.interval.
    """
    def post(n, s, ss):
        xbar = s / n
        v = max(ss - s * xbar, 0.0) / (n - 1)
        if v == 0:
            return xbar, 0.0
        if prior is None:
            return xbar, math.sqrt(v / n)
        m0, sd0 = prior
        precision = 1 / sd0**2 + n / v
        return (m0 / sd0**2 + n * xbar / v) / precision, math.sqrt(1 / precision)

    arms = [post(nc, sc, ssc), post(nt, st, sst)]
    (mc, sdc), (mt, sdt) = arms
    m, s = mt - mc, math.hypot(sdc, sdt)
    loss_t = s * stats.norm.pdf(m / s) - m * stats.norm.cdf(-m / s)
    ci = [list(map(float, stats.norm.interval(level, loc=mean, scale=sd))) if sd > 0 else [mean, mean] for mean, sd in arms]
    inp = {"control": {"n": nc, "sum": sc, "sumSq": ssc}, "treatment": {"n": nt, "sum": st, "sumSq": sst}, "credibleLevel": level}
    if prior is not None:
        inp["prior"] = {"mean": prior[0], "sd": prior[1]}
    return {
        "input": inp,
        "expected": {
            "control": {"mean": mc, "sd": sdc, "credibleInterval": ci[0]},
            "treatment": {"mean": mt, "sd": sdt, "credibleInterval": ci[1]},
            "probabilityTreatmentBeats": float(stats.norm.cdf(m / s)),
            "expectedLoss": {"treatment": float(loss_t), "control": float(loss_t + m)},
        },
    }


def posterior_summary_case(posterior, level=None):
    """posteriorSummary: the posterior's mean and equal-tailed interval (scipy.stats beta / norm .interval)."""
    if posterior["kind"] == "beta":
        d = stats.beta(posterior["alpha"], posterior["beta"])
    else:
        d = stats.norm(posterior["mean"], posterior["sd"])
    lower, upper = d.interval(0.95 if level is None else level)
    inp = {"posterior": posterior}
    if level is not None:
        inp["level"] = level
    return {"input": inp, "expected": {"mean": float(d.mean()), "lower": float(lower), "upper": float(upper)}}


def stratified_case(rng, strata, level=0.95):
    """stratifiedEffect from raw data: each stratum's arms drawn as 0/1 conversions or normal
    values; the per-stratum difference of means with Welch's variance (numpy var, ddof=1),
    strata with an arm under 2 units skipped, the rest weighted by their units (the
    post-stratification estimator), the z interval and two-sided p with scipy.stats.norm.

    strata: tuples ("conversion", nc, pc, nt, pt) or ("mean", nc, mc, sdc, nt, mt, sdt), label last.
    """
    rows, used, skipped = [], [], []
    for i, spec in enumerate(strata):
        label = spec[-1]
        if spec[0] == "conversion":
            _, nc, pc, nt, pt, _ = spec
            xc, xt = (rng.random(nc) < pc).astype(float), (rng.random(nt) < pt).astype(float)
            arms = [{"n": nc, "conversions": int(xc.sum())}, {"n": nt, "conversions": int(xt.sum())}]
        else:
            _, nc, mc, sdc, nt, mt, sdt, _ = spec
            xc, xt = rng.normal(mc, sdc, nc), rng.normal(mt, sdt, nt)
            arms = [{"n": nc, "sum": float(xc.sum()), "sumSq": float((xc * xc).sum())},
                    {"n": nt, "sum": float(xt.sum()), "sumSq": float((xt * xt).sum())}]
        rows.append({"label": label, "control": arms[0], "treatment": arms[1]})
        if nc < 2 or nt < 2:
            skipped.append(i)
            continue
        used.append((label, xt.mean() - xc.mean(), xt.var(ddof=1) / nt + xc.var(ddof=1) / nc, nc + nt))
    total = sum(u[3] for u in used)
    diff = sum(u[3] / total * u[1] for u in used)
    se = math.sqrt(sum((u[3] / total) ** 2 * u[2] for u in used))
    z = diff / se
    lower, upper = stats.norm.interval(level, loc=diff, scale=se)
    return {
        "input": {"strata": rows, "confidenceLevel": level},
        "expected": {
            "difference": float(diff),
            "standardError": se,
            "interval": [float(lower), float(upper)],
            "z": float(z),
            "pValue": float(2 * stats.norm.sf(abs(z))),
            "strata": [{"label": u[0], "difference": float(u[1]), "standardError": math.sqrt(u[2]), "weight": u[3] / total} for u in used],
            "skipped": skipped,
        },
    }


def cuped_case(rng, n, rho, lift):
    def arm(n, shift):
        x = rng.normal(10, 3, n)
        y = 2 + rho * (x - 10) + rng.normal(0, 3 * math.sqrt(1 - rho**2), n) + shift
        return x, y

    xc, yc = arm(n, 0.0)
    xt, yt = arm(n, lift)
    x_all, y_all = np.concatenate([xc, xt]), np.concatenate([yc, yt])
    theta = np.cov(x_all, y_all, ddof=1)[0, 1] / np.var(x_all, ddof=1)
    adj_c = yc - theta * (xc - x_all.mean())
    adj_t = yt - theta * (xt - x_all.mean())
    res = stats.ttest_ind(adj_t, adj_c, equal_var=False)
    sums = lambda x, y: {"n": int(len(x)), "sumY": float(y.sum()), "sumYSq": float((y * y).sum()), "sumX": float(x.sum()), "sumXSq": float((x * x).sum()), "sumXY": float((x * y).sum())}
    before = np.var(yc, ddof=1) / n + np.var(yt, ddof=1) / n
    after = np.var(adj_c, ddof=1) / n + np.var(adj_t, ddof=1) / n
    return {
        "input": {"control": sums(xc, yc), "treatment": sums(xt, yt)},
        "expected": {"theta": float(theta), "controlMean": float(adj_c.mean()), "treatmentMean": float(adj_t.mean()), "t": float(res.statistic), "pValue": float(res.pvalue), "varianceReduction": float(1 - after / before)},
    }


def msprt_case(nc, xc, nt, xt, tau, alpha=ALPHA):
    pc, pt = xc / nc, xt / nt
    d = pt - pc
    V = pc * (1 - pc) / nc + pt * (1 - pt) / nt
    t2 = tau * tau
    log_lambda = 0.5 * math.log(V / (V + t2)) + t2 * d * d / (2 * V * (V + t2))
    half = math.sqrt(V * (V + t2) / t2 * (2 * math.log(1 / alpha) + math.log((V + t2) / V)))
    return {
        "input": {"control": {"n": nc, "conversions": xc}, "treatment": {"n": nt, "conversions": xt}, "tau": tau, "alpha": alpha},
        "expected": {"likelihoodRatio": math.exp(log_lambda), "pValue": min(1.0, math.exp(-log_lambda)), "confidenceSequence": [d - half, d + half]},
    }


def main():
    rng = np.random.default_rng(20261125)
    rng2 = np.random.default_rng(20261130)
    rng3 = np.random.default_rng(20261131)
    fixtures = {
        "generatedBy": "scripts/generate-stats-fixtures.py",
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__},
        "proportionTest": [
            proportion_case(10000, 1000, 10000, 1100),
            proportion_case(1000, 0, 1000, 0),  # zero conversions in both
            proportion_case(1000, 0, 1000, 7),  # zero in control: lift undefined
            proportion_case(500, 500, 500, 500),  # all converted
            proportion_case(500, 500, 400, 399),
            proportion_case(1, 0, 1, 1),  # n = 1
            proportion_case(10**8, 2 * 10**6, 10**8, 2 * 10**6 + 4000),  # n = 1e8
            proportion_case(1000000, 50000, 2000, 130),  # very unequal arms
            proportion_case(100000, 3, 100000, 12),  # p near 0
            proportion_case(100000, 99990, 100000, 99970),  # p near 1
            proportion_case(2000, 300, 2000, 360, alpha=0.01),
        ],
        "meanTest": [
            mean_case(*arm_sums(rng, 5000, 20.0, 8.0), *arm_sums(rng, 5000, 20.4, 8.5)),
            mean_case(*arm_sums(rng, 2, 1.0, 1.0), *arm_sums(rng, 3, 1.0, 1.0)),
            mean_case(*arm_sums(rng, 100000, 3.0, 1.0), *arm_sums(rng, 300, 3.1, 5.0)),
            mean_case(*arm_sums(rng, 1000000, 50.0, 20.0), *arm_sums(rng, 1000000, 50.05, 20.0), alpha=0.1),
            mean_case(10**8, 2.0 * 10**8, 5.0 * 10**8, 10**8, 2.001 * 10**8, 5.004 * 10**8),
            # values 1, 2, 4 against 3, 5, 6, 9, scaled to where the df's squares leave the doubles
            scaled_mean_case(1e100, 3, 7.0, 21.0, 4, 23.0, 151.0),
            scaled_mean_case(1e-100, 3, 7.0, 21.0, 4, 23.0, 151.0),
        ],
        "srmTest": [
            srm_case([500000, 500000], [50, 50]),
            srm_case([505000, 495000], [50, 50]),
            srm_case([10123, 9877], [1, 1]),
            srm_case([3300, 3350, 3350], [34, 33, 33]),
            srm_case([100, 250, 650], [10, 20, 70]),
            srm_case([900, 100], [50, 50]),
        ],
        "sequentialSrm": [
            sequential_srm_case([5000, 5000], [50, 50]),
            sequential_srm_case([50500, 49500], [50, 50]),
            sequential_srm_case([5250, 4750], [50, 50]),
            sequential_srm_case([3300, 3350, 3350], [34, 33, 33], concentration=100.0),
            sequential_srm_case([120, 260, 620], [10, 20, 70], previous=0.2),
            sequential_srm_case([400, 600, 0], [50, 50, 0]),
            sequential_srm_case([400, 600, 3], [50, 50, 0]),
            sequential_srm_case([10, 10], [1, 3], concentration=10.0),
        ],
        "adjustPValues": [
            correction_case([0.01, 0.04, 0.03, 0.005, 0.5]),
            correction_case([0.001, 0.001, 0.2, 0.9, 0.04, 0.049, 0.0001]),
            correction_case([0.5]),
            correction_case([0.9, 0.95, 0.99]),
        ],
        "sampleSize": [
            design_case("proportion", 0.10, 0.02),
            design_case("proportion", 0.10, 0.05, relative=True),
            design_case("proportion", 0.01, 0.001, alpha=0.01, power=0.9),
            design_case("proportion", 0.5, 0.01),
            design_case("mean", 50.0, 1.0, sd=20.0),
            design_case("mean", 50.0, 0.02, relative=True, sd=20.0, power=0.95),
            # an effect other than 1, so delta squared is not 1 (mutation testing found both above had delta = 1)
            design_case("mean", 50.0, 2.5, sd=20.0),
            design_case("mean", 10.0, 0.1, relative=True, sd=3.0, alpha=0.01, power=0.9),
            design_case("proportion", 0.3, 0.1, relative=True, power=0.9),
        ],
        "bayesProportion": [
            bayes_prop_case(1000, 100, 1000, 120),
            bayes_prop_case(10000, 1000, 10000, 1000),
            bayes_prop_case(100, 0, 100, 0),
            bayes_prop_case(50, 50, 50, 49),
            bayes_prop_case(1000000, 50000, 2000, 130),
            bayes_prop_case(20, 3, 25, 8, a0=0.5, b0=0.5),
            bayes_prop_case(5000, 400, 5000, 380, a0=20, b0=180),
            bayes_prop_case(1000000, 20000, 1000000, 20150),
            # priors below 1 with no or only conversions: a posterior parameter below 1 (audit: P(beat) 0.048 for 0.993)
            bayes_prop_case(10, 0, 10, 1, a0=0.01, b0=0.01),
            bayes_prop_case(1000, 0, 1000, 0, a0=0.5, b0=0.5),
            bayes_prop_case(50, 50, 50, 49, a0=0.5, b0=0.5),
            bayes_prop_case(10, 10, 10, 0, a0=0.2, b0=0.3),
        ],
        "bayesMean": [
            bayes_mean_case(*arm_sums(rng, 5000, 20.0, 8.0), *arm_sums(rng, 5000, 20.3, 8.0)),
            bayes_mean_case(*arm_sums(rng, 30, 5.0, 2.0), *arm_sums(rng, 40, 4.0, 3.0)),
        ],
        "cuped": [cuped_case(rng, 2000, 0.7, 0.2), cuped_case(rng, 5000, 0.3, 0.0), cuped_case(rng, 500, 0.95, 0.5)],
        "msprt": [
            msprt_case(10000, 1000, 10000, 1100, tau=0.01),
            msprt_case(500, 50, 500, 52, tau=0.03),
            msprt_case(200000, 20000, 200000, 20900, tau=0.005, alpha=0.01),
        ],
        # Added after the cases above with a generator of their own, so those stay as they were.
        "bayesMeanPosterior": [
            bayes_mean_posterior_case(*arm_sums(rng2, 40, 5.0, 2.0), *arm_sums(rng2, 60, 5.6, 3.0), level=0.9),
            bayes_mean_posterior_case(*arm_sums(rng2, 30, 5.0, 2.0), *arm_sums(rng2, 40, 4.0, 3.0), prior=(4.5, 0.25)),
            bayes_mean_posterior_case(*arm_sums(rng2, 200, -1.0, 4.0), *arm_sums(rng2, 300, -0.6, 6.0), prior=(-3.0, 1.5), level=0.8),
            bayes_mean_posterior_case(20, 60.0, 180.0, *arm_sums(rng2, 20, 3.5, 1.0), prior=(0.0, 2.0)),
        ],
        "posteriorSummary": [
            posterior_summary_case({"kind": "beta", "alpha": 121.0, "beta": 881.0}),
            posterior_summary_case({"kind": "beta", "alpha": 0.5, "beta": 3.5}, level=0.8),
            posterior_summary_case({"kind": "beta", "alpha": 30.0, "beta": 2.0}, level=0.99),
            posterior_summary_case({"kind": "normal", "mean": 3.25, "sd": 0.4}),
            posterior_summary_case({"kind": "normal", "mean": -1.5, "sd": 2.0}, level=0.5),
        ],
        "stratifiedEffect": [
            stratified_case(rng3, [("conversion", 4000, 0.05, 1000, 0.06, 1), ("conversion", 2500, 0.08, 2500, 0.09, 2), ("conversion", 600, 0.11, 5400, 0.125, 3)], level=0.9),
            stratified_case(rng3, [("mean", 300, 10.0, 3.0, 120, 10.4, 4.0, "mon"), ("mean", 5, 12.0, 3.0, 1, 12.0, 3.0, "tue"), ("mean", 800, 11.0, 2.0, 900, 11.1, 2.5, "wed"), ("mean", 0, 0.0, 1.0, 40, 10.0, 1.0, "thu")]),
            stratified_case(rng3, [("conversion", 50, 0.3, 60, 0.2, "a"), ("conversion", 70, 0.25, 40, 0.2, "b")], level=0.99),
        ],
    }
    out = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures" / "stats.json"
    out.write_text(json.dumps(fixtures, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
