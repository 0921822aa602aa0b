"""Our Captum methods through Captum's own test configurations (``captum.testing``, shipped in the
wheel): every config in which Captum checks ``Saliency`` on one input tensor, with its targets, on
the plain model, under ``nn.DataParallel`` and as JIT-traced and scripted models."""
import pytest
import torch
from captum.attr import NoiseTunnel, Saliency

pytest.importorskip("captum.testing", reason="Captum ships its own test configurations in its wheel from 0.8 on")
from captum.testing.attr.helpers.gen_test_utils import parse_test_config  # noqa: E402
from captum.testing.attr.helpers.test_config import config  # noqa: E402

from art_reps.captum import FeatureVisualization, RepresentationSensitivity


def _single_tensor(case) -> bool:
    args = case["attribute_args"]
    return (Saliency in case["algorithms"] and isinstance(args["inputs"], torch.Tensor) and "layer" not in case
            and set(args) <= {"inputs", "target"})


CASES = [case for case in config if _single_tensor(case)]
WRAPS = {
    "plain": lambda model, x: model,
    "data_parallel": lambda model, x: torch.nn.DataParallel(model),
    "jit_trace": lambda model, x: torch.jit.trace(model, x),
    "jit_script": lambda model, x: torch.jit.script(model),
}


def test_captums_configs_are_found():
    assert len(CASES) >= 3, [c["name"] for c in CASES]


@pytest.mark.parametrize("wrap", list(WRAPS))
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_class_sensitivity_is_saliency_on_captums_configs(case, wrap):
    _, model, args, _, _, _ = parse_test_config(case)
    model = model.eval()
    try:
        wrapped = WRAPS[wrap](model, args["inputs"])
    except Exception as e:  # noqa: BLE001 - a model Captum's own JIT tests also skip
        pytest.skip(f"{case['name']} cannot be {wrap}: {type(e).__name__}")
    ours = RepresentationSensitivity(wrapped).attribute(args["inputs"], target=args.get("target"), abs=True)
    theirs = Saliency(model).attribute(args["inputs"], target=args.get("target"), abs=True)
    assert torch.allclose(ours, theirs, atol=1e-5), case["name"]


def test_hooks_are_removed_when_an_error_passes_through():
    model = next(c for c in CASES)["model"].eval()
    x = next(c for c in CASES)["attribute_args"]["inputs"]
    hooks = lambda: sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())  # noqa: E731
    before = hooks()
    for method in (RepresentationSensitivity(model), FeatureVisualization(model, "", fake_relu=False)):
        with pytest.raises(ValueError):
            method.attribute(x, target=10_000)
        assert hooks() == before


def test_noise_tunnel_over_our_method_on_a_captum_model():
    case = next(c for c in CASES)
    model, x = case["model"].eval(), case["attribute_args"]["inputs"]
    torch.manual_seed(0)
    out = NoiseTunnel(RepresentationSensitivity(model)).attribute(x, nt_samples=3, stdevs=0.1, target=0)
    torch.manual_seed(0)
    theirs = NoiseTunnel(Saliency(model)).attribute(x, nt_samples=3, stdevs=0.1, target=0, abs=False)
    assert torch.allclose(out, theirs, atol=1e-6)
