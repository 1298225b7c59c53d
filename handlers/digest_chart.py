"""The digest's small chart: new demands, proposals sent and engagements started per week.

Drawn with Pillow rather than matplotlib: a few bars, grid lines and digits need no
plotting library, Pillow imports in milliseconds (matplotlib takes most of a second and
builds a font cache on first use) and brings no dependencies of its own. The chart holds
only digits and dates, so one image reads the same in every language (and needs no CJK
font); the translated caption says which colour is which.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from storage.stats import Week

WIDTH, HEIGHT = 720, 360
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 44
# The caption's 🟦 🟧 🟩 in that order: demands, proposals, engagements.
COLOURS = ((52, 120, 246), (245, 140, 30), (46, 160, 67))
GRID, INK, BACKGROUND = (225, 225, 225), (60, 60, 60), (255, 255, 255)


def _ceiling(value: int) -> int:
    """A round top for the axis: 1, 2 or 5 times a power of ten, at least `value`."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def weekly_chart(weeks: Sequence[Week], timezone: dt.tzinfo) -> bytes:
    """A PNG of grouped bars, one group per week (oldest on the left)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    small = ImageFont.load_default(size=11)
    top = _ceiling(max([1, *(max(w.demands, w.proposals, w.engagements) for w in weeks)]))
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_height

    for fraction in (0, 0.5, 1):
        y = base - fraction * plot_height
        draw.line([(LEFT, y), (WIDTH - RIGHT, y)], fill=GRID, width=1)
        if float(top * fraction).is_integer():  # counts: no "2.5" on the axis
            draw.text((LEFT - 8, y), f"{top * fraction:g}", fill=INK, font=font, anchor="rm")

    group = plot_width / max(1, len(weeks))
    bar = group * 0.8 / 3
    for n, week in enumerate(weeks):
        left = LEFT + n * group + group * 0.1
        for k, value in enumerate((week.demands, week.proposals, week.engagements)):
            x0 = left + k * bar
            height = value / top * plot_height
            if value:
                draw.rectangle([(x0, base - height), (x0 + bar - 2, base)], fill=COLOURS[k])
                draw.text(
                    (x0 + bar / 2, base - height - 2), str(value), fill=INK, font=small, anchor="mb"
                )
        day = week.start.astimezone(timezone)
        draw.text(
            (LEFT + (n + 0.5) * group, base + 8), f"{day:%m-%d}", fill=INK, font=font, anchor="mt"
        )

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
