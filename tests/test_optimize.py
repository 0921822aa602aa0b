import pytest
import torch

import art_reps
from art_reps.core import L2Ball, Representation, Runtime, optimize, step_halving
from art_reps.core import objectives as O
from art_reps.core import linear_decay, piecewise


def _target(net, images):
    return Representation(net, "avgpool")(images)["avgpool"]


def count_passes(model):
    """Count model forwards and backwards through the input."""
    counts = {"forward": 0, "backward": 0}

    def pre(module, inputs):
        counts["forward"] += 1
        x = inputs[0].view_as(inputs[0])  # a fresh tensor per forward, so each hook fires once
        if x.requires_grad:
            x.register_hook(lambda g: counts.__setitem__("backward", counts["backward"] + 1))
        return (x,)

    return counts, model.register_forward_pre_hook(pre)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_one_forward_and_one_backward_per_step(net, images, optimizer):
    target = _target(net, images)
    counts, handle = count_passes(net)
    optimize(net, O.inversion("avgpool", target), images.flip(0), steps=7, step_size=0.01, optimizer=optimizer)
    handle.remove()
    assert counts == {"forward": 7 + 1, "backward": 7}  # + one gradient-free scoring of the last iterate


def test_target_representations_are_computed_once(net, images):
    counts, handle = count_passes(net)
    from art_reps import invert

    invert(net, images, layer="avgpool", steps=5)
    handle.remove()
    assert counts["forward"] == 1 + 5 + 1


def test_inversion_reduces_the_loss_and_tracks_the_best(net, images):
    net.eval()
    res = optimize(net, O.inversion("avgpool", _target(net, images)), torch.full_like(images, 0.5), steps=60,
                   step_size=0.05)
    assert res.history.shape == (60, 4)
    assert (res.losses < 0.6 * res.history[0]).all()
    assert torch.allclose(res.losses, torch.minimum(res.history.min(0).values, res.losses))
    check = O.inversion("avgpool", _target(net, images))({"avgpool": _target(net, res.images)}, res.images)
    assert torch.allclose(check, res.losses, atol=1e-5)


def test_samples_are_independent_of_the_batch(net, images):
    obj = O.inversion("avgpool", _target(net, images))
    together = optimize(net, obj, torch.full_like(images, 0.5), steps=10)
    alone = optimize(net, O.inversion("avgpool", _target(net, images[:1])), torch.full_like(images[:1], 0.5), steps=10)
    assert torch.allclose(together.images[:1], alone.images, atol=1e-5)


def test_deterministic_under_a_seed(net, images):
    obj = O.inversion("avgpool", _target(net, images))
    kw = dict(steps=5, geometry="l2", eps=0.5, random_start=True, restarts=1)
    a, b = optimize(net, obj, images, seed=3, **kw), optimize(net, obj, images, seed=3, **kw)
    c = optimize(net, obj, images, seed=4, **kw)
    assert torch.equal(a.images, b.images) and not torch.equal(a.images, c.images)


def test_geometry_is_respected(net, images):
    res = optimize(net, O.channel("layer3", 1), images, steps=20, step_size=0.2, geometry=L2Ball(0.3))
    assert ((res.images - images).flatten(1).norm(dim=1) <= 0.3 + 1e-5).all()
    res = optimize(net, O.channel("layer3", 1), images, steps=20, step_size=0.01, geometry="linf", eps=0.02)
    assert (res.images - images).abs().max() <= 0.02 + 1e-6


def test_restarts_never_do_worse_than_a_single_run(net, images):
    obj = O.channel("layer3", 2)
    single = optimize(net, obj, images, steps=5, geometry="l2", eps=0.5, step_size=0.1)
    multi = optimize(net, obj, images, steps=5, geometry="l2", eps=0.5, step_size=0.1, restarts=2)
    assert multi.history.shape == (15, 4)
    assert (multi.losses <= single.losses + 1e-6).all()


