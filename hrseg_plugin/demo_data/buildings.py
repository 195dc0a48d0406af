"""Construction along the street: building facades with windows, the
skyline closing the street, walls and fences, each side of the street (a
row of buildings or a park) and the shadow the buildings cast across it."""
import cv2
import numpy as np

from .classes import BUILDING, FENCE, VEGETATION, WALL
from .geometry import Facade
from .palette import FACADE_COLOURS, jitter, pick
from .vegetation import draw_hedge


def draw_windows(scene, cam, facade, dark, frame):
    """A grid of framed windows (a few lit) and sometimes shop windows."""
    rng = scene.rng
    floor = rng.uniform(3.0, 3.6)
    bay = rng.uniform(2.4, 3.8)
    win_w, win_h = bay * rng.uniform(0.4, 0.65), floor * rng.uniform(0.4, 0.6)
    shop = rng.random() < 0.5
    a, y = np.meshgrid(np.arange(bay / 2, facade.length - bay / 2, bay),
                       np.arange(floor if shop else 1.0,
                                 facade.height - floor * 0.8, floor))
    a, y = a.ravel(), y.ravel() + 0.9
    wins = facade.quads(cam, np.stack([a - win_w / 2, a + win_w / 2, y,
                                       y + win_h], axis=1))
    frames = facade.quads(cam, np.stack([a - win_w / 2 - 0.12,
                                         a + win_w / 2 + 0.12, y - 0.12,
                                         y + win_h + 0.12], axis=1))
    visible = np.ptp(wins, axis=1).min(axis=1) >= 1.5  # skip sub-pixel ones
    lit = rng.random(len(wins)) < 0.2
    if visible.any():
        scene.paint(scene.poly_mask(*frames[visible]), BUILDING, frame,
                    noise=4)
    if (visible & ~lit).any():
        scene.paint(scene.poly_mask(*wins[visible & ~lit]), BUILDING, dark,
                    noise=6, vgrad=10, blotch=12, cell=6)
    if (visible & lit).any():
        scene.paint(scene.poly_mask(*wins[visible & lit]), BUILDING,
                    dark + 45, noise=6, vgrad=12)
    if shop:  # wide ground floor shop windows
        a = np.arange(0.6, facade.length - 3.0, rng.uniform(4, 7))
        shops = facade.quads(cam, np.stack(
            [a, a + rng.uniform(2.5, 3.5, len(a)), np.full_like(a, 0.4),
             np.full_like(a, floor * 0.8)], axis=1))
        shops = shops[np.ptp(shops, axis=1).min(axis=1) >= 1.5]
        if len(shops):
            scene.paint(scene.poly_mask(*shops), BUILDING, dark * 0.8 + 20,
                        noise=7, vgrad=14, blotch=10, cell=5)


def draw_building(scene, cam, x_facade, z0, z1, height, light):
    """A facade in the plane X = x_facade between depths z0 and z1."""
    rng = scene.rng
    facade = Facade(x_facade, z0, 0.0, 1.0, z1 - z0, height)
    colour = jitter(rng, pick(rng, FACADE_COLOURS), 12)
    colour = np.clip(colour * light, 0, 255)
    stripes = None
    if rng.random() < 0.3:  # horizontal bands (storeys, cladding)
        stripes = (max(2, int(3.2 * cam.px_per_m(z1))), 10, 'h')
    scene.paint(scene.poly_mask(facade.outline(cam)), BUILDING, colour,
                noise=7, blotch=10, cell=10, vgrad=8, stripes=stripes)
    scene.paint(scene.poly_mask(facade.outline(cam, height - 0.5)), BUILDING,
                colour * 0.8, noise=5)  # cornice
    draw_windows(scene, cam, facade, jitter(rng, (70, 60, 55), 12) * light,
                 np.clip(colour * 1.15, 0, 255))


def draw_skyline(scene, cam, street):
    """Frontal buildings closing the street at depth street.z_far, with a
    band of distant trees along the horizon behind them."""
    rng = scene.rng
    band = scene.poly_mask([(0, cam.cy - rng.uniform(1, 6)),
                            (scene.w, cam.cy - rng.uniform(1, 6)),
                            (scene.w, cam.cy + 3), (0, cam.cy + 3)])
    scene.paint(band, VEGETATION, jitter(rng, (60, 90, 70), 10), noise=8,
                blotch=15, cell=3)
    x = street.facade_left - rng.uniform(10, 40)
    while x < street.facade_right + 40:
        facade = Facade(x, street.z_far + rng.uniform(0, 20), 1.0, 0.0,
                        rng.uniform(8, 25), rng.uniform(6, 45))
        colour = jitter(rng, pick(rng, FACADE_COLOURS), 15) * \
            rng.uniform(0.8, 1.0)  # hazy with distance
        scene.paint(scene.poly_mask(facade.outline(cam)), BUILDING, colour,
                    noise=6, vgrad=6)
        draw_windows(scene, cam, facade, jitter(rng, (80, 70, 65), 10),
                     colour * 1.1)
        x += facade.length + (rng.uniform(2, 15) if rng.random() < 0.3 else 0)


