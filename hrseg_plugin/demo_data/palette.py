"""Colours of the demo scenes: base colours (BGR) per kind of object, and the
per-instance jitter that keeps two instances of a kind from looking alike."""
import numpy as np


# Base colours (BGR) to pick from; each instance jitters its pick. Ranges
# deliberately overlap (grey road / sidewalk / wall / car / pole, green
# vegetation / terrain) so that colour alone does not decide the class.
CAR_COLOURS = ((225, 225, 228), (170, 172, 175), (105, 108, 110), (38, 38, 40),
               (95, 45, 25), (35, 35, 150), (150, 90, 45), (55, 95, 50),
               (150, 175, 200), (40, 120, 200))
FACADE_COLOURS = ((150, 160, 170), (120, 140, 175), (80, 95, 140),
                  (175, 180, 185), (110, 110, 115), (140, 165, 195),
                  (95, 110, 125), (200, 205, 210))
CLOTHES_COLOURS = ((40, 40, 45), (120, 70, 30), (30, 30, 140), (200, 200, 200),
                   (60, 110, 60), (140, 140, 150), (50, 90, 160), (90, 50, 90),
                   (20, 160, 200), (70, 60, 50))
WALK_COLOURS = ((150, 150, 155), (140, 158, 172), (125, 125, 165),
                (165, 160, 160))
SKIN_COLOURS = ((150, 180, 225), (110, 145, 190), (70, 100, 140),
                (45, 65, 95))


def jitter(rng, colour, amount):
    """Per-instance colour: a brightness shift of std ``amount`` plus a
    weaker shift per channel (so greys stay mostly grey)."""
    shift = rng.normal(0, amount) + rng.normal(0, 0.35 * amount, 3)
    return np.clip(np.asarray(colour, np.float32) + shift.astype(np.float32),
                   0, 255)


def pick(rng, palette):
    """A random entry of ``palette``."""
    return palette[rng.integers(len(palette))]
