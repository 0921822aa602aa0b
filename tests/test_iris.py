"""IRI losses (Nanda et al.), perceptual distances and alignment scores."""
import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

import art_reps
from art_reps.core import objectives as O
from art_reps.core.iris import HUMAN_PRIORS, LOSSES, iri_objective
from art_reps.distances import JudgeDistance, lpips_distance, ssim, ssim_distance
from art_reps.metrics import alignment_hits, alignment_score, bootstrap_ci, metamer_success, spearman
from conftest import assert_unchanged, snapshot


@pytest.fixture(scope="module")
def digits():
    return art_reps.data.digits_on_textures("test")[:6]


def test_ssim_matches_scikit_image(digits):
    x = digits.images
    y = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    ref = [structural_similarity(a.permute(1, 2, 0).numpy(), b.permute(1, 2, 0).numpy(), gaussian_weights=True,
                                 sigma=1.5, data_range=1.0, channel_axis=2) for a, b in zip(x, y)]
    assert ssim(x, y).tolist() == pytest.approx(ref, abs=1e-5)
    assert ssim_distance(x, x).abs().max() < 1e-6


def test_judge_distance_is_zero_on_itself_grows_with_change_and_has_gradients(digits):
    d = JudgeDistance()
    x = digits.images
    near = (x + 0.02 * torch.randn_like(x)).clamp(0, 1)
    far = (x + 0.3 * torch.randn_like(x)).clamp(0, 1)
    assert d(x, x).abs().max() < 1e-6
    assert (d(x, near) < d(x, far)).all()
    leaf = near.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(d(leaf, x).sum(), leaf)
    assert torch.isfinite(g).all() and g.abs().sum() > 0


def test_lpips_without_the_package_says_what_to_do():
    try:
        import lpips  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install lpips.*ssim_distance and JudgeDistance"):
            lpips_distance()


def test_human_prior_weights_are_nandas():
    target = torch.ones(1, 4)
    acts = {"r": torch.zeros(1, 4)}  # relative distance 1
    x = torch.full((1, 3, 8, 8), 0.5)
    x[..., 4:] = 0.75
    tv = O.total_variation(2.0, per_pixel=False)(acts, x).item()
    l1 = O.alpha_norm(1.0, center=0.5)(acts, x).item()
    bl = O.blur(3)(acts, x).item()
    for loss, (w_reg, w_tv, w_blur, w_l1, w_l6) in HUMAN_PRIORS.items():
        l6 = x.abs().pow(6).sum().pow(1 / 6).item()
        expected = w_reg + w_tv * tv + w_blur * bl + w_l1 * l1 + w_l6 * l6
        assert iri_objective(loss, "r", target)(acts, x).item() == pytest.approx(expected, rel=1e-5), loss
    assert HUMAN_PRIORS["freq"] == (10.0, 5e-4, 5e-4, 5e-5, 0.0)


def test_total_variation_global_and_per_pixel_differ_for_beta_other_than_2():
    x = torch.zeros(1, 1, 4, 4)
    x[..., 2:] = 1.0
    assert O.total_variation(2.0)({}, x).item() == pytest.approx(O.total_variation(2.0, per_pixel=False)({}, x).item())
    # three edge pixels of squared gradient 1: per pixel sum 1^0.5 * 3 = 3; global (3)^0.5
    assert O.total_variation(1.0)({}, x).item() == pytest.approx(3.0, rel=1e-4)
    assert O.total_variation(1.0, per_pixel=False)({}, x).item() == pytest.approx(3 ** 0.5, rel=1e-4)


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_moves_toward_the_target_representation(net, digits, loss):
    net.eval()
    before = snapshot(net)
    rep = art_reps.Representation(net, "avgpool")
    start = art_reps.core.make_start("noise", digits.images.shape)
    res = art_reps.iris(net, digits.images, layer="avgpool", loss=loss, start=start, steps=30,
                        distance=ssim_distance)
    reg = O.inversion("avgpool", rep(digits.images)["avgpool"])
    assert (res.losses < res.history[0]).all(), loss
    if loss != "mahendran":  # on an untrained net its image priors outweigh the squared distance
        assert (reg(rep(res.images), res.images) < reg(rep(start), start)).all(), loss
    assert res.images.min() >= 0 and res.images.max() <= 1 and torch.isfinite(res.images).all()
    assert_unchanged(before, net)


