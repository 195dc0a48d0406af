"""Street furniture: thin poles carrying traffic signs, traffic lights
(sometimes on an arm over the road) or street lamps."""
import cv2
import numpy as np

from .classes import POLE, TRAFFIC_LIGHT, TRAFFIC_SIGN
from .palette import jitter
from .scene import SHIFT, cv_pts


def pole_rect(cam, xp, zp, y0, y1):
    """Pixel rectangle (left, top, width, bottom) of a vertical pole: 1 to
    3 px wide whatever the depth."""
    u, v0 = cam.project(xp, y0, zp)
    _, v1 = cam.project(xp, y1, zp)
    width = int(np.clip(round(0.12 * cam.px_per_m(zp)), 1, 3))
    left = int(np.floor(u - width / 2 + 0.5))
    return left, int(round(v1)), width, int(round(v0))


def draw_pole(scene, cam, xp, zp, height):
    """A bare thin pole; returns the pixel position of its top."""
    rng = scene.rng
    left, top, width, bottom = pole_rect(cam, xp, zp, 0.0, height)
    m = scene.mask()
    m[max(top, 0):max(bottom, 0), max(left, 0):max(left + width, 0)] = 255
    scene.paint(m, POLE, jitter(rng, (120, 120, 125), 20), noise=6, vgrad=8)
    return left + width / 2, top


def draw_sign(scene, cam, xp, yc, zp, inst):
    """A traffic sign panel (disc, triangle, square, rectangle or diamond)."""
    rng = scene.rng
    s = cam.px_per_m(zp)
    u, v = cam.project(xp, yc, zp)
    size = rng.uniform(0.55, 0.8) * s / 2
    kind = rng.integers(5)
    red, blue = (35, 35, 190), (150, 80, 20)
    yellow, white = (30, 190, 230), (225, 225, 225)
    outer, inner = [(red, white), (blue, white), (red, white), (white, blue),
                    (white, yellow)][kind]
    outer, inner = jitter(rng, outer, 10), jitter(rng, inner, 10)

    def shape(k, r):
        if k in (0, 1):
            return 'circle', r
        if k == 2:  # triangle, point up
            return 'poly', [(u - r, v + 0.7 * r), (u + r, v + 0.7 * r),
                            (u, v - r)]
        if k == 3:  # rectangle
            return 'poly', [(u - 1.3 * r, v - 0.8 * r), (u + 1.3 * r,
                                                         v - 0.8 * r),
                            (u + 1.3 * r, v + 0.8 * r), (u - 1.3 * r,
                                                         v + 0.8 * r)]
        return 'poly', [(u, v - r), (u + r, v), (u, v + r), (u - r, v)]

    for colour, r in ((outer, size), (inner, size * 0.7)):
        m = scene.mask()
        kind_, geom = shape(kind, r)
        if kind_ == 'circle':
            cv2.circle(m, (int(round(u * 8)), int(round(v * 8))),
                       max(1, int(round(geom * 8))), 255, -1, cv2.LINE_8, 3)
        else:
            cv2.fillPoly(m, [cv_pts(geom)], 255, cv2.LINE_8, SHIFT)
        scene.paint(m, TRAFFIC_SIGN, colour, inst, noise=6)
        if r < 3:  # too small for a visible inner part
            break


def draw_traffic_light(scene, cam, xl, yl, zl):
    """A traffic light housing (three lamps, one lit) centred at (xl, yl)."""
    rng = scene.rng
    q = cam.pts([(xl - 0.17, yl - 0.5, zl), (xl + 0.17, yl - 0.5, zl),
                 (xl + 0.17, yl + 0.5, zl), (xl - 0.17, yl + 0.5, zl)])
    scene.paint(scene.poly_mask(q), TRAFFIC_LIGHT,
                jitter(rng, (40, 42, 40), 8), noise=5)
    s = cam.px_per_m(zl)
    if s * 0.1 < 1:
        return
    lit = rng.integers(3)
    for i, (dy, colour) in enumerate(((0.3, (40, 40, 220)),
                                      (0.0, (40, 170, 230)),
                                      (-0.3, (90, 200, 60)))):
        u, v = cam.project(xl, yl + dy, zl)
        c = colour if i == lit else (55, 55, 55)
        m = scene.mask()
        cv2.circle(m, (int(round(u)), int(round(v))),
                   max(1, int(round(0.1 * s))), 255, -1)
        scene.paint(m, TRAFFIC_LIGHT, jitter(rng, c, 8), noise=5)


def draw_pole_with_sign(scene, cam, xp, zp, kind, side):
    """A pole with traffic sign(s), a traffic light, or a street lamp."""
    rng = scene.rng
    if kind == 'sign':
        height = rng.uniform(2.2, 3.2)
        draw_pole(scene, cam, xp, zp, height)
        n = 1 if rng.random() < 0.7 else 2
        for k in range(n):
            inst = scene.new_instance('traffic sign')
            draw_sign(scene, cam, xp, height - 0.35 - k * 0.8, zp, inst)
    elif kind == 'light':
        height = rng.uniform(2.8, 3.6)
        draw_pole(scene, cam, xp, zp, height)
        draw_traffic_light(scene, cam, xp, height + 0.45, zp)
        if rng.random() < 0.5:  # second light on an arm over the road
            reach = rng.uniform(2.5, 4.5)
            ya = rng.uniform(5, 6)
            draw_pole(scene, cam, xp, zp, ya)
            draw_arm(scene, cam, xp, xp - side * reach, ya, ya, zp)
            draw_traffic_light(scene, cam, xp - side * reach, ya - 0.6, zp)
    else:  # street lamp: tall pole, arm over the street, lamp head
        height = rng.uniform(6, 9)
        draw_pole(scene, cam, xp, zp, height)
        reach = rng.uniform(1.0, 2.2)
        xe = xp - side * reach
        draw_arm(scene, cam, xp, xe, height - 0.2, height + 0.2, zp)
        q = cam.pts([(xe - 0.3, height + 0.05, zp), (xe + 0.3, height + 0.05,
                                                     zp),
                     (xe + 0.2, height + 0.25, zp), (xe - 0.2, height + 0.25,
                                                     zp)])
        scene.paint(scene.poly_mask(q), POLE, jitter(rng, (90, 95, 100), 10),
                    noise=4)
        if rng.random() < 0.4:  # a sign halfway up the lamp post
            inst = scene.new_instance('traffic sign')
            draw_sign(scene, cam, xp, rng.uniform(2.3, 3.0), zp, inst)


def draw_arm(scene, cam, x0, x1, y0, y1, z):
    """A thin (1-2 px) arm of a pole from (x0, y0) to (x1, y1) at depth z."""
    a, b = cam.pts([(x0, y0, z), (x1, y1, z)])
    t = int(np.clip(round(0.08 * cam.px_per_m(z)), 1, 2))
    m = scene.mask()
    cv2.line(m, tuple(np.round(a).astype(int)), tuple(np.round(b).astype(int)),
             255, t)
    scene.paint(m, POLE, jitter(scene.rng, (115, 115, 120), 15), noise=5)
