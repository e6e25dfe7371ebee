"""torch modules of the learned blocks (training only; inference runs their ONNX export).

- MaskUNet: the paper's simplified UNet, first layer 8 channels, widths doubling (8-16-32-64),
  input = crop (RGB in [0,1]) + a category plane; output = mask logits.
- Generator: pix2pix U-Net (4x4 stride-2 convs), condition = mask, edges, category plane;
  the latent enters twice: as 4 spatial noise channels (a learned projection of z, so the
  instance stays a function of z) and FiLM-style at the bottleneck, where it cannot be
  ignored as easily as input noise.
- PatchDiscriminator: 70x70-style PatchGAN scaled to 64x64 crops (any size works: it scores
  patches), conditioned like G.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812


def _double_conv(cin: int, cout: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """Encoder of double convolutions (widths given, max-pooled between), optional dilated
    blocks at the bottleneck, transposed-convolution decoder with skips, 1x1 head."""

    def __init__(self, cin: int, cout: int, widths: list[int] | tuple[int, ...], bottleneck_dilations: tuple = ()):
        super().__init__()
        self.enc = nn.ModuleList()
        c = cin
        for w in widths:
            self.enc.append(_double_conv(c, w))
            c = w
        self.mid = nn.Sequential(*[_double_conv(c, c, d) for d in bottleneck_dilations])
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(c, w, 2, stride=2))
            self.dec.append(_double_conv(2 * w, w))
            c = w
        self.head = nn.Conv2d(c, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.enc):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = self.mid(x)
        for up, block, skip in zip(self.up, self.dec, reversed(skips[:-1]), strict=True):
            x = block(torch.cat([up(x), skip], 1))
        return self.head(x)


class MaskUNet(nn.Module):
    """stem 1: the paper's UNet at the crop's resolution. stem 2: a strided 4x4 convolution
    first, the UNet at half resolution, logits upsampled bilinearly: the full-resolution
    levels with few channels cost the most time per FLOP on a CPU, and a mask's outline at
    half resolution, interpolated, loses little."""

    ARCH = {"widths": [8, 16, 32, 64], "stem": 1}

    def __init__(self, widths: list[int] | tuple[int, ...] = (8, 16, 32, 64), stem: int = 1):
        super().__init__()
        self.stem = stem
        if stem == 1:
            self.down = nn.Identity()
        else:
            self.down = nn.Sequential(nn.Conv2d(4, widths[0], 4, stride=2, padding=1), nn.ReLU(inplace=True))
        self.unet = UNet(4 if stem == 1 else widths[0], 1, list(widths))

    def forward(self, image: torch.Tensor, category: torch.Tensor) -> torch.Tensor:
        """image (N,3,S,S) in [0,1]; category (N,) float (0 person, 1 car) -> logits (N,1,S,S)."""
        x = torch.cat([image, category.view(-1, 1, 1, 1).expand(-1, 1, *image.shape[2:])], 1)
        logits = self.unet(self.down(x))
        if self.stem == 1:
            return logits
        return F.interpolate(logits, size=image.shape[2:], mode="bilinear", align_corners=False)


class Generator(nn.Module):
    # Narrow where the resolution is high: the decoder's last levels cost the most per pixel.
    # Fully convolutional: any S that is a multiple of 32.
    WIDTHS = (16, 32, 64, 128, 128)

    def __init__(self, latent_dim: int = 16, widths: tuple[int, ...] = WIDTHS):
        super().__init__()
        self.latent_dim = latent_dim
        self.z_map = nn.Linear(latent_dim, 4 * 8 * 8)
        cin = 3 + 4  # mask, edges, category + 4 noise channels
        self.down = nn.ModuleList()
        for i, c in enumerate(widths):
            layers = [nn.Conv2d(cin, c, 4, stride=2, padding=1, bias=i == 0)]
            if i > 0:
                layers.append(nn.InstanceNorm2d(c, affine=True))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            self.down.append(nn.Sequential(*layers))
            cin = c
        self.film = nn.Linear(latent_dim, 2 * widths[-1])
        self.ups = nn.ModuleList()
        rev = list(reversed(widths))
        for i, c in enumerate(rev[1:]):
            cin_up = rev[0] if i == 0 else 2 * rev[i]
            self.ups.append(
                nn.Sequential(
                    nn.ConvTranspose2d(cin_up, c, 4, stride=2, padding=1, bias=False),
                    nn.InstanceNorm2d(c, affine=True),
                    nn.ReLU(inplace=True),
                )
            )
        self.out = nn.Sequential(nn.ConvTranspose2d(2 * widths[0], 3, 4, stride=2, padding=1), nn.Tanh())

    def forward(self, cond: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """cond (N,3,S,S): mask, edges, category plane in {0,1}; z (N,Z) -> image (N,3,S,S) in [-1,1] (BGR)."""
        noise = self.z_map(z).view(-1, 4, 8, 8)
        noise = F.interpolate(noise, size=cond.shape[2:], mode="bilinear", align_corners=False)
        x = torch.cat([cond, noise], 1)
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        gamma, beta = self.film(z).chunk(2, 1)
        x = x * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]
        for i, block in enumerate(self.ups):
            x = block(x if i == 0 else torch.cat([x, skips[-1 - i]], 1))
        return self.out(torch.cat([x, skips[0]], 1))


class PatchDiscriminator(nn.Module):
    """Scores overlapping ~34x34 patches of a 64x64 crop (14x14 outputs)."""

    def __init__(self, width: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(6, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=False),
            nn.InstanceNorm2d(2 * width, affine=True),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * width, 4 * width, 4, stride=1, padding=1, bias=False),
            nn.InstanceNorm2d(4 * width, affine=True),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(4 * width, 1, 4, stride=1, padding=1),
        )

    def forward(self, cond: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([cond, image], 1))

    def features(self, cond: torch.Tensor, image: torch.Tensor) -> list[torch.Tensor]:
        """The activations after each LeakyReLU (feature matching, pix2pixHD)."""
        x, out = torch.cat([cond, image], 1), []
        for layer in self.net:
            x = layer(x)
            if isinstance(layer, nn.LeakyReLU):
                out.append(x)
        return out


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
