"""Each paper's claims as functions that measure them, and what reports them.

- :mod:`.compare`: two models side by side as a report (``art-reps compare``); :mod:`.demo`: that
  report for the embedded standard and robust pair, the one-command demonstration;
- :mod:`.reproduce`: Engstrom et al. (inversion, manipulation, interpolation) and Aggarwal et al.
  (perceptually aligned gradients), judged independently;
- :mod:`.iri_study`: Nanda et al.'s IRIs (alignment per loss, STIR) and Feather et al.'s metamers;
- :mod:`.pipeline_study`: Nanda et al.'s training-pipeline study;
- :mod:`.human_study`: the 2AFC kit for people as judges;
- :mod:`.judging`: the independent judges and the balanced targets every study uses;
- :mod:`.science`, :mod:`.report`: the saved results, their tables and the pages they rewrite.
"""
