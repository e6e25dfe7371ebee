"""Weight-free generator: paints a plausible person or vehicle inside the mask.

Colours, part proportions, lighting and texture all come from the latent; the layout
comes from the mask (head/torso/legs, glass/body/wheels by relative height) and the edge
map adds structure lines. Each instance becomes a map of part labels, coloured by a
per-instance palette in one gather, then lit: a few array operations for the whole batch.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..config import Config, ConfigError, GeneratorConfig

F32 = np.float32
# BGR palettes.
SKIN = np.array([[180, 200, 240], [130, 165, 215], [110, 150, 200], [75, 105, 150], [55, 80, 120]], F32)
HAIR = np.array([[20, 25, 35], [30, 50, 80], [45, 60, 70], [60, 120, 170], [120, 120, 125]], F32)
TROUSERS = np.array([[120, 70, 40], [30, 30, 32], [90, 90, 90], [110, 150, 170], [70, 40, 30], [60, 75, 60]], F32)
SHOES = np.array([[25, 25, 30], [200, 200, 205], [40, 55, 80]], F32)
CAR_BODY = np.array(
    [[235, 235, 235], [190, 190, 185], [30, 30, 32], [110, 110, 112], [30, 30, 170], [140, 60, 25], [40, 70, 35],
     [150, 190, 210], [60, 60, 90]],
    F32,
)  # fmt: skip
GLASS = np.array([55, 50, 45], F32)
TYRE = np.array([22, 22, 24], F32)
LAMPS = np.array([[40, 40, 200], [190, 230, 240]], F32)  # rear red, front warm white
PLATE = np.array([225, 228, 230], F32)  # blank: no characters
GRILLE = np.array([45, 45, 48], F32)
VEHICLES = {"car", "bus", "truck", "train"}


def _unit(z: np.ndarray) -> np.ndarray:
    """N(0,1) latent -> roughly uniform (0,1)."""
    return (1.0 / (1.0 + np.exp(-1.7 * z))).astype(F32)


def _pick(palette: np.ndarray, u: np.ndarray) -> np.ndarray:
    return palette[np.minimum((u * len(palette)).astype(int), len(palette) - 1)]


def _col(v: np.ndarray) -> np.ndarray:
    return v[:, None, None]


class ProceduralGenerator:
    def __init__(self, cfg: GeneratorConfig, full: Config | None = None):
        if cfg.latent_dim < 16:
            raise ConfigError("config key 'generator.latent_dim': the procedural generator needs at least 16")
        self.latent_dim = cfg.latent_dim

    def generate(self, category: str, masks: np.ndarray, edges: np.ndarray, latents: np.ndarray) -> np.ndarray:
        n, s = masks.shape[:2]
        if n == 0:
            return np.zeros((0, s, s, 3), np.uint8)
        m = masks.astype(bool)
        z = _unit(latents)
        # Relative height t (0 at the mask's top row, 1 at its bottom) and, per row, the
        # relative horizontal position u inside the mask.
        rows_any = m.any(2)
        top = rows_any.argmax(1).astype(F32)
        bottom = (s - rows_any[:, ::-1].argmax(1)).astype(F32)
        idx = np.arange(s, dtype=F32)
        t = ((idx[None, :] - top[:, None]) / np.maximum(bottom - top, 1)[:, None])[:, :, None]
        first = m.argmax(2).astype(F32)[:, :, None]
        last = (s - m[:, :, ::-1].argmax(2)).astype(F32)[:, :, None]
        u = np.clip((idx[None, None, :] - first) / np.maximum(last - first, 1), 0, 1)

        if category == "person":
            labels, palette, factor = self._person(z, t, u)
        elif category in VEHICLES:
            labels, palette, factor = self._vehicle(z, t, u)
        else:
            labels = np.zeros((n, s, s), np.intp)
            palette, factor = _pick(CAR_BODY, z[:, 0])[:, None, :], np.ones((n, s, s), F32)
        k = palette.shape[1]
        flat = labels + (np.arange(n) * k)[:, None, None]
        img = np.take(palette.reshape(n * k, 3), flat, axis=0)  # (N,S,S,3)

        light = _col(0.55 + 0.45 * z[:, 11])  # which side the light comes from
        off = np.abs(u - light)
        factor *= 1.0 - 0.38 * off * np.sqrt(off)
        factor *= 1.0 + 0.15 * (_col(z[:, 10]) - 0.5) - 0.12 * t
        # Structure from the (blurred) edges of the original, and a darker silhouette rim.
        interior = m.copy()
        interior[:, 1:, :] &= m[:, :-1, :]
        interior[:, :-1, :] &= m[:, 1:, :]
        interior[:, :, 1:] &= m[:, :, :-1]
        interior[:, :, :-1] &= m[:, :, 1:]
        factor *= 1.0 - 0.45 * edges - 0.25 * (m & ~interior)
        factor *= m
        img *= factor[..., None]
        img += (self._texture(z, t, u) * m)[..., None]
        return np.clip(img, 0, 255).astype(np.uint8)

    @staticmethod
    def _texture(z: np.ndarray, t: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Low-frequency cloth/paint variation: two plane waves whose direction, frequency
        and phase come from the instance's own latent."""
        angle, freq = _col(z[:, 12] * np.pi), _col(2.0 + 6.0 * z[:, 13])
        phase, amp = _col(z[:, 14] * 2 * np.pi), _col(4.0 + 6.0 * z[:, 15])
        wave = np.sin(freq * (np.cos(angle) * u + np.sin(angle) * t) * 2 * np.pi + phase)
        wave += 0.5 * np.sin(2.3 * freq * (np.sin(angle) * u - np.cos(angle) * t) * 2 * np.pi - phase)
        return (amp * wave).astype(F32)

    @staticmethod
    def _person(z: np.ndarray, t: np.ndarray, u: np.ndarray):
        n = len(z)
        hsv = np.stack([z[:, 2] * 179, 40 + z[:, 3] * 200, 50 + z[:, 4] * 190], 1).astype(np.uint8)[:, None]
        top = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[:, 0].astype(F32)
        # Palette order = label: 0 shoes, 1 trousers, 2 top, 3 skin, 4 hair.
        palette = np.stack(
            [_pick(SHOES, z[:, 6]), _pick(TROUSERS, z[:, 5]), top, _pick(SKIN, z[:, 0]), _pick(HAIR, z[:, 1])], 1
        )
        hairline, neck = _col(0.035 + 0.03 * z[:, 9]), _col(0.12 + 0.03 * z[:, 7])
        waist = _col(0.47 + 0.08 * z[:, 8])
        labels = (t < 0.94).astype(np.intp) + (t < waist) + (t < neck) + (t < hairline)
        labels = np.broadcast_to(labels, (n, t.shape[1], u.shape[2])).copy()
        # Bare forearms at the sides of the torso (short sleeves) for about half the people.
        arms = (t > waist - 0.12) & (t < waist) & ((u < 0.14) | (u > 0.86)) & _col(z[:, 7] > 0.5)
        labels[arms] = 3
        # Shadow between the legs and under the arms gives the silhouette its limbs.
        factor = np.ones(labels.shape, F32)
        factor[(t > waist + 0.08) & (t < 0.94) & (np.abs(u - 0.5) < 0.07)] = 0.55
        return labels, palette, factor

    @staticmethod
    def _vehicle(z: np.ndarray, t: np.ndarray, u: np.ndarray):
        n = len(z)
        body = _pick(CAR_BODY, z[:, 0])
        grey = (95 + 60 * z[:, 6:7]) * np.array([[1.0, 1.02, 1.0]], F32)
        # Palette order = label: 0 body, 1 glass, 2 shoulder highlight, 3 lamps, 4 tyres and
        # shadow, 5 backdrop (the mask's corners around the cabin), 6 plate, 7 grille.
        palette = np.stack(
            [body, np.broadcast_to(GLASS, body.shape), np.minimum(body * 1.35 + 20, 255),
             LAMPS[(z[:, 5] > 0.5).astype(int)], np.broadcast_to(TYRE, body.shape), grey,
             np.broadcast_to(PLATE, body.shape), np.broadcast_to(GRILLE, body.shape)],
            1,
        )  # fmt: skip
        roof, belt = _col(0.04 + 0.05 * z[:, 1]), _col(0.38 + 0.1 * z[:, 2])
        top_half, pillar = _col(0.3 + 0.1 * z[:, 3]), _col(0.03 + 0.03 * z[:, 4])
        rel = np.clip(t / belt, 0, 1)  # 0 at the roof, 1 at the belt line
        half = top_half + (0.5 - top_half) * rel  # the cabin widens towards the belt line
        off = np.abs(u - 0.5)
        labels = np.zeros((n, t.shape[1], u.shape[2]), np.intp)
        above = np.broadcast_to(t < belt, labels.shape)
        labels[above & (off > half)] = 5
        glass = (t > roof) & (t < belt - 0.03) & (off < half - pillar)
        labels[glass] = 1
        labels[np.broadcast_to((t > belt) & (t < belt + 0.04), labels.shape)] = 2
        band = (t > belt + 0.06) & (t < belt + 0.17)
        labels[band & (off > 0.33)] = 3
        labels[band & (off < 0.2)] = 7
        labels[(t > belt + 0.22) & (t < belt + 0.3) & (off < 0.1)] = 6
        wheels = (t > 0.72) & (off > 0.28) & (off < 0.46)
        labels[wheels | np.broadcast_to(t > 0.9, labels.shape)] = 4
        # Sky reflection on the glass: brighter towards the roof; the body darkens towards
        # the ground as under an overcast sky.
        factor = np.where(glass, 1.0 + 0.6 * np.clip(1.0 - (t - roof) / (belt - roof), 0, 1), 1.0).astype(F32)
        factor *= 1.0 - 0.35 * np.clip(t - belt, 0, 1) * _col(z[:, 7])
        return labels, palette, factor