def test_tolerance_stops_early(net, images):
    res = optimize(net, O.inversion("avgpool", _target(net, images)), images, steps=100, tol=1e-3)
    assert res.history.shape[0] == 10 and (res.losses <= 1e-3).all()


def test_fourier_parameterisation_maximises_a_channel(net, images):
    res = optimize(net, O.channel("layer3", 0), images, steps=30, step_size=0.05, param="fourier", optimizer="adam")
    assert res.images.min() >= 0 and res.images.max() <= 1
    assert res.losses.mean() < res.history[0].mean()
    with pytest.raises(ValueError, match="geometry='unconstrained'"):
        optimize(net, O.channel("layer3", 0), images, steps=2, param="fourier", geometry="l2", eps=1.0)


def test_schedules():
    assert [step_halving(2)(t) for t in range(5)] == [1, 1, 0.5, 0.5, 0.25]
    assert [piecewise((2, 1.0), (1, 0.1))(t) for t in range(4)] == [1.0, 1.0, 0.1, 0.1]
    assert linear_decay(11, 0.0)(5) == pytest.approx(0.5)


def test_result_is_plain_data_on_the_callers_device(net, images):
    res = optimize(net, O.channel("layer3", 0), images, steps=2)
    assert res.images.device == images.device and res.images.dtype == images.dtype
    assert not (res.images.requires_grad or res.losses.requires_grad or res.history.requires_grad)


def test_autocast_path_runs_and_improves(net, images):
    res = optimize(net, O.inversion("avgpool", _target(net, images)), torch.full_like(images, 0.5), steps=20,
                   runtime=Runtime(autocast=True))
    assert torch.isfinite(res.losses).all() and (res.losses < res.history[0]).all()


def test_layout_probe_keeps_the_faster_layout_and_times_once_per_model_and_shape():
    import time

    from art_reps.core import memory_layout as layout

    calls = []

    def step(x):  # channels_last is made twice as fast
        calls.append(x.is_contiguous(memory_format=torch.channels_last))
        time.sleep(0.002 if calls[-1] else 0.004)

    model = torch.nn.Conv2d(3, 3, 1)
    x = torch.rand(2, 3, 4, 4)
    assert layout.prefers_channels_last(model, step, x) is True
    assert len(calls) == 2 * (layout.PROBE_STEPS + 1)
    assert layout.prefers_channels_last(model, step, x) is True and len(calls) == 2 * (layout.PROBE_STEPS + 1)
    slow = lambda x: time.sleep(0.004 if x.is_contiguous(memory_format=torch.channels_last) else 0.002)  # noqa: E731
    assert layout.prefers_channels_last(model, slow, torch.rand(1, 3, 4, 4)) is False  # another shape: probed anew


def test_auto_layout_does_not_probe_on_the_cpu(net, images, monkeypatch):
    from art_reps.core import memory_layout as layout

    monkeypatch.setattr(layout, "prefers_channels_last", lambda *a, **k: pytest.fail("probed on the CPU"))
    obj = O.channel("layer3", 0)
    auto = optimize(net, obj, images, steps=3)
    assert torch.equal(auto.images, optimize(net, obj, images, steps=3, runtime=Runtime(channels_last=False)).images)


def test_autocast_takes_a_dtype_and_refuses_anything_else(net, images):
    res = optimize(net, O.channel("layer3", 0), images, steps=3, runtime=Runtime(autocast=torch.bfloat16))
    assert res.images.dtype == images.dtype and torch.isfinite(res.losses).all()
    with pytest.raises(TypeError, match="autocast must be True, False, torch.float16 or torch.bfloat16"):
        art_reps.invert(net, images, layer="layer3", steps=3, autocast="fp16")


def test_composed_objective_matches_sum_of_parts(net, images):
    acts = Representation(net, ["layer3"])(images)
    a, b = O.channel("layer3", 0), O.total_variation()
    combined = a - 0.5 * b + 2
    assert torch.allclose(combined(acts, images), a(acts, images) - 0.5 * b(acts, images) + 2)
    assert combined.layers == {"layer3"}