def test_mahendran_moves_toward_the_target_on_a_trained_model(digits):
    model = art_reps.load_model("l2_eps0.25")
    rep = art_reps.Representation(model, "avgpool")
    start = art_reps.core.make_start("noise", digits.images.shape)
    res = art_reps.iris(model, digits.images, layer="avgpool", loss="mahendran", start=start, steps=60)
    reg = O.inversion("avgpool", rep(digits.images)["avgpool"])
    assert reg(rep(res.images), res.images).mean() < 0.7 * reg(rep(start), start).mean()


def test_adversarial_regulariser_pushes_the_distance_up(net, digits):
    net.eval()
    start = art_reps.core.make_start("noise", digits.images.shape)
    plain = art_reps.iris(net, digits.images, layer="avgpool", start=start, steps=40)
    adv = art_reps.iris(net, digits.images, layer="avgpool", loss="adversarial", start=start, steps=40,
                        distance=ssim_distance, lam=5.0)
    assert ssim_distance(adv.images, digits.images).mean() > ssim_distance(plain.images, digits.images).mean()
    toward_seed = art_reps.iris(net, digits.images, layer="avgpool", loss="adversarial", start=start, steps=40,
                                distance=ssim_distance, lam=-5.0, reference="seed")
    assert ssim_distance(toward_seed.images, start).mean() < ssim_distance(plain.images, start).mean()


def test_iri_bad_arguments(net, digits):
    with pytest.raises(ValueError, match="loss must be one of"):
        art_reps.iris(net, digits.images, layer="avgpool", loss="lpips")
    with pytest.raises(ValueError, match="needs distance="):
        art_reps.iris(net, digits.images, layer="avgpool", loss="adversarial", steps=2)
    with pytest.raises(ValueError, match="lam must be 'auto' or a finite number"):
        art_reps.iris(net, digits.images, layer="avgpool", loss="adversarial", distance=ssim_distance, lam="big",
                      steps=2)
    with pytest.raises(ValueError, match="reference must be"):
        art_reps.iris(net, digits.images, layer="avgpool", loss="adversarial", distance=ssim_distance,
                      reference="mean", steps=2)


def test_alignment_score_on_constructed_iris():
    g = torch.Generator().manual_seed(0)
    targets, seeds = torch.rand(40, 3, 16, 16, generator=g), torch.rand(40, 3, 16, 16, generator=g)
    iris = torch.cat([(0.9 * targets[:30] + 0.1 * seeds[:30]), (0.1 * targets[30:] + 0.9 * seeds[30:])])
    hits = alignment_hits(iris, targets, seeds, ssim_distance)
    assert hits.tolist() == [True] * 30 + [False] * 10
    scores = alignment_score(iris, targets, seeds, {"ssim": ssim_distance, "l2": lambda a, b: (a - b).flatten(1).norm(dim=1)})
    assert scores["ssim"]["score"] == scores["l2"]["score"] == scores["mean"]["score"] == 0.75
    assert scores["mean"]["low"] < 0.75 < scores["mean"]["high"] and scores["mean"]["n"] == 40
    # the interval narrows with more data: a binomial proportion's width shrinks like 1/sqrt(n)
    lo, hi = bootstrap_ci(torch.tensor([1.0] * 300 + [0.0] * 100))
    assert hi - lo < scores["mean"]["high"] - scores["mean"]["low"]
    with pytest.raises(ValueError, match="distances must name"):
        alignment_score(iris, targets, seeds, {})


def test_spearman_and_metamer_success(digits):
    a = torch.tensor([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]])
    assert spearman(a, torch.tensor([[2.0, 4.0, 8.0, 16.0], [4.0, 3.0, 2.0, 1.0]])).tolist() == pytest.approx([1, -1])
    model = art_reps.load_model("l2_eps0.25")
    test = art_reps.data.digits_on_textures("test")
    same = metamer_success(model, test.images[:4], test.images[:4], layer="avgpool", null_images=test.images[:200])
    assert same["success"] == 1.0 and same["rho"] == pytest.approx([1.0] * 4)
    noise = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    fail = metamer_success(model, noise, test.images[:4], layer="avgpool", null_images=test.images[:200])
    assert fail["above_null"] == 0.0 and 0 < fail["null_max"] < 1
