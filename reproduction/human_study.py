"""A two-alternative forced-choice human study as one self-contained HTML page, and its analysis.

Each trial shows a reference image (an IRI) and asks which of two images (its target ``a`` and
its seed ``b``) looks more like it. The page embeds every image, needs no network, randomises the
trial order and the sides per participant, mixes in attention checks (one option is the
reference itself), and lets the participant download their responses as a JSON file.
:func:`analyze_responses` turns such files into alignment scores with bootstrap intervals.

Examples:
    >>> import tempfile, torch
    >>> x = torch.rand(3, 3, 8, 8)
    >>> page = export_study(tempfile.mkdtemp() + "/study.html", references=x, option_a=x, option_b=1 - x)
    >>> page.read_text().count('"kind": "trial"')
    3
"""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import torch

from art_reps.core.checks import check_images


def _data_uri(image: torch.Tensor, upscale: int) -> str:
    from PIL import Image

    array = (image.detach().float().cpu().clamp(0, 1).permute(1, 2, 0) * 255).round().byte().numpy()
    pil = Image.fromarray(array.squeeze(-1) if array.shape[-1] == 1 else array)
    pil = pil.resize((pil.width * upscale, pil.height * upscale), Image.NEAREST)
    buffer = io.BytesIO()
    pil.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def export_study(path, *, references: torch.Tensor, option_a: torch.Tensor, option_b: torch.Tensor,
                 conditions=None, attention_checks: int = 4, title: str = "Which image looks more similar?",
                 instructions: str = "Look at the image on top. Click the one of the two images below that looks "
                                     "more like it.", upscale: int = 6) -> Path:
    """Write the study page to ``path``. references, option_a (e.g. targets), option_b (e.g. seeds):
    (N, C, H, W) in [0, 1]; ``conditions``: N labels to group results by (e.g. 'model/loss')."""
    check_images(references, "references")
    n = len(references)
    for t, name in ((option_a, "option_a"), (option_b, "option_b")):
        check_images(t, name)
        if t.shape[0] != n:
            raise ValueError(f"{name} must have one image per reference ({n}), got {t.shape[0]}")
    conditions = ["all"] * n if conditions is None else [str(c) for c in conditions]
    if len(conditions) != n:
        raise ValueError(f"conditions must have one label per reference ({n}), got {len(conditions)}")
    if isinstance(attention_checks, bool) or not isinstance(attention_checks, int) or attention_checks < 0:
        raise ValueError(f"attention_checks must be an int >= 0, got {attention_checks!r}")
    images, trials = {}, []

    def add(image) -> str:
        key = f"i{len(images)}"
        images[key] = _data_uri(image, upscale)
        return key

    for i in range(n):
        trials.append({"id": f"t{i}", "kind": "trial", "condition": conditions[i], "reference": add(references[i]),
                       "a": add(option_a[i]), "b": add(option_b[i])})
    for k in range(attention_checks):
        i = k % n  # the reference itself against an unrelated image: a attentive participant picks it
        trials.append({"id": f"c{k}", "kind": "attention", "condition": "attention",
                       "reference": trials[i]["reference"],
                       "a": trials[i]["reference"], "b": trials[(i + 1) % n]["b"] if n > 1 else trials[i]["b"]})
    page = (_TEMPLATE.replace("__TITLE__", html.escape(title)).replace("__INSTRUCTIONS__", html.escape(instructions))
            .replace("__IMAGES__", json.dumps(images)).replace("__TRIALS__", json.dumps(trials, indent=0)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path


#: The registered effects (docs/judging.md, "People as the last judge"): condition -> the share of
#: choices for the robust model's image that the study must be able to tell from chance (0.5).
EFFECTS = {"class visualisations": 0.65, "inversions": 0.65, "iris": 0.6}
CHANCE = 0.5
TRIALS_PER_CONDITION = 20
BETWEEN_SD = 0.1  # the assumed spread (sd) of participants' own shares around the effect
POWER, LEVEL = 0.8, 0.95


def power_analysis(effects: dict = EFFECTS, *, trials: int = TRIALS_PER_CONDITION, between_sd: float = BETWEEN_SD,
                   power: float = POWER, level: float = LEVEL) -> dict:
    """condition -> participants needed so that, if the share choosing the robust image is the
    registered effect ``p``, the lower bound of the participant-level interval exceeds chance with
    probability ``power``: ``ceil(((z_(1+level)/2 + z_power) * sigma / (p - 0.5))^2)``, where a
    participant's share varies by ``sigma^2 = between_sd^2 + p (1 - p) / trials``.

    Examples:
        >>> power_analysis({"x": 0.65}, trials=20, between_sd=0.1)["x"]["participants"]
        8
    """
    import math

    from scipy.stats import norm

    z = norm.ppf((1 + level) / 2) + norm.ppf(power)
    out = {}
    for name, p in effects.items():
        sigma = math.sqrt(between_sd ** 2 + p * (1 - p) / trials)
        out[name] = {"effect": p, "trials": trials, "between_sd": between_sd, "power": power,
                     "participants": math.ceil((z * sigma / (p - CHANCE)) ** 2)}
    return out


def verdicts(analysis: dict, effects: dict = EFFECTS) -> dict:
    """condition -> whether people choose the robust model's image above chance, decided on the
    lower bound of the participant-level interval (``None`` where the condition was not answered)."""
    return {name: (None if name not in analysis["conditions"] else analysis["conditions"][name]["low"] > CHANCE)
            for name in effects}


def build_study(path, *, per_condition: int = TRIALS_PER_CONDITION, seed: int = 0, device: str = "cpu") -> Path:
    """The registered study page: each trial a reference (a test target; for class visualisations a
    test digit of the class) above the robust model's image (option ``a``) and the standard one's
    (``b``), for ``per_condition`` class visualisations (each class's logit, ``visualize``'s
    recipe), inversions and regularizer-free IRIs (``invert``'s and ``iris``' recipes, from noise),
    of test images 20 onwards of each class (the primary endpoints' targets), seed ``seed``.
    Blinded (the page never names a model), sides and order randomised per participant,
    attention checks mixed in (:func:`export_study`)."""
    from art_reps import core, zoo
    from art_reps.data import digits_on_textures

    test = digits_on_textures("test")
    per_class = -(-per_condition // 10)
    index = torch.cat([torch.nonzero(test.labels == c).flatten()[20:20 + per_class] for c in range(10)])
    targets, labels = test.images[index][:per_condition], test.labels[index][:per_condition]
    models = {kind: zoo.load_model(name, device=device) for kind, name in (("robust", zoo.ROBUST),
                                                                          ("standard", zoo.STANDARD))}
    layer = zoo.REPRESENTATION_LAYER
    made: dict = {}
    for kind, model in models.items():
        made[kind] = {
            "class visualisations": core.visualize(model, layer="", feature=labels.tolist(), seed=seed,
                                                   progress=False).images,
            "inversions": core.invert(model, targets, layer=layer, seed=seed, progress=False).images,
            "iris": core.iris(model, targets, layer=layer, seed=seed, progress=False).images,
        }
    conditions = list(EFFECTS)
    return export_study(path, references=torch.cat([targets] * len(conditions)),
                        option_a=torch.cat([made["robust"][c].cpu() for c in conditions]),
                        option_b=torch.cat([made["standard"][c].cpu() for c in conditions]),
                        conditions=[c for c in conditions for _ in range(len(targets))],
                        attention_checks=6, title="Which image looks more like the digit on top?",
                        instructions="Look at the image on top. Click the one of the two images below that looks "
                                     "more like it. There are no right answers; go with your first impression.")


def analyze_responses(files, *, min_attention: float = 1.0, n_boot: int = 2000, seed: int = 0) -> dict:
    """Alignment from response files: per condition, the share of choices for option ``a`` (the
    target), pooled over participants who passed at least ``min_attention`` of the attention checks.

    Returns ``{"conditions": {name: {"score", "low", "high", "n"}}, "participants": k, "excluded": [ids]}``;
    intervals resample participants (a cluster bootstrap), so repeated answers are not counted as
    independent.
    """
    kept, excluded = [], []
    for f in files:
        data = json.loads(Path(f).read_text())
        if not isinstance(data, dict) or "responses" not in data or "participant" not in data:
            raise ValueError(f"{f} is not a response file of this study (needs 'participant' and 'responses')")
        checks = [r for r in data["responses"] if r["kind"] == "attention"]
        passed = sum(r["choice"] == "a" for r in checks) / len(checks) if checks else 1.0
        (kept if passed >= min_attention else excluded).append(data)
    excluded_ids = [d["participant"] for d in excluded]
    if not kept:
        return {"conditions": {}, "participants": 0, "excluded": excluded_ids}
    names = sorted({r["condition"] for d in kept for r in d["responses"] if r["kind"] == "trial"})
    result = {}
    g = torch.Generator().manual_seed(seed)
    for name in names:
        per_person = [[float(r["choice"] == "a") for r in d["responses"] if r["kind"] == "trial" and
                       r["condition"] == name] for d in kept]
        per_person = [torch.tensor(p) for p in per_person if p]
        score = torch.cat(per_person).mean().item()
        boots = []
        for _ in range(n_boot):
            pick = torch.randint(len(per_person), (len(per_person),), generator=g)
            boots.append(torch.cat([per_person[i] for i in pick]).mean())
        lo, hi = torch.quantile(torch.stack(boots).double(), torch.tensor([0.025, 0.975], dtype=torch.float64)).tolist()
        result[name] = {"score": score, "low": lo, "high": hi, "n": sum(len(p) for p in per_person)}
    return {"conditions": result, "participants": len(kept), "excluded": excluded_ids}


_TEMPLATE = """<!doctype html>
<html><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body{font-family:sans-serif;max-width:760px;margin:2em auto;text-align:center}
img{image-rendering:pixelated;border:3px solid #ddd;margin:8px}
button.choice{background:none;border:none;cursor:pointer;padding:0}
button.choice img:hover{border-color:#36c}
#progress{color:#666}
</style></head>
<body>
<h1>__TITLE__</h1>
<p id="instructions">__INSTRUCTIONS__</p>
<div id="trial">
  <div><img id="reference" alt="reference"></div>
  <div><button class="choice" id="left"><img id="left-img" alt="left option"></button>
       <button class="choice" id="right"><img id="right-img" alt="right option"></button></div>
  <p id="progress"></p>
</div>
<div id="done" hidden><p>Thank you. Please download your answers and send the file back.</p>
  <a id="download" href="#" download>Download my answers</a></div>
<script>
const IMAGES = __IMAGES__;
const TRIALS = __TRIALS__;
function randomInt(n) { const b = new Uint32Array(1); crypto.getRandomValues(b); return b[0] % n; }
function shuffle(list) { for (let i = list.length - 1; i > 0; i--) { const j = randomInt(i + 1); [list[i], list[j]] = [list[j], list[i]]; } return list; }
const participant = Array.from(crypto.getRandomValues(new Uint8Array(8)), b => b.toString(16).padStart(2, "0")).join("");
const order = shuffle(TRIALS.map(t => ({...t, aOnLeft: randomInt(2) === 0})));
const responses = [];
let current = 0, shownAt = 0;
function show() {
  if (current >= order.length) { finish(); return; }
  const t = order[current];
  document.getElementById("reference").src = IMAGES[t.reference];
  document.getElementById("left-img").src = IMAGES[t.aOnLeft ? t.a : t.b];
  document.getElementById("right-img").src = IMAGES[t.aOnLeft ? t.b : t.a];
  document.getElementById("trial").dataset.trial = t.id;
  document.getElementById("trial").dataset.aSide = t.aOnLeft ? "left" : "right";
  document.getElementById("progress").textContent = (current + 1) + " / " + order.length;
  shownAt = performance.now();
}
function choose(side) {
  const t = order[current];
  const choice = (side === "left") === t.aOnLeft ? "a" : "b";
  responses.push({id: t.id, kind: t.kind, condition: t.condition, position: current, a_side: t.aOnLeft ? "left" : "right",
                  choice: choice, rt_ms: Math.round(performance.now() - shownAt)});
  current += 1; show();
}
function finish() {
  document.getElementById("trial").hidden = true;
  document.getElementById("done").hidden = false;
  const data = {participant: participant, finished: new Date().toISOString(), user_agent: navigator.userAgent,
                responses: responses};
  const link = document.getElementById("download");
  link.href = URL.createObjectURL(new Blob([JSON.stringify(data, null, 1)], {type: "application/json"}));
  link.download = "responses_" + participant + ".json";
}
document.getElementById("left").onclick = () => choose("left");
document.getElementById("right").onclick = () => choose("right");
show();
</script></body></html>
"""
