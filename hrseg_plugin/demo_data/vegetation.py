"""Vegetation: hedges along the street and street trees."""
import cv2
import numpy as np

from .classes import VEGETATION
from .palette import jitter


def draw_hedge(scene, cam, x_line, side, z0, z1, height=None):
    """A hedge along X = x_line (inner face towards the street + top)."""
    rng = scene.rng
    depth = rng.uniform(0.6, 1.2)
    height = rng.uniform(0.8, 1.6) if height is None else height
    xi = x_line - side * depth
    face = cam.pts([(xi, 0, z0), (xi, 0, z1), (xi, height, z1),
                    (xi, height, z0)])
    top = cam.pts([(xi, height, z0), (xi, height, z1), (x_line, height, z1),
                   (x_line, height, z0)])
    colour = jitter(rng, (45, 100, 60), 12)
    scene.paint(scene.poly_mask(face, top), VEGETATION, colour, noise=14,
                blotch=25, cell=3)


def draw_tree(scene, cam, xt, zt):
    """A street tree: trunk and a crown of overlapping leafy blobs."""
    rng = scene.rng
    s = cam.px_per_m(zt)
    crown_y = rng.uniform(3.5, 6.5)
    radius = rng.uniform(1.3, 2.8)
    u0, v0 = cam.project(xt, 0.0, zt)
    uc, vc = cam.project(xt, crown_y, zt)
    m = scene.mask()
    t = max(1, int(round(0.28 * s)))
    cv2.line(m, (int(round(u0)), int(round(v0))), (int(round(uc)),
                                                   int(round(vc))), 255, t)
    scene.paint(m, VEGETATION, jitter(rng, (50, 65, 80), 10), noise=8)
    m = scene.mask()
    for _ in range(rng.integers(6, 14)):
        du, dv = rng.normal(0, 0.55 * radius * s, 2)
        r = rng.uniform(0.35, 0.7) * radius * s
        cv2.circle(m, (int(round((uc + du) * 8)), int(round((vc + dv) * 8))),
                   max(1, int(round(r * 8))), 255, -1, cv2.LINE_8, 3)
    # ragged leafy outline
    bx, by, bw, bh = cv2.boundingRect(m)
    if bw == 0 or bh == 0:  # crown out of view
        return
    edge = cv2.morphologyEx(m[by:by + bh, bx:bx + bw], cv2.MORPH_GRADIENT,
                            np.ones((3, 3), np.uint8))
    ys, xs = np.nonzero(edge)
    keep = rng.random(len(xs)) < 0.15
    for x_, y_ in zip(xs[keep] + bx, ys[keep] + by):
        cv2.circle(m, (int(x_), int(y_)), int(rng.integers(1, 3)), 255, -1)
    green = jitter(rng, (55, 120, 80), 15)
    scene.paint(m, VEGETATION, green, noise=16, blotch=28,
                cell=max(2.0, 0.25 * s), vgrad=-12)
