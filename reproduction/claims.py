"""Every claim the project tests, one row each: its primary endpoint, the commit that registered
it before its measurement, what the saved measurement shows and what decides it, read from
``results/endpoints.json`` and ``results/pipeline_fair.json``; nothing is measured here:
``python -m reproduction claims --page docs/results.md``.

Examples:
    >>> from reproduction import endpoints, pipeline_fair
    >>> table = render(endpoints.RESULTS.load(), pipeline_fair.RESULTS.load())["claims"]
    >>> table.splitlines()[0].startswith("| claim |")
    True
"""
from __future__ import annotations

from . import human_study
from . import pipeline_fair as F
from .endpoints import CHANCE

BLOCKS = ("claims",)
NO_JUDGE = "undecided: no judge passed round 5's controls"
PEOPLE = "people decide (`python -m reproduction human-study`)"


def _bounds(rows) -> str:
    """'0.20 to 0.65, every lower bound above 0' (or how many are) for interval dicts ``rows``."""
    rows = list(rows)
    above = sum(r["low"] > 0 for r in rows)
    said = "every lower bound above 0" if above == len(rows) else f"{above} of {len(rows)} lower bounds above 0"
    return f"{min(r['score'] for r in rows):.2f} to {max(r['score'] for r in rows):.2f}, {said}"


def _verdict(holds, deciding, undecided: str | None = None) -> str:
    if undecided:
        return undecided
    if not deciding:
        return NO_JUDGE
    return "**holds**" if holds else "**does not hold**"


def rows(endpoints: dict, fair: dict) -> list[tuple[str, str, str, str]]:
    """(claim, primary endpoint and its registration, what the saved measurement shows, verdict)."""
    inversion = endpoints["inversion"]
    decided = [F.judge_key(j) for j in fair["deciding"]]
    claim_2, claim_1 = fair["claims"]
    runs = min(len(r) for r in fair["runs"].values())

    def pairs(claim) -> str:
        role = {k: "deciding" if k in decided else "round 4's, information" for k in fair["keys"]}
        return "; ".join(f"under {k} ({role[k]}): " + _bounds(fair["differences"][p][k] for p in claim["pairs"])
                         for k in fair["keys"])

    effects = ", ".join(f"{name} >= {share}" for name, share in human_study.EFFECTS.items())
    return [
        ("Engstrom et al.: a robust model's inversions show the target's class more often than a standard "
         "model's",
         f"robust minus standard share recognised, paired over {endpoints['targets']} untouched targets; holds if "
         f"its lower bound > 0 and the robust share's > {CHANCE} (registered in `b0b37a3`)",
         f"`results/endpoints.json`, {len(inversion)} judges: differences " + _bounds(
             r["difference"] for r in inversion.values()),
         _verdict(all(inversion[j]["holds"] for j in endpoints["deciding"]), endpoints["deciding"])
         + ("" if endpoints["deciding"] else f"; {PEOPLE}")),
        ("Nanda et al.: adversarial augmentation raises alignment for every architecture and loss",
         f"each adversarial cell minus its clean cell (SimCLR: its equal-epochs control), {len(claim_2['pairs'])} "
         f"pairs, {fair['targets']} untouched targets x {fair['seeds']} seeds x {runs} runs; holds if every lower "
         "bound > 0 (registered in `0e8784b`)",
         f"`results/pipeline_fair.json`: {pairs(claim_2)}",
         _verdict(claim_2["holds"], fair["deciding"], claim_2.get("undecided"))),
        (f"Nanda et al.: `{F.MOST_ALIGNED}` (residual, contrastive, adversarially augmented) is the most aligned",
         f"it minus each of the {len(claim_1['pairs'])} other cells; holds if every lower bound > 0, testable if "
         "every contrastive run's linear probes pass (registered in `0e8784b`)",
         f"`results/pipeline_fair.json`: {pairs(claim_1)}",
         _verdict(claim_1["holds"], fair["deciding"], claim_1.get("undecided"))),
        ("People see the robust model's class visualisations, inversions and IRIs as the class more than the "
         "standard model's",
         f"the share of choices for the robust model's image, per condition ({effects}); holds if the lower bound "
         "of its participant-level interval > 0.5 (registered in `deb3137`)",
         "no participant has taken the study",
         f"undecided: {PEOPLE}"),
        ("Aggarwal et al.'s low-eps gradients; Nanda et al.'s IRI losses; Srinivas et al.'s regimes",
         "none registered in round 5", "earlier measurements, judged by round 4's `glyph_pair` (below)",
         "information only (Srinivas et al.'s regimes withdrawn)"),
    ]


def claims_table(endpoints: dict, fair: dict) -> str:
    out = ["| claim | primary endpoint | measured | verdict |", "|---|---|---|---|"]
    out += [f"| {' | '.join(row)} |" for row in rows(endpoints, fair)]
    return "\n".join(out)


def render(endpoints: dict, fair: dict) -> dict:
    return {"claims": claims_table(endpoints, fair)}
