"""CKA and STIR: batching-invariant, and known values on constructed representations."""
import pytest
import torch
from torch import nn

from art_reps.metrics import CKA, linear_cka, rbf_cka, stir
from conftest import assert_unchanged, snapshot

g = torch.Generator().manual_seed(0)
X = torch.randn(300, 12, generator=g)
ROTATION = torch.linalg.qr(torch.randn(12, 12, generator=g))[0]


@pytest.mark.parametrize("kind", ["linear", "unbiased", "rbf"])
def test_one_batch_and_many_batches_give_the_same_value(kind):
    y = torch.tanh(X @ torch.randn(12, 7, generator=g)) + 0.3 * torch.randn(300, 7, generator=g)
    whole = CKA(kind).update(X, y).compute()
    for size in (1 + 1, 7, 64, 299):
        batched = CKA(kind)
        for i in range(0, 300, size):
            batched.update(X[i:i + size], y[i:i + size])
        assert batched.compute() == pytest.approx(whole, abs=1e-5)
    assert 0.1 < whole < 0.95


@pytest.mark.parametrize("cka", [linear_cka, rbf_cka])
def test_known_values(cka):
    assert cka(X, X) == pytest.approx(1.0, abs=1e-6)                    # identical
    assert cka(X, X @ ROTATION) == pytest.approx(1.0, abs=1e-6)         # rotated
    assert cka(X, 3.5 * X + 2.0) == pytest.approx(1.0, abs=1e-6)        # scaled and shifted
    independent = torch.randn(300, 12, generator=torch.Generator().manual_seed(9))
    assert cka(X, independent) < 0.1                                    # independent
    assert cka(X[:, :6], X) == pytest.approx(linear_cka(X[:, :6], X), abs=0.2)


def test_unbiased_cka_removes_the_small_sample_bias():
    x = torch.randn(40, 30, generator=torch.Generator().manual_seed(1))
    independent = torch.randn(40, 30, generator=torch.Generator().manual_seed(2))
    assert linear_cka(x, independent) > 0.3  # biased: high for independent features when n ~ d
    assert abs(CKA("unbiased").update(x, independent).compute()) < 0.1
    assert CKA("unbiased").update(x, 2 * x + 1).compute() == pytest.approx(1.0, abs=1e-6)
    big = torch.randn(2000, 12, generator=torch.Generator().manual_seed(3))
    y = big @ torch.randn(12, 5, generator=g) + torch.randn(2000, 5, generator=g)
    assert CKA("unbiased").update(big, y).compute() == pytest.approx(linear_cka(big, y), abs=0.01)
    with pytest.raises(ValueError, match="at least 4 samples"):
        CKA("unbiased").update(X[:3], X[:3]).compute()


def test_linear_cka_of_a_subspace_has_the_closed_form_value():
    # isotropic 12-d X against its first 3 coordinates: ||X3'X||^2 / (||X3'X3|| ||X'X||) -> sqrt(3/12)
    x = torch.linalg.qr(torch.randn(5000, 12, generator=g))[0] * 70  # exactly orthogonal columns
    x = x - x.mean(0)
    assert linear_cka(x[:, :3], x) == pytest.approx((3 / 12) ** 0.5, abs=1e-3)


def test_bad_input():
    with pytest.raises(ValueError, match="same non-zero number of rows"):
        CKA().update(X[:3], X[:4])
    with pytest.raises(ValueError, match="at least 2 samples"):
        CKA().update(X[:1], X[:1]).compute()
    with pytest.raises(ValueError, match="finite"):
        linear_cka(torch.full((3, 2), float("nan")), X[:3])
    with pytest.raises(ValueError, match="kind must be"):
        CKA("cosine")


class Pixels(nn.Module):
    """Representation = a fixed linear read-out of some of the pixels."""

    def __init__(self, pixels: slice, dim: int = 24):
        super().__init__()
        self.pixels = pixels
        self.read = nn.Linear(3 * 8 * 8 if pixels == slice(None) else len(range(192)[pixels]), dim)
        torch.nn.init.orthogonal_(self.read.weight)

    def forward(self, x):
        return self.read(x.flatten(1)[:, self.pixels])


@pytest.fixture
def images():
    return torch.rand(20, 3, 8, 8, generator=torch.Generator().manual_seed(3)) * 0.6 + 0.2


def test_stir_sees_who_is_invariant_to_what(images):
    torch.manual_seed(0)
    images.view(20, -1)[:, :96] = 0.5 + 0.1 * (images.view(20, -1)[:, :96] - 0.5)  # most variation in the rest
    half, whole = Pixels(slice(0, 96)), Pixels(slice(None), dim=192)  # half ignores the last 96 values
    before = snapshot(half)
    s = stir(half, whole, images, layer_1="read", steps=150, step_size=0.2, start="uniform", batch_size=20)
    # IRIs of `whole` reproduce the image, so `half` treats them like the originals: STIR(half|whole) ~ 1;
    # IRIs of `half` keep random values where it does not look, which `whole` sees: STIR(whole|half) is lower
    assert s["m1_given_m2"] > 0.97
    assert s["m2_given_m1"] < s["m1_given_m2"] - 0.1
    assert_unchanged(before, half)


def test_stir_reads_the_iris_as_it_made_them(images):
    """The CKA read-outs get the same mean/std/transform as the IRI generation."""
    seen = []

    class Spy(Pixels):
        def forward(self, x):
            seen.append(x.mean().item())
            return super().forward(x)

    torch.manual_seed(0)
    a, b = Spy(slice(0, 96)), Spy(slice(48, 192))
    stir(a, b, images, layer_1="read", steps=3, step_size=0.2, batch_size=20, mean=[5.0] * 3, std=[1.0] * 3)
    assert seen and max(seen) < -3  # every input the models saw was normalised


def test_stir_does_not_depend_on_the_batching(images):
    torch.manual_seed(0)
    a, b = Pixels(slice(0, 96)), Pixels(slice(48, 192))
    one = stir(a, b, images, layer_1="read", steps=20, step_size=0.2, batch_size=20)
    many = stir(a, b, images, layer_1="read", steps=20, step_size=0.2, batch_size=6)
    for key in one:
        assert many[key] == pytest.approx(one[key], abs=1e-5), key


def test_wide_and_narrow_linear_cka_agree_and_wide_layers_fit_in_memory():
    import subprocess
    import sys

    g = torch.Generator().manual_seed(0)
    x = torch.randn(12, 40, generator=g)
    y = x @ torch.randn(40, 30, generator=g) + 0.5 * torch.randn(12, 30, generator=g)
    narrow = CKA().update(x.repeat(4, 1), y.repeat(4, 1)).compute()  # 48 samples >= 40 features: D x D form
    from art_reps.metrics.similarity import _linear_cka

    wide = _linear_cka(*(t.repeat(4, 1).double() - t.repeat(4, 1).double().mean(0) for t in (x, y)))
    assert narrow == pytest.approx(wide, abs=1e-12)
    # 8 samples of 8,192 features: Gram form, far under 100 MiB (the D x D form took 4.2 GB)
    code = ("import resource, torch; from art_reps.metrics import linear_cka; x, y = torch.randn(8, 8192), "
            "torch.randn(8, 8192); before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
            "v = linear_cka(x, y); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before, v)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    extra_kib, value = run.stdout.split()
    assert int(extra_kib) < 100 * 1024 and 0 < float(value) < 1
