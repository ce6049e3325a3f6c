"""Device bugs caught without a GPU.

The hot path (a training step of every method, a teacher's step, the teacher cache, prediction,
takd's functional forward) runs under ``FakeTensorMode`` with a fake ``cuda`` device: tensors carry
a device and shapes but no data, and mixing devices raises exactly where a real GPU would. What
cannot run on fake tensors is tested around, on purpose:
- reading a value back on the host (the finiteness check, ``float(loss)``, numpy conversions) has
  no data to read; the step returns tensors and the loop reads them (tested on the CPU);
- a module moves onto the fake device (``module.to``) but not back: its fake parameters refuse the
  tensor swap, so the deployed model's final ``.cpu()`` is left to the CPU tests;
- cuDNN's GRU kernel asks the driver for the device even on fake tensors; the fake test replaces
  ``nn.GRU.forward`` by a stand-in of the same output shape that still reads the GRU's weights (a
  weight left on the wrong device still fails), and the real GRU runs on the CPU tests;
- the autograd engine asks the driver for a device context, so the fake step stops at the loss:
  zero gradients on the device stand in for ``backward`` before clipping, Adam and the EMA step
  (gradients follow the forward's devices; the CPU tests run the real backward).
The autocast branch (bf16) runs for every method on the CPU, for real.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx.experimental.symbolic_shapes import ShapeEnv

from sedbench.methods import SetupContext, build_method, get_method, method_names
from sedbench.models import build_model
from sedbench.runner import method_overrides, train_and_select
from sedbench.teachers import TeacherCache, teacher_dir
from sedbench.training.ema import make_mean_student, update_mean_student
from sedbench.training.engine import TrainConfig, predict_batch, training_step
from sedbench.training.fit import teacher_batch_outputs
from sedbench.training.mixup import Mix, draw_mix

CUDA = torch.device("cuda")


@pytest.fixture(autouse=True)
def gru_stand_in(monkeypatch):
    def forward(self, x, hx=None):
        hidden = self.hidden_size
        step = torch.nn.functional.linear(x.to(self.weight_ih_l0.dtype), self.weight_ih_l0[:hidden])
        out = torch.cat([step] * (2 if self.bidirectional else 1), dim=-1)
        return out, x.new_zeros(self.num_layers * (2 if self.bidirectional else 1), x.shape[0], hidden)

    if not torch.cuda.is_available():
        monkeypatch.setattr(torch.nn.GRU, "forward", forward)


def fake_cuda() -> FakeTensorMode:
    # a ShapeEnv lets data-dependent shapes (nonzero) through as symbols instead of raising
    return FakeTensorMode(allow_non_fake_inputs=True, shape_env=ShapeEnv())


def todays_draw_mix(groups, batch_size, rng, alpha=0.2):
    """The draw_mix of main before the fix: the mix built on the CPU whatever the masks' device."""
    mix = Mix.identity(batch_size)
    for mask in groups:
        rows = torch.nonzero(mask, as_tuple=False).flatten()
        shuffled = rows[torch.from_numpy(rng.permutation(len(rows)))]
        mix.perm[rows] = shuffled
        mix.lam[rows] = max(c := float(rng.beta(alpha, alpha)), 1 - c)
    return mix


def test_todays_mixup_crashes_on_fake_cuda_and_the_fix_does_not():
    masks = [torch.tensor([True, True, False, False, False, False]),
             torch.tensor([False, False, True, True, False, False])]
    # the engine's way: drawn on the host from the batch's CPU masks (real tensors: inside the fake
    # mode even a CPU tensor's .numpy() reads no real data), then moved with the batch
    host_mix = draw_mix(masks, 6, np.random.default_rng(0), prob=1.0, alpha=0.2)
    with fake_cuda():
        cuda_masks = [m.to(CUDA) for m in masks]
        with pytest.raises(RuntimeError, match="device"):
            todays_draw_mix(cuda_masks, 6, np.random.default_rng(0))
        mix = host_mix.to(CUDA)
        assert mix.mixed and mix.perm.device.type == "cuda" and mix.lam.device.type == "cuda"
        x = torch.zeros(6, 3, device=CUDA)
        assert mix.apply(x).device.type == "cuda"