def draw_wall_or_fence(scene, cam, x_line, side, z0, z1):
    """A low wall (solid) or a fence (posts and rails, see-through)."""
    rng = scene.rng
    if rng.random() < 0.5:
        height = rng.uniform(0.8, 2.2)
        thick = rng.uniform(0.2, 0.4)
        xi = x_line - side * thick
        face = cam.pts([(xi, 0, z0), (xi, 0, z1), (xi, height, z1),
                        (xi, height, z0)])
        top = cam.pts([(xi, height, z0), (xi, height, z1),
                       (x_line, height, z1), (x_line, height, z0)])
        colour = jitter(rng, (140, 150, 160), 20)
        scene.paint(scene.poly_mask(face), WALL, colour, noise=8, blotch=14,
                    cell=6, vgrad=-8)
        scene.paint(scene.poly_mask(top), WALL, colour * 1.1, noise=5)
        return
    height = rng.uniform(1.0, 2.0)
    m = scene.mask()
    spacing = rng.uniform(1.5, 3.0)
    for zp in np.arange(z0, z1, spacing):
        (u, v0), (_, v1) = cam.pts([(x_line, 0, zp), (x_line, height, zp)])
        t = int(np.clip(round(0.08 * cam.px_per_m(zp)), 1, 3))
        cv2.line(m, (int(round(u)), int(round(v0))),
                 (int(round(u)), int(round(v1))), 255, t)
    for yr in np.linspace(0.15, height, rng.integers(2, 4)):
        a, b = cam.pts([(x_line, yr, z0), (x_line, yr, z1)])
        t = int(np.clip(round(0.06 * cam.px_per_m(z0)), 1, 3))
        cv2.line(m, tuple(np.round(a).astype(int)),
                 tuple(np.round(b).astype(int)), 255, t)
    if rng.random() < 0.5:  # mesh
        for zp in np.arange(z0, z1, 0.5):
            a, b = cam.pts([(x_line, 0.15, zp), (x_line, height, zp + 0.5)])
            cv2.line(m, tuple(np.round(a).astype(int)),
                     tuple(np.round(b).astype(int)), 255, 1)
    scene.paint(m, FENCE, jitter(rng, (110, 115, 120), 25), noise=8)


def draw_street_sides(scene, cam, street, z_min, sun):
    """Facades (far to near) or a park on each side, sometimes a wall, fence
    or hedge; the side facing the sun (s == sun) is lit, the other shaded."""
    rng = scene.rng
    for s in (-1, 1):
        _, walk_edge, facade, built = street.side(s)
        light = rng.uniform(1.0, 1.15) if s == sun else rng.uniform(0.7, 0.85)
        if built:
            blocks, z = [], z_min
            while z < street.z_far:
                length = rng.uniform(8, 30)
                gap = rng.uniform(3, 12) if rng.random() < 0.2 else 0.0
                blocks.append((z, min(z + length, street.z_far),
                               rng.uniform(6, 28)))
                z += length + gap
            for z0, z1, height in reversed(blocks):
                draw_building(scene, cam, facade, z0, z1, height, light)
        else:  # a park: bushes at the back of the lawn
            draw_hedge(scene, cam, facade + s * 6, s, z_min, street.z_far,
                       rng.uniform(1.5, 3.5))
        z0 = rng.uniform(z_min, 30)
        if rng.random() < 0.35:
            x_line = walk_edge if facade != walk_edge else facade - s * 0.3
            draw_wall_or_fence(scene, cam, x_line, s, z0,
                               z0 + rng.uniform(10, 40))
        elif built and rng.random() < 0.3:
            draw_hedge(scene, cam, facade, s, z0, z0 + rng.uniform(6, 25))


def draw_facade_shadow(scene, cam, street, z_min, sun):
    """The shadow the buildings on the shaded side cast across the street."""
    rng, s = scene.rng, -sun
    road_edge, _, facade, _ = street.side(s)
    reach = abs(facade - road_edge) + rng.uniform(0.3, 0.8) * (
        street.road_right - street.road_left)
    edge = facade - s * reach
    shadow = cam.pts([(facade, 0, z_min), (facade, 0, street.z_far),
                      (edge, 0, street.z_far), (edge, 0, z_min)])
    scene.shade(scene.poly_mask(shadow), rng.uniform(0.6, 0.8), blur=1.5)
