"""The papers' reproduction, beside the library (never in its wheel; ``art_reps`` never imports it).

Each paper's claims as functions that measure them on the embedded default, the controls and the
judges' training data, the study-only models (``weights/``) and what renders the saved results
(``../results``) into the pages. Run from a checkout: ``python -m reproduction STUDY``.

- :mod:`.anchor_experiments`: Engstrom et al. (inversion, manipulation, interpolation) and Aggarwal
  et al. (perceptually aligned gradients), judged independently;
- :mod:`.iri_study`: Nanda et al.'s IRIs (alignment per loss, STIR) and Feather et al.'s metamers;
- :mod:`.pipeline_study`: Nanda et al.'s training-pipeline study; :mod:`.pipeline_fair`: the same
  made fair (equal epochs, three runs a cell);
- :mod:`.endpoints`: the primary endpoint registered for round 5; :mod:`.claims`: every claim, one
  row, from the saved results;
- :mod:`.beyond_anchors`: MACO, PAG scores and the eps sweep;
- :mod:`.human_study`: the 2AFC kit for people as judges;
- :mod:`.judging`, :mod:`.judge_controls`, :mod:`.controls`, :mod:`.glyphs`, :mod:`.template_judge`:
  the judges, their controls and the data they learn from;
- :mod:`.models`, :mod:`.train`, :mod:`.train_score`: every model and how it was trained;
- :mod:`.reproduce` (``python -m reproduction reproduce``: every science table, measured and rendered),
  :mod:`.saved`, :mod:`.pages`: the saved results and the page blocks they rewrite.
"""