def _fake_step(bench, teachers, method_name: str, model_name: str | None = None, kwargs=None,
               precision: str = "fp32") -> None:
    """One mixed training step + backward + Adam + EMA of a method (or a teacher) on fake cuda."""
    method = build_method(method_name, method_overrides(bench, method_name))
    cfg = TrainConfig.from_dict({**bench.config["training"], "mixup_prob": 1.0, "precision": precision})
    n_mels, n_classes = bench.feature_cfg.n_mels, len(bench.classes)
    name = model_name or bench.student_model
    kwargs = bench.student_kwargs if model_name is None else kwargs
    data = bench.training_data
    indices = next(iter(__import__("sedbench.data.batches", fromlist=["x"]).MixedBatchSampler(
        data, cfg.batch_size, seed=0, steps=1)))
    batch = data.batch(indices)  # real CPU tensors, as the engine gets them
    partition = method.partitions(bench.classes, bench.environments, bench.clip_environments())[0]
    # built on the CPU and moved inside the fake mode, as the engine does (build_student().to(device))
    student = build_model(name, n_mels=n_mels, n_classes=n_classes, **kwargs)
    mean = make_mean_student(student)
    with torch.no_grad():
        example = student.eval()(torch.zeros(2, n_mels, bench.feature_cfg.n_frames))
    setup = SetupContext(student=student, example_output=example, classes=bench.classes,
                         teachers={t: c.info for t, c in teachers.items()},
                         environments=bench.environments, clip_environments=bench.clip_environments(),
                         partition=partition)
    modules = method.setup(setup)
    with fake_cuda():
        student, mean, modules = student.to(CUDA), mean.to(CUDA), modules.to(CUDA)
        caches = {t: _on_fake_cuda(teachers[t]) for t in method.teachers()}
        params = list(student.parameters()) + list(modules.parameters())
        optimizer = torch.optim.Adam(params, lr=1e-3)
        total, terms, ctx = training_step(step=3, batch=batch, student=student, mean_student=mean,
                                          modules=modules, method=method, teachers=caches, cfg=cfg,
                                          rng=np.random.default_rng(0), device=CUDA)
        assert total.device.type == "cuda" and all(v.device.type == "cuda" for v in terms.values())
        for p in params:  # see the module docstring: no autograd engine on a fake device
            p.grad = torch.zeros_like(p)
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        optimizer.step()
        update_mean_student(mean, student, ctx.ema_factor)
        method.on_step_end(ctx)
        frames, clips = predict_batch(mean.eval(), batch["features"], CUDA)
        assert frames.device.type == "cpu" and clips.device.type == "cpu"


def _on_fake_cuda(cache: TeacherCache) -> TeacherCache:
    moved = object.__new__(TeacherCache)
    moved.path, moved.info = cache.path, cache.info
    moved.arrays = {k: v.to(CUDA) for k, v in cache.arrays.items()}
    return moved


def shipped_methods() -> list[str]:
    # the methods sedbench ships: other test files register impostors (test-grows-student) built to
    # fail, and a file collected before this one would put them in these parametrizations
    return [m for m in method_names() if get_method(m).source == "built-in"]


@pytest.fixture(scope="module")
def teacher_caches(tiny_bench, tiny_teachers):
    from sedbench.teachers import load_teacher

    names = {t for m in shipped_methods() for t in build_method(m, method_overrides(tiny_bench, m)).teachers()}
    return {t: load_teacher(tiny_bench, t) for t in names}


@pytest.mark.parametrize("method_name", shipped_methods())
def test_every_method_steps_on_fake_cuda(tiny_bench, teacher_caches, method_name):
    _fake_step(tiny_bench, teacher_caches, method_name)


@pytest.mark.parametrize("teacher", ["crnn-large", "transformer", "cnn"])
def test_teacher_training_step_and_output_cache_on_fake_cuda(tiny_bench, tiny_teachers, teacher):
    spec = dict(tiny_bench.config["teachers"][teacher])
    model = spec.pop("model")
    _fake_step(tiny_bench, {}, "scratch", model_name=model, kwargs=spec)
    n_mels = tiny_bench.feature_cfg.n_mels
    net = build_model(model, n_mels=n_mels, n_classes=len(tiny_bench.classes), **spec).eval()
    with fake_cuda():
        net = net.to(CUDA)
        x = torch.from_numpy(tiny_bench.training_data.features(np.arange(2))).to(CUDA)
        parts = teacher_batch_outputs(net, x, tiny_bench.encoder.n_out_frames)
        assert all(v.device.type == "cuda" for v in parts.values())
    assert teacher_dir(tiny_bench, teacher).is_dir()


@pytest.mark.parametrize("method_name", shipped_methods())
def test_every_method_trains_under_bf16_autocast_on_cpu(tiny_bench, tiny_teachers, method_name, monkeypatch):
    # `precision: bf16` autocasts on CUDA only; here the branch is switched on for the CPU
    monkeypatch.setattr(TrainConfig, "autocast", lambda self, device: self.precision == "bf16")
    result = train_and_select(tiny_bench, method_name, seed=0, training_overrides={"precision": "bf16"})
    assert all(p.deployed.net.training is False for p in result.partitions)
    for part in result.partitions:
        assert all(p.dtype == torch.float32 and p.device.type == "cpu" for p in part.deployed.parameters())
    assert result.validation["psds1"] is not None


def test_the_recurrent_layers_run_in_fp32_under_autocast():
    model = build_model("se-crnn", n_mels=32, n_classes=10)
    seen = {}
    model.rnn.register_forward_hook(lambda m, inp, out: seen.update(dtype=out[0].dtype))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(torch.randn(2, 32, 64))
    assert seen["dtype"] == torch.float32
    assert out.frame_logits.dtype == torch.bfloat16  # the rest of the network still runs in bf16


def test_precision_is_validated():
    from sedbench.errors import ConfigError

    with pytest.raises(ConfigError, match="training.precision"):
        TrainConfig.from_dict({"precision": "fp16"})
