import pytest
import torch

from art_reps.core.geometry import Geometry, L2Ball, LinfBall, make_geometry
from hypothesis import given, settings, strategies as st


@pytest.fixture
def x0():
    return torch.rand(5, 3, 8, 8, generator=torch.Generator().manual_seed(0))


def test_l2_projection_and_step_length(x0):
    ball = L2Ball(0.5)
    g = torch.randn_like(x0)
    step = ball.normalize(g)
    assert torch.allclose(step.flatten(1).norm(dim=1), torch.ones(5), atol=1e-5)
    far = ball.project(x0 + 10 * step, x0)
    norms = (far - x0).flatten(1).norm(dim=1)
    assert (norms <= 0.5 + 1e-5).all() and far.min() >= 0 and far.max() <= 1
    inside = x0 + 0.01 * step
    assert torch.allclose(ball.project(inside.clamp(0, 1), x0), inside.clamp(0, 1))


def test_linf_projection_and_sign_step(x0):
    ball = LinfBall(0.1)
    step = ball.normalize(torch.randn_like(x0))
    assert set(step.unique().tolist()) <= {-1.0, 1.0}
    far = ball.project(x0 + step, x0)
    assert (far - x0).abs().max() <= 0.1 + 1e-6 and far.min() >= 0 and far.max() <= 1


@pytest.mark.parametrize("ball", [L2Ball(0.3), LinfBall(0.05)])
def test_random_start_is_inside_ball_and_seeded(ball, x0):
    a = ball.random_start(x0, torch.Generator().manual_seed(3))
    b = ball.random_start(x0, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.equal(a, x0)
    assert torch.allclose(ball.project(a, x0), a, atol=1e-6)


def test_unconstrained_only_clamps(x0):
    g = Geometry()
    assert torch.equal(g.project(x0 * 3 - 1, x0), (x0 * 3 - 1).clamp(0, 1))


@pytest.mark.parametrize("args", [("l2", None), ("linf", -1.0), ("l2", float("nan")), ("l1", 1.0),
                                  ("unconstrained", 0.5)])
def test_make_geometry_rejects_bad_arguments(args):
    with pytest.raises(ValueError, match="eps|geometry"):
        make_geometry(*args)



@settings(max_examples=40, deadline=None)
@given(eps=st.floats(0.01, 3.0), scale=st.floats(0.0, 10.0), seed=st.integers(0, 2**16), linf=st.booleans())
def test_projection_lands_in_the_ball_and_is_idempotent(eps, scale, seed, linf):
    g = torch.Generator().manual_seed(seed)
    x0 = torch.rand(3, 2, 4, 4, generator=g)
    ball = LinfBall(eps) if linf else L2Ball(eps)
    x = ball.project(x0 + scale * torch.randn(x0.shape, generator=g), x0)
    dist = (x - x0).abs().flatten(1).amax(1) if linf else (x - x0).flatten(1).norm(dim=1)
    assert (dist <= eps + 1e-5).all() and x.min() >= 0 and x.max() <= 1
    assert torch.allclose(ball.project(x, x0), x, atol=1e-6)
