"""Batch jobs: sharded under torchrun with the single-process bits, killed and resumed with every
item exactly once and intact, each method equal to the core call it wraps."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

import art_reps
from art_reps import zoo
from art_reps.cli.batch import load_items, run_batch
from art_reps.metrics.distances import JudgeDistance

# Chunks of 2 over 8 items: 4 chunks, so 2 ranks take two each, and a kill lands between chunks.
JOB = dict(data="embedded", limit=8, batch_size=2, steps=60, seed=3)
CLI_JOB = ["--limit", "8", "--batch-size", "2", "--steps", "60", "--seed", "3", "--quiet"]


def outputs(out):
    """{id: (output, start, png bytes, manifest entry without rank/timing)} of a finished run."""
    manifest = json.loads((out / "manifest.json").read_text())
    result = {}
    for e in manifest["items"]:
        t = load_file(out / "items" / f"{e['id']}.safetensors")
        item = json.loads((out / "items" / f"{e['id']}.json").read_text())
        assert e == {k: v for k, v in item.items() if k != "settings"} and item["settings"] == manifest["settings"]
        entry = {k: v for k, v in item.items() if k not in ("rank", "world_size", "seconds")}
        result[e["id"]] = (t["output"], t["start"], (out / "items" / f"{e['id']}.png").read_bytes(), entry)
    return result


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k][0], b[k][0]) and torch.equal(a[k][1], b[k][1]), k
        assert a[k][2] == b[k][2] and a[k][3] == b[k][3], k


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    summary = run_batch("invert", out=out, progress=False, **JOB)
    assert (summary["items"], summary["done_now"], summary["skipped"], summary["world_size"]) == (8, 8, 0, 1)
    return out


def test_each_item_is_the_core_call_on_its_chunk(reference):
    items = load_items("embedded", limit=8)
    got = outputs(reference)
    for chunk in (range(0, 2), range(6, 8)):
        starts = art_reps.core.make_start("noise", (len(chunk), 3, 32, 32), seed=3, first=chunk.start)
        res = art_reps.invert(art_reps.load_model(art_reps.zoo.ROBUST), items.images[list(chunk)], layer="avgpool",
                              start=starts, steps=60, seed=3)
        for j, i in enumerate(chunk):
            output, start, _, entry = got[items.ids[i]]
            assert torch.equal(output, res.images[j]) and torch.equal(start, starts[j])
            assert entry["loss"] == pytest.approx(res.losses[j].item(), abs=1e-7)
            assert entry["label"] == int(items.labels[i]) and entry["settings"]["steps"] == 60


def test_an_items_random_start_is_drawn_from_its_index_not_its_place_in_the_chunk(tmp_path):
    """attack begins at a random point of its ball: with chunks of 2, items 0 and 2 are first in
    their chunks and must still get different points; and chunks of 2 or 4 give the same items."""
    job = dict(data="embedded", limit=4, eps=0.5, steps=1, progress=False)
    run_batch("attack", out=tmp_path / "two", batch_size=2, **job)
    run_batch("attack", out=tmp_path / "four", batch_size=4, **job)
    two, four = outputs(tmp_path / "two"), outputs(tmp_path / "four")
    moved = {k: two[k][0] - two[k][1] for k in two}  # output - start (the item itself)
    ids = list(two)
    assert not torch.allclose(moved[ids[0]], moved[ids[2]], atol=1e-3)
    for k in two:
        assert torch.allclose(two[k][0], four[k][0], atol=1e-5), k


def test_a_call_told_its_first_index_draws_as_those_samples_of_the_whole_run():
    model, x = art_reps.load_model(zoo.ROBUST), load_items("embedded", limit=4).images
    kw = dict(layer="avgpool", eps=0.5, steps=1, random_start=True, progress=False)
    whole = art_reps.attack(model, x, **kw)
    part = art_reps.attack(model, x[2:], first=2, **kw)
    assert torch.allclose(part.images, whole.images[2:], atol=1e-5)
    noise = art_reps.invert(model, x, layer="avgpool", steps=1, progress=False)
    assert torch.allclose(art_reps.invert(model, x[2:], first=2, layer="avgpool", steps=1, progress=False).images,
                          noise.images[2:], atol=1e-5)


def test_torchrun_two_processes_give_the_single_process_outputs(reference, tmp_path):
    out = tmp_path / "sharded"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "art_reps.cli",
           "batch", "invert", "--out", str(out), *CLI_JOB]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout[proc.stdout.index("{"):])  # rank 0 alone prints the summary
    assert (summary["world_size"], summary["done_now"], summary["items"]) == (2, 8, 8)
    ranks = [e["rank"] for e in json.loads((out / "manifest.json").read_text())["items"]]
    assert ranks == [0, 0, 1, 1, 0, 0, 1, 1]
    assert_same(outputs(out), outputs(reference))


def test_a_killed_run_resumes_with_every_item_once_and_intact(reference, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "art_reps.cli", "batch", "invert", "--out", str(out), *CLI_JOB],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while not list((out / "items").glob("*.json")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = sorted(p.stem for p in (out / "items").glob("*.json"))
    assert 1 <= len(finished) < 8, "the kill must land mid-way"
    for p in (out / "items").iterdir():  # every visible file is whole
        {".json": lambda: json.loads(p.read_text()), ".png": lambda: Image.open(p).verify(),
         ".safetensors": lambda: load_file(p)}[p.suffix]()
    summary = run_batch("invert", out=out, progress=False, **JOB)
    assert summary["skipped"] >= len(finished) and summary["done_now"] + summary["skipped"] == 8
    assert not (out / ".partial").exists()
    assert len(list((out / "items").iterdir())) == 3 * 8
    assert_same(outputs(out), outputs(reference))
    again = run_batch("invert", out=out, progress=False, **JOB)
    assert (again["done_now"], again["skipped"]) == (0, 8)


def test_resuming_with_other_settings_is_refused(reference):
    with pytest.raises(ValueError, match="steps differ"):
        run_batch("invert", out=reference, progress=False, **{**JOB, "steps": 61})
    assert not (reference / ".partial").exists()  # the refused rerun left nothing behind


@pytest.mark.parametrize("method, settings", [("iris", dict(steps=3)), ("iris", dict(steps=3, loss="adversarial")),
                                              ("visualize", dict(steps=3, feature=5))])
def test_iris_and_visualize_match_the_core(method, settings, tmp_path):
    run_batch(method, out=tmp_path, limit=3, batch_size=3, progress=False, **settings)
    got = outputs(tmp_path)
    model, x = art_reps.load_model(zoo.ROBUST), load_items("embedded", limit=3).images
    if method == "iris":
        starts = art_reps.core.make_start("super-noise", (3, 3, 32, 32), seed=0)
        loss = settings.get("loss", "regularizer-free")
        distance = JudgeDistance(art_reps.load_model("judge")) if loss == "adversarial" else None
        res = art_reps.iris(model, x, layer="avgpool", loss=loss, distance=distance, start=starts, steps=3)
    else:
        res = art_reps.visualize(model, layer="avgpool", feature=5, start=x, steps=3)
    for j, (output, _, _, entry) in enumerate(got.values()):
        assert torch.equal(output, res.images[j])
        assert entry["loss"] == pytest.approx(res.losses[j].item(), abs=1e-7)


def test_sensitivity_over_an_image_folder(tmp_path):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    photos = art_reps.data.natural_photos()[:3]
    for i, name in enumerate(["b.png", "a.jpg", "sub/c.png"]):
        Image.fromarray((photos[i].permute(1, 2, 0) * 255).round().byte().numpy()).save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    summary = run_batch("sensitivity", data=str(folder), out=tmp_path / "out", progress=False)
    assert summary["items"] == 3
    got = outputs(tmp_path / "out")
    assert list(got) == ["a.jpg", "b.png", "sub%2Fc.png"]
    items = load_items(str(folder))
    model = art_reps.load_model(zoo.ROBUST)
    target = art_reps.metrics.predict(model, items.images)
    grad = art_reps.sensitivity(model, items.images, target)
    for j, (output, _, _, entry) in enumerate(got.values()):
        assert torch.equal(output, grad[j]) and entry["target"] == int(target[j]) and entry["label"] == -1


def test_a_label_outside_the_models_classes_is_refused_before_any_item_is_written(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    photos = art_reps.data.natural_photos()[:3]
    for i in range(3):
        Image.fromarray((photos[i].permute(1, 2, 0) * 255).round().byte().numpy()).save(folder / f"{i}.png")
    (tmp_path / "labels.csv").write_text("file,label\n0.png,3\n1.png,5\n2.png,12\n")
    with pytest.raises(ValueError, match=r"labels: item '2.png' has label 12, but the model scores 10 classes"):
        run_batch("sensitivity", data=str(folder), labels=str(tmp_path / "labels.csv"), out=tmp_path / "o",
                  batch_size=1, progress=False)
    assert not (tmp_path / "o").exists()


def test_bad_input_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="data must be"):
        run_batch("invert", data=str(tmp_path / "nowhere"), out=tmp_path / "o")
    with pytest.raises(ValueError, match="holds no image"):
        run_batch("invert", data=str(tmp_path), out=tmp_path / "o")
    with pytest.raises(ValueError, match="method must be one of"):
        run_batch("invrt", out=tmp_path / "o")
    with pytest.raises(ValueError, match="takes no setting"):
        run_batch("sensitivity", out=tmp_path / "o", steps=3)
    with pytest.raises(ValueError, match="batch_size"):
        run_batch("invert", out=tmp_path / "o", batch_size=0)
    with pytest.raises(ValueError, match="size must be an int"):
        run_batch("invert", out=tmp_path / "o", size=0)
    with pytest.raises(ValueError, match="layer 'nope' does not exist"):
        run_batch("invert", out=tmp_path / "o", layer="nope")
    with pytest.raises(ValueError, match="takes the data's labels as classes of the model's output: layer must be ''"):
        run_batch("sensitivity", out=tmp_path / "o", layer="nope")
    assert not (tmp_path / "o").exists()  # refused before any work


def test_a_folder_with_colliding_names_a_corrupt_file_and_16_bit_pngs(tmp_path):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    photo = (art_reps.data.natural_photos()[0].permute(1, 2, 0) * 255).round().byte().numpy()
    for name in ("a.png", "a.jpg", "sub/b.png", "sub__b.png"):
        Image.fromarray(photo).save(folder / name)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "empty.png").write_bytes(b"")
    grey = np.linspace(0, 65535, 32 * 32).reshape(32, 32).astype(np.uint16)  # a 16-bit ramp, black to white
    Image.fromarray(grey).save(folder / "deep.png")
    summary = run_batch("sensitivity", data=str(folder), out=tmp_path / "out", progress=False)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert summary["items"] == summary["done_now"] == 5 and summary["unreadable"] == 2
    assert len(list((tmp_path / "out" / "items").glob("*.json"))) == 5  # every readable image, once
    assert sorted(u["file"] for u in manifest["unreadable"]) == ["broken.png", "empty.png"]
    assert all(u["reason"] for u in manifest["unreadable"])
    deep = load_items(str(folder)).images[load_items(str(folder)).ids.index("deep.png")]
    assert deep.min() < 0.05 and 0.3 < deep.mean() < 0.7 and deep.max() > 0.95  # a ramp, not saturated white


def test_results_are_readable_by_others_under_the_umask(tmp_path):
    import stat

    old = os.umask(0o022)
    try:
        run_batch("sensitivity", out=tmp_path / "out", limit=2, progress=False)
    finally:
        os.umask(old)
    for path in [tmp_path / "out" / "manifest.json", *(tmp_path / "out" / "items").iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
