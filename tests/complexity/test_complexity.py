"""Complexity: parameter and MAC counts against known figures, counters that leave no trace,
the student budget, the latency harness and `sedbench profile`."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from sedbench.cli import cli
from sedbench.complexity import STUDENT_MAX_PARAMS, check_budget, count_params, measure
from sedbench.complexity.latency import measure_latency, summarize
from sedbench.complexity.macs import attention_macs, count_macs, gru_macs
from sedbench.errors import TrainingError
from sedbench.models import build_model
from sedbench.models.transformer import ScaledDotProduct

QUICK = {"n_mels": 64, "n_fft": 1024, "win_length": 1024, "hop_length": 512}
QUICK_ARGS = ["--n-mels", "64", "--hop-length", "512", "--n-fft", "1024"]


def test_crnn_matches_the_published_dcase_figures():
    model = build_model("crnn")
    assert count_params(model) == 1_112_420
    counts = count_macs(model, torch.rand(1, 128, 626))
    # DESED_task reports 930.902 M MACs with THOP for 10 s at 128 mels / hop 256
    assert counts["macs_thop"] == pytest.approx(930.902e6, rel=0.05)
    assert counts["macs"] == counts["macs_thop"]
    assert not counts["macs_disagreement"]
    for key in ("macs_ptflops", "macs_flop_counter"):
        assert counts[key] == pytest.approx(counts["macs_thop"], rel=0.10)


def test_one_linear_layer_is_exact_in_every_counter():
    counts = count_macs(nn.Linear(16, 8, bias=False), torch.rand(1, 5, 16))
    assert counts["macs_thop"] == counts["macs_ptflops"] == counts["macs_flop_counter"] == 5 * 16 * 8


class _Attend(nn.Module):
    def __init__(self):
        super().__init__()
        self.attend = ScaledDotProduct()

    def forward(self, x):
        return self.attend(x, x, x)[0]


def test_attention_is_counted_by_every_counter():
    x = torch.rand(1, 2, 20, 8)  # (B, heads, T, d)
    counts = count_macs(_Attend(), x)
    expected = attention_macs(x, x, x)
    assert expected == 2 * 2 * 20 * 20 * 8
    assert counts["macs_thop"] == counts["macs_ptflops"] == counts["macs_flop_counter"] == expected


def test_gru_is_counted():
    gru = nn.GRU(16, 12, num_layers=2, bidirectional=True, batch_first=True)

    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = gru

        def forward(self, x):
            return self.gru(x)[0]

    counts = count_macs(Wrap(), torch.rand(1, 30, 16))
    analytic = gru_macs(gru, 30)
    assert counts["macs_flop_counter"] == analytic  # matmuls only
    for key in ("macs_thop", "macs_ptflops"):  # these add the gates' element-wise work
        assert analytic <= counts[key] <= 1.2 * analytic


def test_counters_leave_the_model_untouched():
    model = build_model("se-crnn", n_mels=64)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    count_macs(model, torch.rand(1, 64, 313))
    after = model.state_dict()
    assert list(after) == list(before)  # no thop total_ops / total_params buffers
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not any(hasattr(m, "total_ops") or hasattr(m, "__flops__") for m in model.modules())
    assert model.training


def test_disagreement_is_flagged(monkeypatch):
    import sedbench.complexity.macs as macs

    monkeypatch.setattr(macs, "macs_ptflops", lambda model, x: 2 * macs.macs_thop(model, x))
    counts = macs.count_macs(nn.Linear(4, 4, bias=False), torch.rand(1, 4))
    assert counts["macs_disagreement"] and "thop vs ptflops" in counts["macs_note"]


def test_budget_refuses_an_oversized_student():
    check_budget(build_model("se-crnn"), max_params=STUDENT_MAX_PARAMS)  # fits
    with pytest.raises(TrainingError) as err:
        check_budget(build_model("crnn"), max_params=STUDENT_MAX_PARAMS)
    assert str(err.value) == (
        "crnn has 1,112,420 parameters, over the student budget of 370,806 (one third of crnn); "
        "choose a smaller student"
    )
    with pytest.raises(TrainingError, match="M MACs per 10 s clip, over the student budget"):
        check_budget(build_model("crnn-small", n_mels=64), max_macs=10_000_000, feature_cfg=QUICK)


def test_summarize():
    stats = summarize([0.001, 0.002, 0.003, 0.004, 0.100])
    assert stats["median_ms"] == pytest.approx(3.0)
    assert stats["iqr_ms"] == pytest.approx(2.0)
    assert stats["runs"] == 5 and stats["cv"] > 1


def test_latency_harness_returns_sane_fields():
    threads = torch.get_num_threads()
    result = measure_latency(build_model("crnn-small", n_mels=64), QUICK, runs=3, warmup=1, cuda=False)
    assert torch.get_num_threads() == threads  # restored
    assert result["cpu_1_thread"]["model"]["threads"] == 1
    for setting in ("cpu_1_thread", "cpu_all_threads"):
        for part in ("model", "with_features"):
            stats = result[setting][part]
            assert stats["runs"] == 3
            assert 0 < stats["min_ms"] <= stats["median_ms"] and stats["iqr_ms"] >= 0 and stats["cv"] >= 0
    assert result["peak_memory_bytes"]["cpu"] > 0


def test_measure_record_section():
    model = build_model("crnn-small", n_mels=64)
    ema = build_model("crnn-small", n_mels=64)
    record = measure(model, QUICK, runs=2, warmup=0, extra_modules={"ema": ema})
    assert record["params"] == count_params(model)
    assert record["params_extra"] == {"ema": record["params"]}
    assert record["input"] == {"n_mels": 64, "n_frames": 313, "clip_seconds": 10.0}
    assert record["model_size_bytes"] > 4 * record["params"]
    assert record["latency_ms"] == record["latency"]["cpu_1_thread"]["model"]["median_ms"]
    json.dumps(record)  # goes into run.json as is


def test_profile_cli_model_name():
    result = CliRunner().invoke(cli, ["profile", "crnn-small", *QUICK_ARGS, "--runs", "2", "--warmup", "0"])
    assert result.exit_code == 0, result.output
    assert "320,868" in result.output and "MACs (ptflops)" in result.output and "latency" in result.output


def test_profile_cli_unknown_target():
    result = CliRunner().invoke(cli, ["profile", "no-such-model"])
    assert result.exit_code == 2
    assert "neither a run directory nor a registered model" in result.output


@pytest.mark.parametrize("layout", ["runner", "state_dict", "full"])
def test_profile_cli_run_directory(tmp_path, layout):
    model = build_model("crnn-small", n_mels=64, n_classes=4)
    config = {"student": {"model": "crnn-small", "max_params": STUDENT_MAX_PARAMS}, "features": QUICK}
    (tmp_path / "run.json").write_text(json.dumps({"config": config}))
    saved = {
        "runner": {"model": "crnn-small", "kwargs": {}, "partitions": [{"state_dict": model.state_dict()}]},
        "state_dict": model.state_dict(),
        "full": model,
    }[layout]
    torch.save(saved, tmp_path / "model.pt")
    result = CliRunner().invoke(cli, ["profile", str(tmp_path), "--no-latency", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["params"] == count_params(model)
    assert record["input"]["n_frames"] == 313