def test_float64_inputs_come_back_float64(net, images):
    res = optimize(net, O.channel("layer3", 0), images.double(), steps=2)
    assert res.images.dtype == torch.float64 and torch.isfinite(res.images).all()


def test_channels_last_is_a_layout_not_a_result(net, images):
    obj = O.inversion("avgpool", _target(net, images))
    fast = optimize(net, obj, torch.full_like(images, 0.5), steps=10, runtime=Runtime(channels_last=True))
    plain = optimize(net, obj, torch.full_like(images, 0.5), steps=10, runtime=Runtime(channels_last=False))
    assert fast.images.is_contiguous() and torch.allclose(fast.images, plain.images, atol=1e-4)
    assert torch.allclose(fast.losses, plain.losses, atol=1e-5)


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/clear_refs"), reason="needs Linux's /proc")
def test_peak_memory_does_not_grow_with_steps():
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parents[1] / "benchmarks" / "peak_memory.py"
    proc = subprocess.run([sys.executable, str(script), "--models", "embedded", "--json"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (row,) = json.loads(proc.stdout)
    assert row["peak_mib"]["10"] > 1  # the graph of one step is measured at all
    assert row["ratio"] < 1.1, row


@pytest.mark.parametrize("compile", [{"backend": "eager"}, pytest.param(True, marks=pytest.mark.slow)])
def test_compiled_step_gives_the_eager_images(net, images, compile):
    obj = O.inversion("avgpool", _target(net, images))
    eager = optimize(net, obj, torch.full_like(images, 0.5), steps=5)
    compiled = optimize(net, obj, torch.full_like(images, 0.5), steps=5, runtime=Runtime(compile=compile))
    assert torch.allclose(compiled.images, eager.images, atol=1e-5)
    assert torch.allclose(compiled.history, eager.history, atol=1e-5)
    assert not net._forward_hooks and all(not m._forward_hooks for m in net.modules())


def test_compile_takes_a_flag_or_arguments(net, images):
    with pytest.raises(TypeError, match="compile must be"):
        art_reps.visualize(net, layer="layer3", feature=0, start=images, steps=1, compile="max-autotune")
    with pytest.raises(TypeError, match="channels_last must be"):
        art_reps.visualize(net, layer="layer3", feature=0, start=images, steps=1, channels_last="yes")


def test_a_representation_carries_how_the_model_is_read(net, images):
    rep = Representation(net, "avgpool", mean=[0.5] * 3, std=[0.25] * 3)
    objective = O.inversion("avgpool", rep(images)["avgpool"])
    start = torch.full_like(images, 0.5)
    via_rep = optimize(rep, objective, start, steps=5)
    public = art_reps.invert(net, images, layer="avgpool", start=start, steps=5, mean=[0.5] * 3, std=[0.25] * 3,
                             step_size=0.05, schedule="constant", fake_relu=False)
    assert torch.allclose(via_rep.images, public.images, atol=1e-6)
    assert not torch.allclose(optimize(net, objective, start, steps=5).images, via_rep.images, atol=1e-4)
    with pytest.raises(TypeError, match="runtime must be an art_reps.core.Runtime"):
        optimize(net, objective, start, steps=1, runtime={"autocast": True})


def test_tqdm_disable_in_the_environment_hides_every_bar(monkeypatch):
    """tqdm lets an explicit disable= win over TQDM_DISABLE; the library's bars ask the environment too."""
    from art_reps.core import bar_disabled
    from art_reps.core.loop import progress_bar

    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert bar_disabled(True)
    with progress_bar(10, Runtime(progress=True), "x") as bar:
        assert bar.disable
    monkeypatch.setenv("TQDM_DISABLE", "0")
    assert not bar_disabled(True) and bar_disabled(False)
