"""Model inversion attack (paper §VI-B): can a network learn to undo the anonymization?

Per method, a small convolutional encoder-decoder is trained on (anonymized -> original)
instance crop pairs from half of the evaluation frames and applied to the crops of the other
half. Reported: how close the inverted crops get to the originals (PSNR, next to the PSNR of
the anonymized crops themselves) and the strongest attacker's person rank-1 with the inverted
crops as queries. A method whose replacement carries nothing of the original cannot be
inverted: its inverted crops are no closer than an average person.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import EvalError

SIZE = 32  # crops are resized to SIZE x SIZE for the inversion network (small: CPU-trainable in seconds)


def _to_tensor(torch, crops: list[np.ndarray]):
    x = np.stack([cv2.resize(c, (SIZE, SIZE), interpolation=cv2.INTER_AREA) for c in crops]).astype(np.float32)
    return torch.from_numpy(x.transpose(0, 3, 1, 2) / 127.5 - 1.0)


def _from_tensor(x) -> list[np.ndarray]:
    arr = ((x.clamp(-1, 1).numpy() + 1.0) * 127.5).round().astype(np.uint8).transpose(0, 2, 3, 1)
    return list(arr)


def _network(torch):
    nn = torch.nn

    def block(i, o, stride=1):
        return nn.Sequential(nn.Conv2d(i, o, 3, stride, 1), nn.BatchNorm2d(o), nn.ReLU(inplace=True))

    class Inverter(nn.Module):
        def __init__(self):
            super().__init__()
            self.e1, self.e2, self.e3 = block(3, 16), block(16, 32, 2), block(32, 64, 2)
            self.mid = block(64, 64)
            self.up2, self.d2 = nn.Upsample(scale_factor=2), block(64 + 32, 32)
            self.up1, self.d1 = nn.Upsample(scale_factor=2), block(32 + 16, 16)
            self.out = nn.Conv2d(16, 3, 1)

        def forward(self, x):
            a = self.e1(x)
            b = self.e2(a)
            c = self.mid(self.e3(b))
            d = self.d2(torch.cat([self.up2(c), b], 1))
            e = self.d1(torch.cat([self.up1(d), a], 1))
            return torch.tanh(self.out(e))

    return Inverter()


def psnr(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """Mean PSNR (dB) over pairs of equal-size uint8 crops."""
    values = []
    for x, y in zip(a, b, strict=True):
        mse = np.mean((x.astype(np.float64) - y.astype(np.float64)) ** 2)
        values.append(99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse))
    return float(np.mean(values)) if values else float("nan")


def train_and_invert(
    train_anon: list[np.ndarray],
    train_orig: list[np.ndarray],
    test_anon: list[np.ndarray],
    steps: int = 300,
    batch: int = 32,
    seed: int = 0,
) -> list[np.ndarray]:
    """Train the inverter on the pairs, return the inverted test crops (SIZE x SIZE, BGR)."""
    try:
        import torch
    except ImportError as e:
        raise EvalError("the inversion attack needs torch: pip install torch==2.13.0 (the eval extra)") from e
    if len(train_anon) < 2:
        raise EvalError("the inversion attack needs at least 2 training pairs")
    torch.manual_seed(seed)
    net = _network(torch)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    x, y = _to_tensor(torch, train_anon), _to_tensor(torch, train_orig)
    rng = np.random.default_rng(seed)
    net.train()
    for _ in range(steps):
        idx = torch.from_numpy(rng.choice(len(x), min(batch, len(x)), replace=len(x) < batch))
        xb, yb = x[idx], y[idx]
        if rng.random() < 0.5:  # mirror: people and cars look alike both ways
            xb, yb = xb.flip(3), yb.flip(3)
        loss = (net(xb) - yb).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.inference_mode():
        return _from_tensor(torch.cat([net(t) for t in _to_tensor(torch, test_anon).split(64)]))


def resized(crops: list[np.ndarray]) -> list[np.ndarray]:
    return [cv2.resize(c, (SIZE, SIZE), interpolation=cv2.INTER_AREA) for c in crops]
