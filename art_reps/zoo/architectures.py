"""The small networks behind the embedded models (32x32 RGB in [0, 1], 10 classes).

Both take un-normalised images: the embedded models need no mean/std.
The representation of ``SmallResNet`` is ``"avgpool"`` (128-d); its final ReLU is ``"layer3.relu2"``.
"""
from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, residual: bool = True):
        super().__init__()
        self.residual = residual
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu2 = nn.ReLU()
        self.shortcut: nn.Module = nn.Identity()
        if residual and (stride != 1 or cin != cout):
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x) if self.residual else out)


class SmallResNet(nn.Module):
    """3x3 stem (``width`` ch), three basic blocks (width, 2·width /2, 4·width /2), global average
    pool, linear head. ``residual=False`` drops the skip connections (and the 1x1 shortcut
    convolutions): the same network without residuals, for Nanda et al.'s architecture comparison.

    Examples:
        >>> SmallResNet()(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 10])
        >>> SmallResNet(width=16, residual=False).layer2.shortcut
        Identity()
    """

    def __init__(self, num_classes: int = 10, width: int = 32, residual: bool = True, in_channels: int = 3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.layer1 = BasicBlock(width, width, 1, residual)
        self.layer2 = BasicBlock(width, 2 * width, 2, residual)
        self.layer3 = BasicBlock(2 * width, 4 * width, 2, residual)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, num_classes)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class JudgeNet(nn.Module):
    """A plain VGG-style CNN (no residuals): the independent judge, a different architecture.

    Examples:
        >>> JudgeNet()(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()

        def unit(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        self.features = nn.Sequential(
            *unit(3, 32), *unit(32, 32), nn.MaxPool2d(2),
            *unit(32, 64), *unit(64, 64), nn.MaxPool2d(2),
            *unit(64, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(128, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class _Residual(nn.Module):
    def __init__(self, fn: nn.Module):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return x + self.fn(x)


class MixerJudge(nn.Module):
    """A small ConvMixer (Trockman & Kolter 2022): 2x2 patch embedding, then ``depth`` blocks of a
    depthwise 5x5 convolution (with a skip) and a pointwise one, GELU, no downsampling: a second
    judge unlike both JudgeNet and the SmallResNets under test.

    Examples:
        >>> MixerJudge()(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 10, dim: int = 96, depth: int = 6):
        super().__init__()

        def act(c):
            return [nn.GELU(), nn.BatchNorm2d(c)]

        self.features = nn.Sequential(
            nn.Conv2d(3, dim, 2, stride=2), *act(dim),
            *[nn.Sequential(_Residual(nn.Sequential(nn.Conv2d(dim, dim, 5, groups=dim, padding=2), *act(dim))),
                            nn.Conv2d(dim, dim, 1), *act(dim)) for _ in range(depth)],
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.classifier = nn.Linear(dim, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x))


ARCHITECTURES = {"SmallResNet": SmallResNet, "JudgeNet": JudgeNet, "MixerJudge": MixerJudge}
