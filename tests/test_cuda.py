"""On a CUDA device (``python -m pytest -m cuda``; every test skips, saying why, without one):
results on the caller's device, mixed precision, compiled CUDA graphs equal to eager, the
automatic batch size, the adapters, and the batch job over NCCL."""
import json
import subprocess
import sys

import pytest
import torch

import art_reps
from art_reps import zoo
from art_reps.core import Runtime, objectives as O, optimize

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (none found)")]


@pytest.fixture
def model():
    return zoo.load_model(zoo.ROBUST, device="cuda")


@pytest.fixture
def strict_float32():
    """TF32 off (cuDNN and matmuls) while comparing two runs: with it on, convolutions round to
    10-bit mantissas and runs differ by about 1e-3 per pixel; a different start differs by 1e-2."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@pytest.fixture
def targets():
    return art_reps.data.digits_on_textures("test").images[:8]


def test_results_come_back_on_the_callers_device(model, targets, strict_float32):
    on_gpu = art_reps.invert(model, targets.cuda(), layer="avgpool", steps=20)
    on_cpu = art_reps.invert(model, targets, layer="avgpool", steps=20)
    assert on_gpu.images.is_cuda and on_gpu.losses.is_cuda
    assert on_cpu.images.device.type == on_cpu.losses.device.type == "cpu"
    assert torch.allclose(on_gpu.images.cpu(), on_cpu.images, atol=1e-3)  # same start, same steps
    assert next(model.parameters()).is_cuda


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_autocast_reaches_the_float32_loss(model, targets, dtype):
    x = targets.cuda()
    full = art_reps.invert(model, x, layer="avgpool", steps=100)
    mixed = art_reps.invert(model, x, layer="avgpool", steps=100, autocast=dtype)
    assert mixed.images.dtype == torch.float32 and torch.isfinite(mixed.losses).all()
    assert (mixed.losses - full.losses).abs().max() < 0.05


def test_compiled_cuda_graphs_match_eager(model, targets, strict_float32):
    x = targets.cuda()
    objective = O.inversion("avgpool", art_reps.core.Representation(model, "avgpool")(x)["avgpool"])
    start = torch.full_like(x, 0.5)
    eager = optimize(model, objective, start, steps=30, step_size=0.1, geometry="l2", eps=4.0)
    graphs = optimize(model, objective, start, steps=30, step_size=0.1, geometry="l2", eps=4.0,
                      runtime=Runtime(compile={"mode": "reduce-overhead"}))
    # compiled kernels sum in another order: on an H200 single pixels drifted past 2e-3 over the 30
    # steps while the losses agreed to 1e-3; a stale graph buffer gives errors of the loss's size
    assert (eager.images - graphs.images).abs().mean() < 1e-3
    assert torch.allclose(eager.losses, graphs.losses, atol=5e-3)


def test_auto_batch_size_fills_the_gpu_without_running_out():
    import torchvision

    big = torchvision.models.resnet50(num_classes=10).cuda().eval()
    free, total = torch.cuda.mem_get_info()
    chosen = art_reps.core.auto_batch_size(big, ["layer4"], (3, 224, 224))
    x = torch.rand(chosen, 3, 224, 224, device="cuda")
    torch.cuda.reset_peak_memory_stats()
    res = art_reps.invert(big, x, layer="layer4", steps=2, batch_size="auto")
    assert res.images.shape == x.shape
    peak = torch.cuda.max_memory_allocated()
    assert peak < 0.95 * total
    assert peak > 0.4 * free  # most of the 80 % budget is used: the batch is not timid


def test_the_adapters_on_a_cuda_model(model, targets):
    import torchattacks
    from art.estimators.classification import PyTorchClassifier

    from art_reps.art import RepresentationPGD
    from art_reps.captum import RepresentationSensitivity
    from art_reps.torchattacks import RepPGD

    x, y = targets[:4], torch.arange(4)
    clf = PyTorchClassifier(model, torch.nn.CrossEntropyLoss(), (3, 32, 32), 10, clip_values=(0, 1),
                            device_type="gpu")
    adv = RepresentationPGD(clf, layer="avgpool", eps=0.5, max_iter=5).generate(x.numpy())
    assert adv.shape == tuple(x.shape) and abs(adv - x.numpy()).reshape(4, -1).max() > 0
    attack = RepPGD(model, layer="avgpool", eps=0.5, alpha=0.1, steps=5)
    assert isinstance(attack, torchattacks.attack.Attack)
    assert attack(x.cuda(), y.cuda()).is_cuda
    attribution = RepresentationSensitivity(model).attribute(x.cuda(), target=y.tolist())
    assert attribution.is_cuda and attribution.shape == x.shape


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="NCCL needs two GPUs (one rank per GPU)")
def test_the_batch_job_over_nccl(tmp_path):
    out = tmp_path / "nccl"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "art_reps.cli",
           "batch", "invert", "--out", str(out), "--limit", "8", "--batch-size", "2", "--steps", "30",
           "--device", "cuda", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert (summary["world_size"], summary["done_now"]) == (2, 8)


def test_auto_layout_probes_once_and_changes_no_result(model, targets, strict_float32):
    from art_reps.core import memory_layout as layout

    x = targets.cuda()
    auto = art_reps.invert(model, x, layer="avgpool", steps=20)
    assert len(layout._CHOICES[model]) == 1
    plain = art_reps.invert(model, x, layer="avgpool", steps=20, channels_last=False)
    assert torch.allclose(auto.images, plain.images, atol=1e-3)
