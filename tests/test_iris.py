"""IRI losses (Nanda et al.), perceptual distances and alignment scores."""
import pytest
import torch
from skimage.metrics import structural_similarity

import art_reps
from art_reps.core import objectives as O
from art_reps.core import HUMAN_PRIORS, IRI_LOSSES as LOSSES, iri_objective
from art_reps.metrics.distances import JudgeDistance, lpips_distance, ms_ssim_distance, ssim, ssim_distance
from art_reps.metrics import alignment_hits, alignment_score, mean_interval, metamer_success, spearman
from conftest import assert_unchanged, snapshot


@pytest.fixture(scope="module")
def digits():
    return art_reps.data.digits_on_textures("test")[:6]


def test_ssim_matches_scikit_image(digits):
    x = digits.images
    y = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    ref = [structural_similarity(a.permute(1, 2, 0).numpy(), b.permute(1, 2, 0).numpy(), gaussian_weights=True,
                                 sigma=1.5, data_range=1.0, channel_axis=2, use_sample_covariance=False)
           for a, b in zip(x, y)]
    assert ssim(x, y).tolist() == pytest.approx(ref, abs=1e-3)  # piq's SSIM, scikit-image's definition
    assert ssim_distance(x, x).abs().max() < 1e-6
    assert ms_ssim_distance(x, x).abs().max() < 1e-5 and (ms_ssim_distance(x, y) > 0).all()


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
    """Nanda et al.'s LOSSES_MAPPING: every prior loss weighs the representation term by 10."""
    assert HUMAN_PRIORS == {  # (reg, TV, blur, L1, ||x||_6)
        "freq": (10.0, 5e-4, 5e-4, 5e-5, 0.0),
        "freq_tv": (10.0, 5e-4, 0.0, 0.0, 0.0),
        "freq_blur": (10.0, 0.0, 5e-4, 0.0, 0.0),
        "freq_lp": (10.0, 0.0, 0.0, 5e-5, 0.0),
        "freq_tv_l6": (10.0, 5e-4, 0.0, 0.0, 1.0),
    }
    target = torch.ones(1, 4)
    acts = {"r": torch.zeros(1, 4)}  # relative distance 1
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    tv = ((x[..., 1:, :] - x[..., :-1, :]).pow(2).sum() + (x[..., :, 1:] - x[..., :, :-1]).pow(2).sum()).item()
    l1 = (x - 0.5).abs().sum().item()
    bl = O.blur()(acts, x).item()
    l6 = x.pow(6).sum().pow(1 / 6).item()
    for loss, (w_reg, w_tv, w_blur, w_l1, w_l6) in HUMAN_PRIORS.items():
        expected = w_reg + w_tv * tv + w_blur * bl + w_l1 * l1 + w_l6 * l6
        assert iri_objective(loss, "r", target)(acts, x).item() == pytest.approx(expected, rel=1e-5), loss


def test_blur_is_nandas_centre_weighted_kernel_normalised_at_borders_without_gradient():
    x = torch.rand(2, 3, 6, 7, generator=torch.Generator().manual_seed(1))
    expected = torch.empty_like(x)
    for i in range(6):
        for j in range(7):
            total, weight = 0.0, 0.0
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    if 0 <= i + di < 6 and 0 <= j + dj < 7:
                        w = 1.0 if di == dj == 0 else 0.5
                        total, weight = total + w * x[..., i + di, j + dj], weight + w
            expected[..., i, j] = total / weight
    assert torch.allclose(O.blur_copy(x), expected, atol=1e-6)
    leaf = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(O.blur()({}, leaf).sum(), leaf)
    assert torch.allclose(g, x - expected, atol=1e-6)  # d/dx 0.5||x - c||^2 with c constant


def test_mahendran_weights_are_settable_and_need_no_shape():
    target = torch.ones(1, 4)
    acts = {"r": torch.zeros(1, 4)}
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    base = iri_objective("mahendran", "r", target, l_tv=0.0, l_alpha=0.0)(acts, x).item()
    tv = iri_objective("mahendran", "r", target, l_tv=1.0, l_alpha=0.0)(acts, x).item() - base
    alpha = iri_objective("mahendran", "r", target, l_tv=0.0, l_alpha=1.0)(acts, x).item() - base
    assert base == pytest.approx(1.0)  # the squared relative distance
    both = iri_objective("mahendran", "r", target, l_tv=10.0, l_alpha=8.0)(acts, x).item()
    assert both == pytest.approx(base + 10 * tv + 8 * alpha, rel=1e-5)
    obj = iri_objective("mahendran", "r", target)  # the priors are normalised by the pixel count
    small, big = torch.full((1, 3, 8, 8), 0.75), torch.full((1, 3, 16, 16), 0.75)
    assert obj(acts, small).item() == pytest.approx(obj(acts, big).item()) == pytest.approx(1 + 3 * 0.5 ** 6)
    with pytest.raises(ValueError, match="l_tv must be a finite number >= 0"):
        iri_objective("mahendran", "r", target, l_tv=-1.0)


