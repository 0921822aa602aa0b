"""``python -m reproduction STUDY``: each paper's claims measured on the embedded default, from a
checkout of the repository (the library, ``art_reps``, never imports this package).

    python -m reproduction reproduce --page docs/results.md        # Engstrom, Aggarwal, alignment, STIR, metamers
    python -m reproduction judge-controls --page docs/judging.md   # every judge on its controls
    python -m reproduction pipeline-study --page docs/results.md   # Nanda et al.'s training-pipeline grid
    python -m reproduction pipeline-fair --page docs/results.md    # the same grid made fair (equal epochs)
    python -m reproduction beyond-anchors --page docs/results.md   # MACO, PAG scores, the eps sweep
    python -m reproduction claims --page docs/results.md           # every claim, one row, from the saved results
    python -m reproduction alignment | stir | metamers             # one study alone, printed
    python -m reproduction models --page docs/models.md            # every model's card, as a table
    python -m reproduction.train NAME                              # train a model and write its card
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _results_command(args, study, run) -> int:
    """Measure with ``run()`` (the full run saved) or load the saved results, print the tables and
    rewrite their blocks in a markdown page."""
    from .pages import update_page

    if args.from_results:
        results = study.RESULTS.load(args.results)
    else:
        results = run()
        if not args.quick:
            study.RESULTS.save(results, args.results)
    tables = study.render(results)
    if args.page:
        update_page(args.page, tables)
    print("\n\n".join(tables.values()))
    return 0


def _reproduce(args) -> int:
    from . import reproduce

    if args.only is not None:
        if args.quick or args.from_results:
            raise ValueError("--only re-measures one part of the saved full run: drop --quick and --from-results")
        saved = reproduce.RESULTS.load(args.results)
        return _results_command(args, reproduce, lambda: reproduce.run_part(
            args.only, saved, args.out, device=args.device, seed=args.seed, progress=not args.quiet))
    return _results_command(args, reproduce, lambda: reproduce.run_all(
        args.out, quick=args.quick, device=args.device, seed=args.seed, progress=not args.quiet))


def _beyond_anchors(args) -> int:
    from . import beyond_anchors as B

    return _results_command(args, B, lambda: B.run_beyond_anchors(quick=args.quick, out=args.out,
                                                                   progress=not args.quiet))


def _judge_controls(args) -> int:
    from . import judge_controls as J

    return _results_command(args, J, lambda: J.run_judge_controls(quick=args.quick, progress=not args.quiet))


def _endpoints(args) -> int:
    from . import endpoints as E

    return _results_command(args, E, lambda: E.run_endpoints(quick=args.quick, progress=not args.quiet))


def _pipeline_study(args) -> int:
    from . import pipeline_study as P

    return _results_command(args, P, lambda: P.run_pipeline_study(
        quick=args.quick, out=args.out, seed=args.seed, progress=not args.quiet))


def _pipeline_fair(args) -> int:
    from . import pipeline_fair as F

    return _results_command(args, F, lambda: F.run_fair_study(quick=args.quick, progress=not args.quiet))


def _alignment(args) -> int:
    from .iri_study import run_alignment
    from .reproduce import alignment_table

    print(alignment_table(run_alignment(args.models, quick=args.quick, seed=args.seed, progress=not args.quiet)))
    return 0


def _stir(args) -> int:
    from .iri_study import run_stir
    from .reproduce import stir_table

    print(stir_table(run_stir(args.model_1, args.model_2, quick=args.quick, progress=not args.quiet)))
    return 0


def _metamers(args) -> int:
    from .iri_study import run_metamers
    from .reproduce import metamer_table

    print(metamer_table(run_metamers(args.models, args.layers, quick=args.quick, seed=args.seed,
                                     progress=not args.quiet)))
    return 0


def _models(args) -> int:
    from .models import models_table
    from .pages import update_page

    table = models_table(embedded=args.embedded)
    if args.page:
        update_page(args.page, {"models": table})
    print(table)
    return 0


def _claims(args) -> int:
    from . import claims, endpoints, pipeline_fair
    from .pages import update_page

    tables = claims.render(endpoints.RESULTS.load(), pipeline_fair.RESULTS.load())
    if args.page:
        update_page(args.page, tables)
    print(tables["claims"])
    return 0


def _human_study(args) -> int:
    from . import human_study as H

    if args.analyze:
        analysis = H.analyze_responses(args.analyze)
        print(json.dumps({**analysis, "verdicts": H.verdicts(analysis)}, indent=2))
        return 0
    page = H.build_study(Path(args.out) / "study.html")
    print(json.dumps({"page": str(page), "participants_needed": H.power_analysis()}, indent=2))
    return 0


def _add_run_options(parser, device: bool = True) -> None:
    if device:
        parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_results_command(sub, name, func, what, out, results, blocks, device=True) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=f"{what}; the full run saves results/{results}")
    p.add_argument("--out", default=out, help="figures folder (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="the same code on fewer images and steps")
    p.add_argument("--page", default=None, help=f"rewrite the {blocks} blocks of this markdown page")
    p.add_argument("--from-results", action="store_true", help=f"render results/{results} instead of measuring again")
    p.add_argument("--results", default=None, help="the folder of saved results (default: the repository's results/)")
    _add_run_options(p, device=device)
    p.set_defaults(func=func)
    return p


def _add_iri_study(sub) -> None:
    from art_reps.zoo import ROBUST, STANDARD

    from . import iri_study as S

    p = sub.add_parser("alignment", help="IRI alignment for every model x loss x judge, with 95%% intervals")
    p.add_argument("--models", nargs="+", default=list(S.ALIGNMENT_MODELS), help="(default: %(default)s)")
    p.set_defaults(func=_alignment)
    parsers = [p]
    p = sub.add_parser("stir", help="STIR between two models, both ways, over several seeds")
    p.add_argument("--model-1", default=STANDARD, help="(default: %(default)s)")
    p.add_argument("--model-2", default=ROBUST, help="(default: %(default)s)")
    p.set_defaults(func=_stir)
    parsers.append(p)
    p = sub.add_parser("metamers", help="Feather et al.'s metamer success per model and layer")
    p.add_argument("--models", nargs="+", default=list(S.METAMER_MODELS), help="(default: %(default)s)")
    p.add_argument("--layers", nargs="+", default=list(S.METAMER_LAYERS), help="(default: %(default)s)")
    p.set_defaults(func=_metamers)
    parsers.append(p)
    for p in parsers:  # these studies run on the CPU, so they take no --device
        p.add_argument("--quick", action="store_true", help="the same code on fewer images and steps")
        _add_run_options(p, device=False)


def parser() -> argparse.ArgumentParser:
    from .reproduce import PARTS

    top = argparse.ArgumentParser(prog="python -m reproduction", description="The papers' claims, measured.")
    sub = top.add_subparsers(dest="command", required=True)
    reproduce = _add_results_command(sub, "reproduce", _reproduce, "every science table (Engstrom, Aggarwal, "
                                     "alignment, STIR, metamers) and its figures", "art_reps_results", "science.json",
                                     "science")
    reproduce.add_argument("--only", choices=PARTS, default=None, help="measure this part again alone, with the full "
                           "run's code and settings, into the saved results (which say so: measured_apart)")
    _add_results_command(sub, "beyond-anchors", _beyond_anchors, "feature-visualisation parameterisations (pixel, "
                         "Fourier, MACO) judged by plausibility; the PAG score across the eps sweep",
                         "art_reps_beyond_anchors", "beyond_anchors.json", "parameterisations, pag", device=False)
    _add_results_command(sub, "judge-controls", _judge_controls, "every judge on positive, negative and transfer "
                         "controls: which may decide a verdict", "art_reps_judge_controls", "judge_controls.json",
                         "controls, transfer", device=False)
    _add_results_command(sub, "endpoints", _endpoints, "the primary endpoints registered for round 5 (Engstrom et "
                         "al.'s inversion claim on test images 20-99 of each class), judged by round 5's judges",
                         "art_reps_endpoints", "endpoints.json", "endpoints", device=False)
    _add_results_command(sub, "pipeline-study", _pipeline_study, "Nanda et al.'s training-pipeline grid: "
                         "alignment, effects, claims, STIR, accuracy", "art_reps_pipeline_study",
                         "pipeline_study.json", "pipeline-study", device=False)
    _add_results_command(sub, "pipeline-fair", _pipeline_fair, "the pipeline study made fair (registered in "
                         "docs/judging.md): equal-epochs controls, three runs a cell, fresh targets",
                         "art_reps_pipeline_fair", "pipeline_fair.json", "pipeline_fair", device=False)
    _add_iri_study(sub)
    study = sub.add_parser("human-study", help="people as the last judge: build the registered study page and say "
                           "how many participants decide each effect, or turn response files into the verdicts")
    study.add_argument("--out", default="art_reps_human_study", help="folder of the study page (default: %(default)s)")
    study.add_argument("--analyze", nargs="+", default=None, metavar="FILE",
                       help="participants' response files (JSON, as the page downloads them): print the verdicts")
    study.add_argument("--quiet", action="store_true", help="no progress bars")
    study.set_defaults(func=_human_study)
    claims = sub.add_parser("claims", help="every claim tested, one row: its primary endpoint, registration, "
                            "measurement and verdict, from the saved results (measures nothing)")
    claims.add_argument("--page", default=None, help="rewrite the claims block of this markdown page")
    claims.set_defaults(func=_claims)
    models = sub.add_parser("models", help="every model's card (embedded and study-only), as a table")
    models.add_argument("--embedded", action="store_true", help="the models the wheel embeds only (as `art-reps "
                        "models` prints them)")
    models.add_argument("--page", default=None, help="rewrite the models block of this markdown page (README.md)")
    models.set_defaults(func=_models)
    return top


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError, RuntimeError, IndexError) as e:
        print(f"python -m reproduction {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
