"""The classical Fig. 9 rows give bit-identical records whatever the CPU dispatch (issue 8's rule for
every result): they compute in float64 through torch and MKL, which pick kernels by CPU feature, so
each row is fitted here under this CPU's own dispatch and again with torch's kernels held at AVX2
(ATEN_CPU_CAPABILITY) and MKL's at AVX2 (MKL_ENABLE_INSTRUCTIONS) -- what an AVX2-only machine of
this kind runs -- and every number of the two records must agree. (The networks use the C kernel,
tested across build targets in tests/test_fast_layered.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lenet_repro.records import numbers_of

pytestmark = [pytest.mark.data, pytest.mark.slow]

ROWS = ("linear", "deslant-linear", "pairwise-linear", "knn-euclidean", "pca-quadratic", "rbf-linear",
        "tangent-distance", "svm-poly-4")
AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}


def _fit(row: str, out, env_extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in AVX2}
    env.update(env_extra)
    cmd = [sys.executable, "-m", "reports.cli", "train", row, "--seed", "1", "--train-subset", "3000",
           "--test-subset", "1000", "--out-dir", str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(out / "result.json") as f:
        return json.load(f)


@pytest.mark.parametrize("row", ROWS)
def test_a_classical_row_computes_the_same_record_under_avx2_dispatch(row, tmp_path):
    native = _fit(row, tmp_path / "native", {})
    held = _fit(row, tmp_path / "avx2", AVX2)
    assert numbers_of(native) == numbers_of(held)
    assert native["final"]["test_misses"] > 0  # a real fit on real digits, not an empty record