def test_total_variation_global_and_per_pixel_differ_for_beta_other_than_2():
    x = torch.zeros(1, 1, 4, 4)
    x[..., 2:] = 1.0
    # per pixel (Mahendran): the 3 pixels with both neighbours left of the edge, sum of 1^0.5
    assert O.total_variation(1.0)({}, x).item() == pytest.approx(3.0, rel=1e-4)
    # global (Nanda): every one of the 4 rows has one horizontal step of 1: (4)^0.5
    assert O.total_variation(1.0, per_pixel=False)({}, x).item() == pytest.approx(2.0, rel=1e-4)


def test_adversarial_lambda_against_the_seed(net, digits):
    """lam='auto' balances against D(seed, target); with reference='seed' D(seed, seed) = 0 would give
    lam ~ 1e12, so a number is required, and lam = -10 (Nanda's *_seed) pulls toward the seed."""
    net.eval()
    with pytest.raises(ValueError, match="with reference='seed' pass a number.*lam=-10"):
        art_reps.iris(net, digits.images, layer="avgpool", loss="adversarial", distance=ssim_distance,
                      reference="seed", steps=2)
    target = torch.ones(2, 4)
    acts = {"r": torch.zeros(2, 4)}
    seed, x = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    obj = iri_objective("adversarial", "r", target, distance=ssim_distance, reference=seed, lam=-10.0)
    assert torch.allclose(obj(acts, x), 1.0 + 10 * ssim_distance(x, seed))


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
    model = art_reps.load_model(art_reps.zoo.STANDARD)
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
    scores = alignment_score(iris, targets, seeds, {"ssim": ssim_distance, "l2": lambda a,
                                                    b: (a - b).flatten(1).norm(dim=1)})
    assert scores["ssim"]["score"] == scores["l2"]["score"] == scores["mean"]["score"] == 0.75
    assert scores["mean"]["low"] < 0.75 < scores["mean"]["high"] and scores["mean"]["n"] == 40
    assert scores["ssim"]["low"] < 0.75 < scores["ssim"]["high"]
    # the interval narrows with more data: a binomial proportion's width shrinks like 1/sqrt(n)
    wide = mean_interval(torch.tensor([1.0] * 300 + [0.0] * 100))
    assert wide["high"] - wide["low"] < scores["mean"]["high"] - scores["mean"]["low"]
    with pytest.raises(ValueError, match="distances must name"):
        alignment_score(iris, targets, seeds, {})


def test_spearman_gives_ties_their_average_rank_as_scipy():
    from scipy.stats import spearmanr

    g = torch.Generator().manual_seed(0)
    a = torch.relu(torch.randn(5, 300, generator=g))  # about half zeros, as a ReLU map
    b = torch.relu(a + 0.5 * torch.randn(5, 300, generator=g))
    expected = [spearmanr(x.numpy(), y.numpy()).statistic for x, y in zip(a, b)]
    assert spearman(a, b).tolist() == pytest.approx(expected, abs=1e-9)
    # index tie-breaking (the old argsort-of-argsort ranks) would read order into the zeros
    order = a.argsort(1).argsort(1).double()
    assert not torch.allclose(spearman(a, a.flip(1)), spearman(order, a.flip(1).argsort(1).argsort(1).double()))


def test_spearman_and_metamer_success(digits):
    a = torch.tensor([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]])
    assert spearman(a, torch.tensor([[2.0, 4.0, 8.0, 16.0], [4.0, 3.0, 2.0, 1.0]])).tolist() == pytest.approx([1, -1])
    model = art_reps.load_model(art_reps.zoo.ROBUST)
    test = art_reps.data.digits_on_textures("test")
    same = metamer_success(model, test.images[:4], test.images[:4], layer="avgpool", null_images=test.images[:200])
    assert same["success"] == 1.0 and same["rho"] == pytest.approx([1.0] * 4)
    noise = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    fail = metamer_success(model, noise, test.images[:4], layer="avgpool", null_images=test.images[:200])
    assert fail["above_null"] == 0.0 and 0 < fail["null_max"] < 1
