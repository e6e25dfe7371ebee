"""torch modules of the SVIA blocks (training only; inference runs their ONNX export).

All three are small, fully convolutional and run at any size divisible by 16:
- SceneSegmenter: a UNet (16-32-64-128-128) with 11 class logits (CamVid).
- SceneInpainter: a UNet whose input is the noisy frame, the region mask, one plane per
  category (one-hot) and the noise scale; dilated convolutions at the bottleneck give it the
  context of the whole working frame, which it needs to invent a facade or a road where the
  noise left nothing. Output: the frame with the region synthesized (composited inside).
- SceneHarmonizer: a small residual UNet (16-32-64-64) on the composite + region mask.
"""

from __future__ import annotations

import torch
from torch import nn

from ..svia.classes import CAMVID_CLASSES, CATEGORY_NAMES
from .models import UNet


class SceneSegmenter(nn.Module):
    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 128, 128)):
        super().__init__()
        self.net = UNet(3, len(CAMVID_CLASSES), widths)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """image (N,3,H,W) BGR in [0,1] -> logits (N,11,H,W)."""
        return self.net(image)


class SceneInpainter(nn.Module):
    def __init__(self, widths: tuple[int, ...] = (24, 48, 96, 128, 128)):
        super().__init__()
        self.net = UNet(3 + 1 + len(CATEGORY_NAMES) + 1, 3, widths, bottleneck_dilations=(2, 4))

    def forward(self, image: torch.Tensor, mask: torch.Tensor, category: torch.Tensor, noise: torch.Tensor):
        """image (N,3,H,W) noisy BGR in [0,1]; mask (N,1,H,W) {0,1}; category (N,K) one-hot;
        noise (N,) Laplace scale / 255 -> (N,3,H,W) in [0,1]: the region synthesized, the rest
        of the frame passed through."""
        n, _, h, w = image.shape
        planes = category[:, :, None, None].expand(-1, -1, h, w)
        level = noise.view(n, 1, 1, 1).expand(-1, 1, h, w)
        out = torch.sigmoid(self.net(torch.cat([image, mask, planes, level], 1)))
        return out * mask + image * (1 - mask)


class SceneHarmonizer(nn.Module):
    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 64)):
        super().__init__()
        # A UNet, not a stack of convolutions: a region's colour shift is only visible against
        # the rest of the frame, so the net needs the whole frame's context.
        self.net = UNet(4, 3, widths)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """image (N,3,H,W) composite BGR in [0,1]; mask (N,1,H,W) edited regions -> (N,3,H,W)
        in [0,1]: the composite plus a learned residual (the caller decides where it applies)."""
        return torch.clamp(image + torch.tanh(self.net(torch.cat([image, mask], 1))), 0, 1)
