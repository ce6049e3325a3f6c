"""Shared fixtures: one tiny benchmark (desed-synth tiny, tiny teachers) per test session."""

from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# the clips' SHA-256 memo (sedbench.data.desed.digest_memo) of the tests' data stays out of ~/.cache
os.environ["SEDBENCH_DIGESTS"] = tempfile.mkdtemp(prefix="sedbench-digests-")


def pytest_configure(config):
    # sedbench's own warnings are errors in tests: a test that expects one says so with pytest.warns
    config.addinivalue_line("filterwarnings", "error::sedbench.errors.SedbenchWarning")
    # dcase_util (under sed_scores_eval, which some tests import before sedbench) imports pkg_resources;
    # sedbench itself imports it with this warning silenced (sedbench/evaluation/metrics.py)
    config.addinivalue_line("filterwarnings", "ignore:pkg_resources is deprecated:UserWarning")


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory):
    return tmp_path_factory.mktemp("tiny-bench")


def make_tiny_bench(root, name: str = "tiny", **overrides):
    from sedbench.benchmark import Benchmark
    from sedbench.config import load_profile

    config = load_profile("tiny", tuple(f"{k}={v}" for k, v in overrides.items()))
    config["data"]["root"] = str(root / "data")
    config["name"] = name
    return Benchmark(config, results_root=root / "results", cache_root=root / "cache", device="cpu",
                     progress=False)


@pytest.fixture(scope="session")
def tiny_bench(tiny_root):
    return make_tiny_bench(tiny_root)


@pytest.fixture(scope="session")
def tiny_teachers(tiny_bench):
    """The tiny profile's three teachers, trained once (a few steps each) and cached."""
    from sedbench.training.fit import train_teacher

    return {name: train_teacher(tiny_bench, name) for name in tiny_bench.config["teachers"]}
