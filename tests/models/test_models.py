"""The model registry: DESED baseline fidelity, shapes, the student budget, and the properties
methods rely on (determinism, functional_call, deepcopy, attention weights)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.func import functional_call

from sedbench.errors import ConfigError
from sedbench.models import ModelOutput, build_model, freq_pools, model_names

BUDGET = 370_806  # one third of the DCASE baseline's 1,112,420
RESOLUTIONS = [(64, 313, 78), (128, 626, 156)]  # quick and DCASE front ends: (n_mels, T, T_out)


def built(name: str, n_mels: int = 64, **kwargs):
    torch.manual_seed(0)
    return build_model(name, n_mels=n_mels, n_classes=10, **kwargs).eval()


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_registry_lists_every_model():
    assert set(model_names()) >= {"crnn", "crnn-small", "se-crnn", "crnn-large", "transformer", "cnn"}


@pytest.mark.parametrize("n_mels", [64, 128])
def test_crnn_is_the_dcase_baseline(n_mels):
    model = built("crnn", n_mels)
    assert n_params(model) == 1_112_420
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 32, 64, 128, 128, 128, 128]
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(bn.eps == 0.001 and bn.momentum == 0.99 for bn in bns)
    assert model.rnn.hidden_size == 128 and model.rnn.num_layers == 2 and model.rnn.bidirectional


def test_crnn_weak_head_is_desed_attention_pooling():
    model = built("crnn")
    out = model(torch.rand(2, 64, 313))
    context = out.features["context"]
    strong = torch.sigmoid(model.head.dense(context))
    sof = torch.softmax(model.head.dense_softmax(context), dim=-1).clamp(1e-7, 1)
    weak = (strong * sof).sum(1) / sof.sum(1)
    torch.testing.assert_close(torch.sigmoid(out.clip_logits), weak, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(out.frame_logits, model.head.dense(context))


@pytest.mark.parametrize("n_mels", [40, 64, 80, 96, 128, 256])
def test_frequency_pooling_ends_at_one_bin(n_mels):
    size = n_mels
    for p in freq_pools(n_mels, 7):
        size //= p
    assert size == 1
    assert freq_pools(128, 7) == [2] * 7
    assert freq_pools(64, 7) == [2] * 6 + [1]


@pytest.mark.parametrize("name", ["crnn", "crnn-small", "se-crnn", "crnn-large", "transformer", "cnn"])
@pytest.mark.parametrize("n_mels,frames,frames_out", RESOLUTIONS)
def test_output_contract(name, n_mels, frames, frames_out):
    kwargs = {"width": 0.5, "rnn_hidden": 32} if name == "crnn-large" else {}
    model = built(name, n_mels, **kwargs)
    with torch.no_grad():
        out = model(torch.rand(1, n_mels, frames))
    assert isinstance(out, ModelOutput)
    assert out.frame_logits.shape == (1, frames_out, 10)
    assert out.clip_logits.shape == (1, 10)
    for key in ("cnn", "context"):
        assert out.features[key].shape[:2] == (1, frames_out)
    assert torch.isfinite(out.frame_logits).all() and torch.isfinite(out.clip_logits).all()


@pytest.mark.parametrize("name", ["crnn-small", "se-crnn"])
@pytest.mark.parametrize("n_mels", [64, 128])
def test_students_fit_one_third_of_the_baseline(name, n_mels):
    n = n_params(built(name, n_mels))
    assert 250_000 <= n <= BUDGET


def test_teachers_are_configurable_and_bigger_than_students():
    student = n_params(built("se-crnn"))
    assert n_params(built("crnn-large")) > 3 * student
    assert n_params(built("crnn-large", width=1.0, rnn_hidden=128)) == 1_112_420  # width 1 is the baseline
    small = built("transformer", stem_channels=(8, 16), dim=32, depth=1, heads=2)
    assert n_params(small) < n_params(built("transformer"))
    assert n_params(built("cnn", width=0.5, context_layers=1)) < n_params(built("cnn"))


def test_se_crnn_has_se_and_tfwse_in_every_block():
    model = built("se-crnn")
    names = [n for n, _ in model.cnn.cnn.named_children()]
    assert sum(n.startswith("tfwse") for n in names) == 7


def test_transformer_attention_weights():
    model = built("transformer", stem_channels=(8, 16), dim=32, depth=2, heads=4)
    x = torch.rand(2, 64, 313)
    with torch.no_grad():
        fast = model(x)
        slow = model(x, return_attention=True)
    att = slow.features["attention"]
    assert len(att) == 2 and att[0].shape == (2, 4, 78, 78)
    torch.testing.assert_close(att[0].sum(-1), torch.ones(2, 4, 78))
    # the explicit softmax path and scaled_dot_product_attention compute the same thing
    torch.testing.assert_close(fast.frame_logits, slow.frame_logits, rtol=1e-4, atol=1e-5)
    assert slow.features["embedding"].shape == (2, 78, 32)
    assert "attention" not in fast.features


def test_transformer_glu_stem_is_the_baseline_cnn_in_front_of_the_encoder():
    # the cnn teacher's front-end: same blocks and output frames as the plain stem, gated convolutions
    model = built("transformer", stem="glu", stem_channels=(8, 16, 16), dim=32, depth=1, heads=2)
    names = [n for n, _ in model.stem.cnn.cnn.named_children()]
    assert [n for n in names if n.startswith("glu")] == ["glu0", "glu1", "glu2"]
    with torch.no_grad():
        out = model(torch.rand(2, 64, 313), return_attention=True)
    assert out.frame_logits.shape == (2, 78, 10) and out.features["embedding"].shape == (2, 78, 32)
    assert out.features["attention"][0].shape == (2, 2, 78, 78)


def test_unknown_model_and_option_are_config_errors():
    with pytest.raises(ConfigError, match="unknown model 'nope'; choose one of"):
        build_model("nope")
    with pytest.raises(ConfigError, match="has no option widht"):
        build_model("crnn-large", widht=2)


@pytest.mark.parametrize("kwargs, reason", [
    ({"dim": -4}, "RuntimeError: Trying to create tensor with negative dimension -4"),
    ({"dim": 32, "heads": 3}, "ValueError: transformer width 32 is not divisible by 3 heads"),
    ({"stem": "resnet"}, "ValueError: transformer stem 'resnet' is not one of conv, glu"),
])
def test_a_value_torch_refuses_is_one_line_naming_the_options(kwargs, reason):
    # torch's own error (many lines for some) would otherwise surface as a traceback from the CLI
    with pytest.raises(ConfigError) as err:
        build_model("transformer", n_mels=32, **kwargs)
    message = str(err.value)
    assert message.startswith("model 'transformer' cannot be built with ")
    assert reason in message and "\n" not in message
    assert all(f"{k}={v!r}" in message for k, v in kwargs.items())


@pytest.mark.parametrize("name", ["se-crnn", "transformer", "cnn"])
def test_deterministic_on_cpu(name):
    kwargs = {"stem_channels": (8, 16), "dim": 32, "depth": 1} if name == "transformer" else {}
    x = torch.rand(2, 64, 313)
    a, b = built(name, **kwargs), built(name, **kwargs)
    for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q)
    a.train(), b.train()
    torch.manual_seed(1)
    out_a = a(x).frame_logits
    torch.manual_seed(1)
    out_b = b(x).frame_logits
    assert torch.equal(out_a, out_b)


@pytest.mark.parametrize("name", ["crnn-small", "se-crnn", "transformer"])
def test_functional_call_and_deepcopy(name):
    kwargs = {"stem_channels": (8, 16), "dim": 32, "depth": 1} if name == "transformer" else {}
    model = built(name, **kwargs)
    x = torch.rand(1, 64, 313)
    params = dict(model.named_parameters())
    with torch.no_grad():
        ref = model(x).frame_logits
        same = functional_call(model, params, (x,)).frame_logits
    torch.testing.assert_close(same, ref)
    # gradients flow through functional_call to the substituted tensors (needed by takd)
    scaled = {k: v.detach() * 0.9 for k, v in params.items()}
    for v in scaled.values():
        v.requires_grad_(True)
    out = functional_call(model, scaled, (x,)).frame_logits
    out.sum().backward()
    assert all(v.grad is not None for k, v in scaled.items() if "dense_softmax" not in k)
    assert not torch.allclose(out.detach(), ref)

    clone = copy.deepcopy(model)
    with torch.no_grad():
        torch.testing.assert_close(clone(x).frame_logits, ref)
        next(clone.parameters()).add_(1.0)
    assert not torch.equal(next(clone.parameters()), next(model.parameters()))
    assert clone.model_name == name


def test_se_crnn_skip_path_reaches_the_heads_around_the_bigru():
    # with the recurrence silenced, only the skip path can carry the CNN's output to the heads
    torch.manual_seed(0)
    x = torch.randn(2, 64, 100)
    for skip, expect_signal in ((True, True), (False, False)):
        model = built("se-crnn", 64, skip=skip).eval()
        with torch.no_grad():
            for p in model.rnn.parameters():
                p.zero_()
            out = model(x)
        varies = out.frame_logits.std(dim=1).max().item() > 1e-6  # frame logits change over time
        assert varies == expect_signal
    assert n_params(built("se-crnn", 64)) - n_params(built("se-crnn", 64, skip=False)) == 64 * 128 + 128


@pytest.mark.parametrize("n_mels,frames,frames_out", RESOLUTIONS)
def test_se_crnn_stem_stride_keeps_the_output_frames_and_halves_the_first_blocks(n_mels, frames, frames_out):
    seen = {}
    default, cheap = built("se-crnn", n_mels), built("se-crnn", n_mels, stem_stride=2, rnn_layers=1)
    assert default.cnn.cnn.conv0.stride == (1, 1) and default.rnn.num_layers == 2  # the default student
    for model in (default, cheap):
        model.cnn.cnn.glu0.register_forward_hook(lambda m, i, out, model=model: seen.__setitem__(id(model), out.shape))
        with torch.no_grad():
            out = model(torch.rand(1, n_mels, frames))
        assert out.frame_logits.shape == (1, frames_out, 10)
    assert seen[id(cheap)][2] == (frames + 1) // 2 and seen[id(default)][2] == frames
    assert 250_000 <= n_params(cheap) < n_params(default)
    for t in (frames + 1, frames + 2, frames + 3):  # any length: T // 4 frames, as the labels have
        assert cheap(torch.rand(1, n_mels, t)).frame_logits.shape[1] == t // 4
    with pytest.raises(ConfigError, match="stem_stride must be one of 1, 2"):
        built("se-crnn", n_mels, stem_stride=4)
