"""The candidates' models give the same figures however they are batched and threaded.

:func:`tenure.hva.estimate._aipw_batched` splits the candidates into batches (a memory
budget) fitted on up to two threads sharing one design; every candidate's fit is its own, so
one batch on one thread is the reference for any other split (to rounding: a matrix
product's summation order depends on its shape).
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from tenure.hva.estimate import _aipw_batched
from tenure.hva.result import Guards


def _counts(rng: np.random.Generator, c: int, s: int) -> tuple[np.ndarray, ...]:
    """A strata design (intercept, a 4-level factor, a number) and (C, 5, S) arm counts."""
    level = rng.integers(0, 4, s)
    x = np.column_stack([np.ones(s), *(level == k for k in (1, 2, 3)), rng.normal(size=s)])
    pop = rng.integers(20, 80, (c, s)).astype(float)
    treated = rng.binomial(pop.astype(int), rng.uniform(0.1, 0.6, (c, 1))).astype(float)

    def arm(n: np.ndarray) -> np.ndarray:
        seen = rng.binomial(n.astype(int), 0.8).astype(float)
        kept = rng.binomial(seen.astype(int), rng.uniform(0.5, 0.9, (c, 1))).astype(float)
        z = n * rng.normal(size=n.shape)  # the within-stratum index's sums
        return np.stack([n, seen, kept, z, z * seen / np.maximum(n, 1)], axis=1)

    return x, arm(treated), arm(pop - treated)


@pytest.mark.parametrize("threads", [1, 2])
def test_batches_and_threads_change_no_figure(threads: int) -> None:
    x, trt, ctl = _counts(np.random.default_rng(3), c=13, s=60)
    kw = {"method": "aipw", "alpha": 0.05, "guards": Guards()}
    pop = trt + ctl
    whole = _aipw_batched(x, trt, pop, threads=1, budget=2**40, **kw)  # type: ignore[arg-type]
    # A budget of about three candidates' arrays: five batches, shared by the threads.
    split = _aipw_batched(x, trt, pop, threads=threads, budget=3 * 60 * 8 * 32 * threads, **kw)  # type: ignore[arg-type]
    assert np.isfinite(whole.estimate).all() and whole.converged.all()
    for f in fields(whole):
        got, want = getattr(split, f.name), getattr(whole, f.name)
        if np.issubdtype(np.asarray(want).dtype, np.floating):
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=f.name)
        else:
            np.testing.assert_array_equal(got, want, err_msg=f.name)
