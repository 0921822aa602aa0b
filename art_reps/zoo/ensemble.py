"""Judges that answer together: the mean of their members' class probabilities.

``Ensemble(members)`` takes classifiers that each read ``features`` (N, D_i) and then a
``classifier`` (as :class:`~art_reps.zoo.JudgeNet` and ``MixerJudge`` do). Its output (N, K) is
the log of the members' mean softmax (its argmax is the joint answer); its ``features`` layer
gives the members' features, each scaled to unit length, side by side, so the cosine between two
images' joint features is the mean of the members' cosines.

Examples:
    >>> from art_reps.zoo import ARCHITECTURES
    >>> pair = Ensemble([ARCHITECTURES["JudgeNet"](), ARCHITECTURES["MixerJudge"]()]).eval()
    >>> x = torch.rand(2, 3, 32, 32)
    >>> pair(x).exp().sum(1).round(decimals=4).tolist()
    [1.0, 1.0]
"""
from __future__ import annotations

import torch
from torch import nn


class Ensemble(nn.Module):
    def __init__(self, members):
        super().__init__()
        members = list(members)
        for i, m in enumerate(members):
            if not (hasattr(m, "features") and hasattr(m, "classifier")):
                raise TypeError(f"members[{i}] must have 'features' and 'classifier' modules, got {type(m).__name__}")
        self.members = nn.ModuleList(members)
        self.features = nn.Identity()  # the joint features, where a Representation reads them

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        own = [m.features(x) for m in self.members]
        self.features(torch.cat([nn.functional.normalize(f.flatten(1), dim=1) for f in own], 1))
        probabilities = torch.stack([m.classifier(f).softmax(1) for m, f in zip(self.members, own)]).mean(0)
        return probabilities.log()
