"""The backdrop every scene starts from: the sky, then the ground plane
(road with its markings, sidewalks, grass and the ground beyond)."""
import numpy as np

from .classes import ROAD, SIDEWALK, SKY, TERRAIN
from .palette import WALK_COLOURS, jitter, pick
from .scene import blotches


def draw_sky(scene, cam):
    """Fill the whole image with sky: overcast or blue, a vertical gradient
    down to the horizon, and soft clouds."""
    rng, h, w = scene.rng, scene.h, scene.w
    if rng.random() < 0.45:  # overcast, like most of Cityscapes
        top = jitter(rng, (215, 205, 195), 12)
        low = jitter(rng, (235, 232, 228), 8)
    else:
        top = jitter(rng, (205, 150, 95), 15)
        low = jitter(rng, (240, 215, 190), 10)
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    t = np.clip(t * h / max(cam.cy, 1.0), 0, 1) ** 0.8
    scene.image[:] = top * (1 - t) + low * t
    clouds = np.clip(blotches(rng, h, w, rng.uniform(20, 60)) * 2 - 0.4, 0, 1)
    scene.image += clouds[..., None] * rng.uniform(10, 35)
    scene.image += scene.grain[..., None] * 2.0
    scene.label[:] = SKY


def draw_ground(scene, cam, street):
    """Road, sidewalks, grass and the ground beyond, from the (X, Z) of each
    ground pixel; lane markings, crossings and paving joints on top."""
    rng, h, w = scene.rng, scene.h, scene.w
    v0 = int(np.floor(cam.cy)) + 1
    if v0 >= h:
        return
    vs = np.arange(v0, h, dtype=np.float32)[:, None] + 0.5
    us = np.arange(w, dtype=np.float32)[None] + 0.5
    z = cam.ground_depth_at_row(vs) * np.ones_like(us)
    x = (us - cam.cx) * z / cam.f

    def region(cond):
        m = scene.mask()
        m[v0:] = cond.astype(np.uint8) * 255
        return m

    s = street
    beyond = TERRAIN if rng.random() < 0.5 else SIDEWALK
    beyond_colour = jitter(rng, (70, 120, 110) if beyond == TERRAIN else
                           (140, 140, 150), 10)
    terrain_colour = jitter(rng, (60, 125, 105), 14)
    walk_colour = jitter(rng, pick(rng, WALK_COLOURS), 12)
    # one side at a time keeps the painted boxes small
    for lo, hi, cls, colour, tex in (
            (-np.inf, s.facade_left, beyond, beyond_colour, (8, 12, 12)),
            (s.facade_right, np.inf, beyond, beyond_colour, (8, 12, 12)),
            (s.facade_left, s.walk_left, TERRAIN, terrain_colour, (12, 18, 6)),
            (s.walk_right, s.facade_right, TERRAIN, terrain_colour,
             (12, 18, 6)),
            (s.walk_left, s.road_left, SIDEWALK, walk_colour, (7, 8, 10)),
            (s.road_right, s.walk_right, SIDEWALK, walk_colour, (7, 8, 10))):
        if hi > lo:
            noise, blotch, cell = tex
            scene.paint(region((x >= lo) & (x < hi)), cls, colour,
                        noise=noise, blotch=blotch, cell=cell)
    walk = ((x > s.walk_left) & (x < s.road_left)) | \
        ((x > s.road_right) & (x < s.walk_right))
    # paving joints: a grid in world coordinates, darker lines
    tile = rng.uniform(0.4, 0.8)
    joints = walk & ((np.abs(np.mod(z, tile) - tile / 2) > tile / 2 - 0.03) |
                     (np.abs(np.mod(x, tile) - tile / 2) > tile / 2 - 0.03))
    scene.shade(region(joints & (z < 30)), 0.85)
    # curb: a bright band on the sidewalk side of the road edge
    curb = walk & ((np.abs(x - s.road_left) < 0.15) |
                   (np.abs(x - s.road_right) < 0.15))
    scene.shade(region(curb), 1.25)

    road = (x >= s.road_left) & (x <= s.road_right)
    scene.paint(region(road), ROAD, jitter(rng, (100, 100, 104), 10), noise=9,
                blotch=6, cell=24, vgrad=-6)
    patches = np.clip(blotches(rng, h - v0, w, 40) - 0.4, 0, 1) > 0
    scene.shade(region(road & patches), rng.uniform(0.88, 0.97), blur=1.5)
    paint_white = jitter(rng, (205, 210, 210), 10)
    marks = np.zeros_like(road)
    dash, gap = rng.uniform(2, 4), rng.uniform(4, 9)
    phase = rng.uniform(0, dash + gap)
    for xl in s.lanes:
        marks |= (np.abs(x - xl) < 0.08) & \
            (np.mod(z + phase, dash + gap) < dash)
    if rng.random() < 0.6:  # solid edge lines
        marks |= (np.abs(x - (s.road_left + 0.3)) < 0.07)
        marks |= (np.abs(x - (s.road_right - 0.3)) < 0.07)
    if rng.random() < 0.3:  # zebra crossing
        zc = rng.uniform(10, 30)
        marks |= road & (z > zc) & (z < zc + 4) & (np.mod(x, 1.0) < 0.5)
    if rng.random() < 0.3:  # stop line
        zs = rng.uniform(8, 25)
        marks |= (z > zs) & (z < zs + 0.4) & (x > s.divider)
    scene.paint(region(marks & road), ROAD, paint_white, noise=10, blotch=15,
                cell=4)
