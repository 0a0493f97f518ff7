"""A generated probe set with known content: shapes x colours x textures, drawn with Pillow.

Deterministic for a seed. Every image knows what it shows, so the demo study can plant
concepts in neurons, label some right and some wrong, and the demo CLIP can be trained on
captions that say what is in each picture. Plain Python: no Django.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 210, 40),
    "purple": (140, 60, 180),
    "orange": (245, 140, 30),
}
SHAPES = ("circle", "square", "triangle", "star")
TEXTURES = ("plain", "striped", "dotted", "checkered")


@dataclass(frozen=True)
class DemoImage:
    shape: str
    color: str
    texture: str
    variant: int
    png: bytes

    @property
    def concepts(self) -> tuple[str, str, str]:
        return (self.color, self.shape, self.texture)

    @property
    def caption(self) -> str:
        texture = "" if self.texture == "plain" else f"{self.texture} "
        return f"a {texture}{self.color} {self.shape}"


def _shape_mask(shape: str, size: int, rng: random.Random) -> Image.Image:
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    half = size * rng.uniform(0.28, 0.40)
    cx, cy = size / 2 + rng.uniform(-4, 4), size / 2 + rng.uniform(-4, 4)
    if shape == "circle":
        draw.ellipse([cx - half, cy - half, cx + half, cy + half], fill=255)
    elif shape == "square":
        draw.rectangle([cx - half, cy - half, cx + half, cy + half], fill=255)
    elif shape == "triangle":
        draw.polygon([(cx, cy - half), (cx - half, cy + half), (cx + half, cy + half)], fill=255)
    else:
        import math

        points = []
        for i in range(10):
            radius = half if i % 2 == 0 else half * 0.45
            angle = math.pi / 2 + i * math.pi / 5
            points.append((cx + radius * math.cos(angle), cy - radius * math.sin(angle)))
        draw.polygon(points, fill=255)
    return mask


def _fill(texture: str, color: tuple[int, int, int], size: int) -> Image.Image:
    fill = Image.new("RGB", (size, size), color)
    if texture == "plain":
        return fill
    draw = ImageDraw.Draw(fill)
    light = tuple(min(255, c + 110) for c in color)
    step = max(4, size // 8)
    for a in range(0, size, step):
        for b in range(0, size, step):
            if texture == "striped" and b == 0:
                draw.rectangle([a, 0, a + step // 2 - 1, size], fill=light)
            elif texture == "dotted":
                draw.ellipse([a + 1, b + 1, a + step // 2, b + step // 2], fill=light)
            elif texture == "checkered" and (a // step + b // step) % 2 == 0:
                draw.rectangle([a, b, a + step - 1, b + step - 1], fill=light)
    return fill


def render(
    shape: str, color: str, texture: str, variant: int = 0, size: int = 64, seed: int = 0
) -> DemoImage:
    rng = random.Random(f"{seed}:{shape}:{color}:{texture}:{variant}")
    background = tuple(rng.randint(215, 250) for _ in range(3))
    img = Image.new("RGB", (size, size), background)
    img.paste(_fill(texture, COLORS[color], size), (0, 0), _shape_mask(shape, size, rng))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return DemoImage(shape, color, texture, variant, buf.getvalue())


def generate_probe_set(seed: int = 0, variants: int = 2, size: int = 64) -> list[DemoImage]:
    """Every shape x colour x texture, `variants` times each (6*4*4*2 = 192 images by default)."""
    return [
        render(shape, color, texture, variant, size=size, seed=seed)
        for shape in SHAPES
        for color in COLORS
        for texture in TEXTURES
        for variant in range(variants)
    ]
