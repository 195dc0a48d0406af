"""Generate a small synthetic street-scene dataset for the demo configs.

Every image is a procedurally painted street seen from a car: sky, a skyline at
the end of the street, building facades with windows on both sides, a road in
perspective with lane markings and crossings, sidewalks, grass, trees and
hedges, walls and fences, parked and driving cars, pedestrians, and thin poles
carrying traffic signs, traffic lights and street lamps. Objects are placed in
a simple 3D world (pinhole camera over a flat ground plane) and painted far to
near, so sizes follow perspective and nearer objects occlude farther ones.

The image, the semantic label map (Cityscapes train ids) and an instance map
are painted together by :class:`Scene`, so they always agree. Each scene is
written twice:

* ``OUT/cityscapes``: the Cityscapes folder layout and file naming, readable by
  mmseg's stock ``CityscapesDataset``::

      leftImg8bit/{train,val}/<city>/<city>_<seq>_<frame>_leftImg8bit.png
      gtFine/{train,val}/<city>/<city>_<seq>_<frame>_gtFine_labelTrainIds.png

* ``OUT/coco``: a COCO instance set (person, car, traffic sign) of the same
  images, readable by mmdet's ``CocoDataset``::

      train2017/*.png  val2017/*.png
      annotations/instances_train2017.json  annotations/instances_val2017.json

Output is a pure function of the arguments: image ``i`` of a split is drawn
from its own random generator seeded with ``(seed, split, i)``, so it does not
depend on how many images are generated, and the same seed gives byte-identical
files.

Usage::

    python tools/make_demo_data.py [--out data/demo] [--seed 0]
        [--num-train 60] [--num-val 20] [--size 256 512]
"""
import argparse
import functools
import json
import multiprocessing
import os
import shutil
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

CITYSCAPES_CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole',
                      'traffic light', 'traffic sign', 'vegetation', 'terrain',
                      'sky', 'person', 'rider', 'car', 'truck', 'bus', 'train',
                      'motorcycle', 'bicycle')
COCO_CLASSES = ('person', 'car', 'traffic sign')
IGNORE_INDEX = 255

# Cityscapes train ids used by the painter.
ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE, TRAFFIC_LIGHT, TRAFFIC_SIGN, \
    VEGETATION, TERRAIN, SKY, PERSON, _RIDER, CAR = range(14)

CITIES = {'train': ('demoville', 'testburg'), 'val': ('valcity', )}
COCO_SPLIT_DIRS = {'train': 'train2017', 'val': 'val2017'}
SPLIT_STREAMS = {'train': 0, 'val': 1}  # keeps train and val scenes distinct
FRAME_ID = 19  # Cityscapes annotates the 20th frame of each snippet
MIN_SIZE = 64
MAX_SIZE = 4096
MIN_INSTANCE_AREA = 16
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1]
README_MARKER = 'Synthetic street scenes written by tools/make_demo_data.py'

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


# ---------------------------------------------------------------------------
# geometry
@dataclass
class Camera:
    """Pinhole camera at height ``height`` above a flat ground (Y up, Z
    forward, X right, metres), looking along Z; (cx, cy) is the vanishing
    point, cy the horizon row."""
    f: float
    cx: float
    cy: float
    height: float

    def project(self, x, y, z):
        """World point(s) -> image (u, v); works on scalars and arrays."""
        return (self.cx + self.f * np.asarray(x) / z,
                self.cy + self.f * (self.height - np.asarray(y)) / z)

    def pts(self, points):
        """A list of (X, Y, Z) world points -> an (N, 2) array of pixels."""
        p = np.asarray(points, np.float64)
        u, v = self.project(p[:, 0], p[:, 1], p[:, 2])
        return np.stack([u, v], axis=1)

    def px_per_m(self, z):
        return self.f / z

    def ground_depth_at_row(self, v):
        """Depth of the ground seen at image row v (v below the horizon)."""
        return self.f * self.height / (v - self.cy)


@dataclass
class Street:
    """Lateral layout of the street, X positions in metres."""
    road_left: float
    road_right: float
    walk_left: float  # outer edge of the left sidewalk
    walk_right: float
    facade_left: float  # building line, at or beyond the sidewalk edge
    facade_right: float
    lanes: list  # X of the lane separators (dashed lines)
    lane_centres: list  # X of the lane centres; the camera drives in X=0
    built_left: bool  # buildings on the left, else a park
    built_right: bool
    z_far: float  # depth of the skyline closing the street

    @property
    def divider(self):
        """X of the line between the two directions of traffic."""
        left = [x for x in self.lanes if x < 0]
        return left[-1] if left else self.road_left

    def side(self, s):
        """(road edge, sidewalk edge, facade line, built) of side s=-1/+1."""
        if s < 0:
            return self.road_left, self.walk_left, self.facade_left, \
                self.built_left
        return self.road_right, self.walk_right, self.facade_right, \
            self.built_right


# ---------------------------------------------------------------------------
# painting
SHIFT = 3  # sub-pixel bits for cv2 drawing


def _cv_pts(points):
    """Float pixel coordinates -> cv2's fixed-point int32 points."""
    p = np.round(np.asarray(points, np.float64) * (1 << SHIFT))
    p = np.minimum(np.maximum(p, -2**24), 2**24)  # far off-screen is enough
    return p.astype(np.int32).reshape(-1, 1, 2)


def jitter(rng, colour, amount):
    """Per-instance colour: a brightness shift of std ``amount`` plus a
    weaker shift per channel (so greys stay mostly grey)."""
    shift = rng.normal(0, amount) + rng.normal(0, 0.35 * amount, 3)
    return np.clip(np.asarray(colour, np.float32) + shift.astype(np.float32),
                   0, 255)


def pick(rng, palette):
    return palette[rng.integers(len(palette))]


def blotches(rng, h, w, cell):
    """Smooth random field in [-1, 1] with features about ``cell`` px."""
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    small = rng.uniform(-1, 1, (gh, gw)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


class Scene:
    """Paints an image, its Cityscapes label map and its instance map at once.

    Every ``paint`` call writes the colour, the class and the instance id of
    the pixels of one mask, so later (nearer) paint occludes earlier paint in
    all three maps alike.
    """

    def __init__(self, height, width, rng):
        self.h, self.w, self.rng = height, width, rng
        self.image = np.zeros((height, width, 3), np.float32)
        self.label = np.full((height, width), IGNORE_INDEX, np.uint8)
        self.instance = np.zeros((height, width), np.int32)
        self.categories = {}  # instance id -> COCO class name
        # one field of sensor-like noise per image, sliced by every texture
        self.colour_grain = rng.standard_normal((height, width, 3), np.float32)
        # luminance grain: a shifted channel looks just as independent
        self.grain = np.roll(self.colour_grain[..., 0], (height // 2, 7),
                             (0, 1))

    # -- masks -------------------------------------------------------------
    def mask(self):
        return np.zeros((self.h, self.w), np.uint8)

    def poly_mask(self, *polys):
        """A mask of the union of polygons, each an (N, 2) array of pixels.
        (One fillPoly call per polygon: a single call with several polygons
        leaves their overlaps empty.)"""
        m = self.mask()
        for p in polys:
            cv2.fillPoly(m, [_cv_pts(p)], 255, cv2.LINE_8, SHIFT)
        return m

    def new_instance(self, category):
        idx = len(self.categories) + 1
        self.categories[idx] = category
        return idx

    # -- paint ---------------------------------------------------------------
    def texture(self, box, colour, noise=6.0, blotch=0.0, cell=8.0,
                vgrad=0.0, hgrad=0.0, stripes=None):
        """A colour patch for the pixel box (x, y, w, h): base colour,
        gradients, smooth blotches, stripes (period px, amplitude, 'h' or 'v')
        and Gaussian noise (luminance and a weaker colour part)."""
        x, y, w, h = box
        shade = self.grain[y:y + h, x:x + w] * noise  # luminance grain
        if vgrad:
            shade += np.linspace(-vgrad, vgrad, h, dtype=np.float32)[:, None]
        if hgrad:
            shade += np.linspace(-hgrad, hgrad, w, dtype=np.float32)[None]
        if blotch:
            shade += blotch * blotches(self.rng, h, w, cell)
        if stripes:
            period, amp, axis = stripes
            n = h if axis == 'h' else w
            wave = (np.arange(n) % period < period / 2).astype(np.float32)
            shade += amp * (wave[:, None] if axis == 'h' else wave[None])
        shade = shade[..., None] + np.asarray(colour, np.float32)
        shade += self.colour_grain[y:y + h, x:x + w] * (noise * 0.3)  # chroma
        return shade

    def paint(self, mask, cls, colour, inst=0, **tex):
        """Paint the pixels of ``mask`` with class ``cls`` and a texture."""
        x, y, w, h = cv2.boundingRect(mask)
        if w == 0 or h == 0:
            return
        sel = mask[y:y + h, x:x + w] > 0
        patch = self.texture((x, y, w, h), colour, **tex)
        np.copyto(self.image[y:y + h, x:x + w], patch, where=sel[..., None])
        np.copyto(self.label[y:y + h, x:x + w], np.uint8(cls), where=sel)
        np.copyto(self.instance[y:y + h, x:x + w], np.int32(inst), where=sel)

    def shade(self, mask, factor, blur=0):
        """Darken (factor < 1) or lighten the image only: shadows, light."""
        x, y, w, h = cv2.boundingRect(mask)
        if w == 0 or h == 0:
            return
        pad = int(np.ceil(3 * blur))
        x0, y0 = max(x - pad, 0), max(y - pad, 0)
        x1, y1 = min(x + w + pad, self.w), min(y + h + pad, self.h)
        m = mask[y0:y1, x0:x1].astype(np.float32) / 255.0
        if blur:
            m = cv2.GaussianBlur(m, (0, 0), blur)
        self.image[y0:y1, x0:x1] *= (1.0 - m * (1.0 - factor))[..., None]

    def ignore_border(self, inst):
        """Mark a 1 px ring around an instance as ignore (annotators' doubt),
        only on background stuff so no other object loses pixels."""
        m = (self.instance == inst).astype(np.uint8)
        x, y, w, h = cv2.boundingRect(m)
        if w == 0 or h == 0:
            return
        x0, y0 = max(x - 1, 0), max(y - 1, 0)
        x1, y1 = min(x + w + 1, self.w), min(y + h + 1, self.h)
        m = m[y0:y1, x0:x1]
        label = self.label[y0:y1, x0:x1]
        ring = cv2.dilate(m, np.ones((3, 3), np.uint8)) > m
        ring &= (self.instance[y0:y1, x0:x1] == 0) & np.isin(
            label, (ROAD, SIDEWALK, BUILDING, VEGETATION, TERRAIN, SKY))
        label[ring] = IGNORE_INDEX


# ---------------------------------------------------------------------------
# stuff: sky, ground, buildings
def draw_sky(scene, cam):
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


@dataclass
class Facade:
    """A vertical wall rectangle: from the ground point (x, z) it runs
    ``length`` metres along the horizontal unit direction (dx, dz) and rises
    ``height`` metres."""
    x: float
    z: float
    dx: float
    dz: float
    length: float
    height: float

    def quads(self, cam, rects):
        """Rectangles (a0, a1, y0, y1) in facade metres (along, up), shape
        (N, 4) -> their image quads, shape (N, 4, 2)."""
        r = np.asarray(rects, np.float64).reshape(-1, 4)
        a, y = r[:, [0, 1, 1, 0]], r[:, [2, 2, 3, 3]]
        u, v = cam.project(self.x + a * self.dx, y, self.z + a * self.dz)
        return np.stack([u, v], axis=-1)

    def outline(self, cam, y0=0.0, y1=None):
        return self.quads(cam, (0, self.length, y0,
                                self.height if y1 is None else y1))[0]


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


# ---------------------------------------------------------------------------
# things: cars, people, poles with signs and lights, trees
@dataclass
class Thing:
    """Something standing on the street, painted in depth order."""
    z: float  # depth of its nearest point
    draw: callable
    footprint: tuple = field(default=None)  # (x0, x1, z0, z1) for overlaps


def draw_car(scene, cam, xc, zc, inst, divider):
    """A car: a lower box and a narrower cabin seen in perspective (so the
    bonnet and roof show when seen from above), the face towards the camera
    with rounded corners, windows, lights, plate and wheels, and its long
    side with windows and wheels when the car is off the camera axis."""
    rng = scene.rng
    width, length = rng.uniform(1.65, 1.95), rng.uniform(3.9, 4.9)
    body_h, roof_h = rng.uniform(0.9, 1.1), rng.uniform(1.35, 1.6)
    clear, inset, roof_in = 0.25, 0.12, 0.3
    colour = jitter(rng, pick(rng, CAR_COLOURS), 10)
    glass = jitter(rng, (60, 50, 45), 10)
    tyre = jitter(rng, (30, 30, 32), 4)
    oncoming = xc < divider  # left lanes drive towards the camera
    x0, x1, za, zb = xc - width / 2, xc + width / 2, zc, zc + length

    def hull(points):
        return cv2.convexHull(cam.pts(points).astype(np.float32))[:, 0]

    shadow = cam.pts([(x0 - 0.2, 0, za - 0.2), (x1 + 0.2, 0, za - 0.2),
                      (x1 + 0.2, 0, zb), (x0 - 0.2, 0, zb)])
    scene.shade(scene.poly_mask(shadow), 0.55, blur=1.0)
    body = hull([(x, y, z) for x in (x0, x1) for y in (clear, body_h)
                 for z in (za, zb)])
    cabin = hull([(x0 + inset, body_h, za + 0.5),
                  (x1 - inset, body_h, za + 0.5),
                  (x0 + inset, body_h, zb - 0.6),
                  (x1 - inset, body_h, zb - 0.6),
                  (x0 + roof_in, roof_h, za + 1.1),
                  (x1 - roof_in, roof_h, za + 1.1),
                  (x0 + roof_in, roof_h, zb - 1.1),
                  (x1 - roof_in, roof_h, zb - 1.1)])
    top = np.clip(colour * 1.1 + 10, 0, 255)  # bonnet and roof catch the sky
    scene.paint(scene.poly_mask(body, cabin), CAR, top, inst, noise=5)
    if abs(xc) > width / 2:  # the long side towards the camera axis
        sgn = 1 if xc > 0 else -1
        xs = x0 if xc > 0 else x1
        side = cam.pts([(xs, clear, za), (xs, clear, zb), (xs, body_h, zb),
                        (xs, body_h, za)])
        scene.paint(scene.poly_mask(side), CAR, colour * 0.92, inst, noise=5,
                    vgrad=12)
        xw0, xw1 = xs + sgn * (inset + 0.02), xs + sgn * (roof_in - 0.02)
        win = cam.pts([(xw0, body_h + 0.06, za + 0.7),
                       (xw0, body_h + 0.06, zb - 0.75),
                       (xw1, roof_h - 0.06, zb - 1.2),
                       (xw1, roof_h - 0.06, za + 1.25)])
        scene.paint(scene.poly_mask(win), CAR, glass, inst, noise=5, vgrad=10)
        m = scene.mask()
        for zw in (za + 0.8, zb - 0.8):
            (u0, _), (u1, _), (uc, vc) = cam.pts([(xs, 0.33, zw - 0.33),
                                                 (xs, 0.33, zw + 0.33),
                                                 (xs, 0.33, zw)])
            ax = max(1, int(round(abs(u1 - u0) / 2)))
            ay = max(1, int(round((cam.px_per_m(zw) * 0.33))))
            cv2.ellipse(m, (int(round(uc)), int(round(vc))), (ax, ay), 0, 0,
                        360, 255, -1)
        scene.paint(m, CAR, tyre, inst, noise=4)
    # wheels under the face towards the camera, then that face
    wheels = [cam.pts([(xw, 0, za + 0.5), (xw + 0.25, 0, za + 0.5),
                       (xw + 0.25, clear + 0.2, za + 0.5),
                       (xw, clear + 0.2, za + 0.5)])
              for xw in (x0 + 0.05, x1 - 0.3)]
    scene.paint(scene.poly_mask(*wheels), CAR, tyre, inst, noise=3)
    (ul, vb), (ur, vt) = cam.pts([(x0, clear, za), (x1, body_h, za)])
    r = max(1, int(round(0.15 * cam.px_per_m(za))))
    box = np.round([ul, vt, ur, vb]).astype(int)
    m = scene.mask()
    cv2.rectangle(m, (box[0] + r, box[1]), (box[2] - r, box[3]), 255, -1)
    cv2.rectangle(m, (box[0], box[1] + r), (box[2], box[3] - r), 255, -1)
    for cx_, cy_ in ((box[0] + r, box[1] + r), (box[2] - r, box[1] + r),
                     (box[0] + r, box[3] - r), (box[2] - r, box[3] - r)):
        cv2.circle(m, (cx_, cy_), r, 255, -1)
    scene.paint(m, CAR, colour, inst, noise=5, vgrad=10, hgrad=4)
    win = cam.pts([(x0 + inset + 0.1, body_h + 0.05, za + 0.55),
                   (x1 - inset - 0.1, body_h + 0.05, za + 0.55),
                   (x1 - roof_in - 0.08, roof_h - 0.07, za + 1.1),
                   (x0 + roof_in + 0.08, roof_h - 0.07, za + 1.1)])
    scene.paint(scene.poly_mask(win), CAR, glass, inst, noise=5, vgrad=12)
    lamp = (200, 230, 240) if oncoming else (40, 40, 200)
    lights = [cam.pts([(xl, 0.7, za), (xl + 0.3, 0.7, za),
                       (xl + 0.3, 0.88, za), (xl, 0.88, za)])
              for xl in (x0 + 0.08, x1 - 0.38)]
    scene.paint(scene.poly_mask(*lights), CAR, jitter(rng, lamp, 10), inst,
                noise=5)
    plate = cam.pts([(xc - 0.26, 0.4, za), (xc + 0.26, 0.4, za),
                     (xc + 0.26, 0.52, za), (xc - 0.26, 0.52, za)])
    scene.paint(scene.poly_mask(plate), CAR, (215, 225, 225), inst, noise=5)
    bumper = cam.pts([(x0, clear, za), (x1, clear, za), (x1, 0.42, za),
                      (x0, 0.42, za)])
    scene.shade(scene.poly_mask(bumper), 0.7)


def draw_person(scene, cam, xp, zp, inst):
    """A pedestrian: legs, torso, arms, head (and sometimes a bag)."""
    rng = scene.rng
    s = cam.px_per_m(zp)
    u, v = cam.project(xp, 0.0, zp)
    hp = rng.uniform(1.55, 1.9) * s
    stride = rng.uniform(-0.18, 0.18) * s
    hip_y, sh_y = v - 0.5 * hp, v - 0.81 * hp
    head_r = max(1.0, 0.065 * hp)
    leg_t = max(1, int(round(0.13 * s)))
    arm_t = max(1, int(round(0.09 * s)))
    pants = jitter(rng, pick(rng, CLOTHES_COLOURS), 12)
    shirt = jitter(rng, pick(rng, CLOTHES_COLOURS), 15)
    skin = jitter(rng, pick(rng, SKIN_COLOURS), 8)
    hair = jitter(rng, (30, 35, 45), 10)

    def p(x, y):
        return int(round(x * (1 << SHIFT))), int(round(y * (1 << SHIFT)))

    m = scene.mask()
    for side in (-1, 1):
        cv2.line(m, p(u + side * 0.08 * s, hip_y),
                 p(u + side * stride, v - leg_t / 2), 255, leg_t, cv2.LINE_8,
                 SHIFT)
    scene.paint(m, PERSON, pants, inst, noise=6, vgrad=6)
    m = scene.mask()
    torso = [(u - 0.21 * s, sh_y), (u + 0.21 * s, sh_y),
             (u + 0.17 * s, hip_y + 0.03 * hp),
             (u - 0.17 * s, hip_y + 0.03 * hp)]
    cv2.fillPoly(m, [_cv_pts(torso)], 255, cv2.LINE_8, SHIFT)
    swing = rng.uniform(-0.15, 0.15) * s
    for side in (-1, 1):
        cv2.line(m, p(u + side * 0.2 * s, sh_y + arm_t / 2),
                 p(u + side * 0.25 * s + side * swing * 0.3 + swing,
                   v - 0.47 * hp), 255, arm_t, cv2.LINE_8, SHIFT)
    if rng.random() < 0.3 and s > 8:  # a bag or backpack
        bx = u + rng.choice((-1, 1)) * 0.25 * s
        cv2.rectangle(m, p(bx - 0.1 * s, hip_y - 0.1 * hp),
                      p(bx + 0.1 * s, hip_y + 0.05 * hp), 255, -1, cv2.LINE_8,
                      SHIFT)
    scene.paint(m, PERSON, shirt, inst, noise=7, vgrad=8, blotch=6, cell=4)
    m = scene.mask()
    neck = (u, sh_y - head_r)
    cv2.circle(m, p(*neck), int(round(head_r * (1 << SHIFT))), 255, -1,
               cv2.LINE_8, SHIFT)
    scene.paint(m, PERSON, skin, inst, noise=5)
    m = scene.mask()
    cv2.ellipse(m, p(neck[0], neck[1] - 0.2 * head_r),
                p(head_r * 1.02, head_r * 0.9), 0, 180, 360, 255, -1,
                cv2.LINE_8, SHIFT)
    scene.paint(m, PERSON, hair, inst, noise=5)


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
            cv2.fillPoly(m, [_cv_pts(geom)], 255, cv2.LINE_8, SHIFT)
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


# ---------------------------------------------------------------------------
# layout
def sample_street(rng):
    road_left = -rng.uniform(4.0, 9.0)
    road_right = rng.uniform(2.5, 6.0)
    walk_left = road_left - rng.uniform(2.0, 5.0)
    walk_right = road_right + rng.uniform(2.0, 5.0)
    facade_left = walk_left - (rng.uniform(1, 5) if rng.random() < 0.45 else 0)
    facade_right = walk_right + (rng.uniform(1, 5) if rng.random() < 0.45
                                 else 0)
    lane = rng.uniform(3.0, 3.6)
    lanes = [x for x in np.arange(-lane / 2 - lane * 3, road_right, lane)
             if road_left + 1.0 < x < road_right - 1.0]
    centres = [x for x in np.arange(-lane * 3, road_right, lane)
               if road_left + 1.2 < x < road_right - 1.2]
    return Street(road_left, road_right, walk_left, walk_right, facade_left,
                  facade_right, lanes, centres, rng.random() < 0.8,
                  rng.random() < 0.8, rng.uniform(70, 160))


def sample_camera(rng, h, w):
    return Camera(f=w * rng.uniform(0.85, 1.15),
                  cx=w * (0.5 + rng.uniform(-0.08, 0.08)),
                  cy=h * rng.uniform(0.36, 0.5), height=rng.uniform(1.3, 1.7))


def place(things, sampler, tries=20):
    """Sample a footprint (x0, x1, z0, z1) with ``sampler`` until it overlaps
    no footprint in ``things``; None when every try collides."""
    for _ in range(tries):
        x0, x1, z0, z1 = fp = sampler()
        if all(x1 <= t.footprint[0] or x0 >= t.footprint[1] or
               z1 <= t.footprint[2] or z0 >= t.footprint[3] for t in things):
            return fp
    return None


def sample_things(scene, cam, street):
    """Cars, people, poles (signs, lights, lamps) and trees, as Things."""
    rng = scene.rng
    z_min = max(3.0, 0.8 * cam.ground_depth_at_row(scene.h))
    things = []

    def depth(lo, hi):  # uniform in image rows between depths lo and hi
        return 1.0 / rng.uniform(1.0 / hi, 1.0 / lo)

    def add(fp, draw):
        things.append(Thing(fp[2], draw, fp))

    def pole_fp(s, zp):
        xp = street.side(s)[0] + s * rng.uniform(0.3, 0.7)
        return (xp - 0.2, xp + 0.2, zp, zp + 0.2)

    def add_pole(fp, kind, s):
        add(fp, lambda: draw_pole_with_sign(scene, cam, (fp[0] + fp[1]) / 2,
                                            fp[2], kind, s))

    # one sign pole close enough to be seen, then poles along the road edges
    s = rng.choice((-1, 1))
    add_pole(pole_fp(s, depth(z_min + 2, 25)), 'sign', s)
    for s in (-1, 1):
        spacing = rng.uniform(12, 30)
        for zp in np.arange(z_min + rng.uniform(0, spacing), 90, spacing):
            fp = place(things, lambda: pole_fp(s, zp), tries=1)
            if fp:
                add_pole(fp, rng.choice(['sign', 'light', 'lamp', 'lamp']), s)
    # trees on the sidewalks (and in parks)
    for s in (-1, 1):
        _, walk_edge, facade, built = street.side(s)
        if rng.random() > (0.5 if built else 0.95):
            continue
        spacing = rng.uniform(7, 15)
        for zt in np.arange(z_min + rng.uniform(0, spacing), 120, spacing):
            xt = walk_edge - s * rng.uniform(0.6, 1.2)
            if not built and rng.random() < 0.5:
                xt = facade + s * rng.uniform(0, 6)
            fp = place(things, lambda: (xt - 0.3, xt + 0.3, zt, zt + 0.3), 1)
            if fp:
                add(fp, lambda xt=xt, zt=zt: draw_tree(scene, cam, xt, zt))

    # cars: parked along the kerbs, or driving in the lanes
    def car_fp():
        zc = depth(z_min + 2.0, 70)
        if rng.random() < 0.5 or not street.lane_centres:
            s = rng.choice((-1, 1))
            xc = street.side(s)[0] - s * rng.uniform(1.0, 1.3)
        else:
            xc = rng.choice(street.lane_centres) + rng.uniform(-0.3, 0.3)
        return (xc - 1.0, xc + 1.0, zc, zc + 5.0)

    for _ in range(rng.integers(1, 7)):
        fp = place(things, car_fp)
        if fp:
            inst = scene.new_instance('car')
            add(fp, lambda fp=fp, inst=inst: draw_car(
                scene, cam, (fp[0] + fp[1]) / 2, fp[2], inst, street.divider))

    # people: on the sidewalks, sometimes crossing the road
    def person_fp():
        zp = depth(max(z_min, 4.0), 45)
        s = rng.choice((-1, 1))
        road_edge, walk_edge = street.side(s)[:2]
        if rng.random() < 0.85:
            xp = rng.uniform(min(road_edge, walk_edge) + 0.3,
                             max(road_edge, walk_edge) - 0.3)
        else:
            xp = rng.uniform(street.road_left, street.road_right)
        return (xp - 0.3, xp + 0.3, zp, zp + 0.3)

    for _ in range(rng.integers(1, 9)):
        fp = place(things, person_fp)
        if fp:
            inst = scene.new_instance('person')
            add(fp, lambda fp=fp, inst=inst: draw_person(
                scene, cam, (fp[0] + fp[1]) / 2, fp[2], inst))
    return things


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


def draw_ego_bonnet(scene, cam):
    """The bonnet of the recording car along the bottom, labelled ignore as
    in Cityscapes."""
    rng, h, w = scene.rng, scene.h, scene.w
    m = scene.mask()
    bh = h * rng.uniform(0.04, 0.09)
    cv2.ellipse(m, (int(cam.cx), int(h + 4 * bh)), (int(w * 0.9), int(5 * bh)),
                0, 0, 360, 255, -1)
    scene.paint(m, IGNORE_INDEX, jitter(rng, (40, 40, 45), 10), noise=4,
                vgrad=-15)


def camera_effects(scene):
    """Exposure, a slight lens blur and sensor noise -> uint8 BGR image."""
    rng = scene.rng
    image = scene.image * rng.uniform(0.85, 1.12) + rng.uniform(-10, 10)
    image = cv2.GaussianBlur(image, (3, 3), rng.uniform(0.4, 0.8))
    image += np.roll(scene.colour_grain, rng.integers(1, 64, 2), (0, 1)) * 2.0
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def render_scene(rng, height, width):
    """Paint one street scene; returns (image uint8 BGR, label, instance map,
    instance categories)."""
    scene = Scene(height, width, rng)
    cam = sample_camera(rng, height, width)
    street = sample_street(rng)
    z_min = max(1.0, 0.6 * cam.ground_depth_at_row(height))
    sun = rng.choice((-1, 1))
    draw_sky(scene, cam)
    draw_ground(scene, cam, street)
    draw_skyline(scene, cam, street)
    draw_street_sides(scene, cam, street, z_min, sun)
    if rng.random() < 0.5:
        draw_facade_shadow(scene, cam, street, z_min, sun)
    for thing in sorted(sample_things(scene, cam, street), key=lambda t: -t.z):
        thing.draw()
    for inst in scene.categories:
        if rng.random() < 0.3:
            scene.ignore_border(inst)
    if rng.random() < 0.3:
        draw_ego_bonnet(scene, cam)
    return camera_effects(scene), scene.label, scene.instance, \
        scene.categories


# ---------------------------------------------------------------------------
# COCO annotations
def instance_annotations(instance, categories):
    """COCO annotations (without id and image_id) of the visible part of
    each instance: polygons of its outer contours, bbox and pixel area."""
    anns = []
    for inst, name in categories.items():
        mask = (instance == inst).astype(np.uint8)
        area = int(cv2.countNonZero(mask))
        if area < MIN_INSTANCE_AREA:
            continue
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_SIMPLE)
        polys = [c.reshape(-1).astype(float).tolist() for c in contours
                 if len(c) >= 3]
        if not polys:
            continue
        x, y, w, h = cv2.boundingRect(mask)
        anns.append(dict(category_id=COCO_CLASSES.index(name) + 1,
                         segmentation=polys, area=area,
                         bbox=[x, y, w, h], iscrowd=0))
    return anns


# ---------------------------------------------------------------------------
# writing
def encode_png(array):
    ok, buf = cv2.imencode('.png', array, PNG_PARAMS)
    if not ok:
        raise RuntimeError('PNG encoding failed')
    return buf.tobytes()


def sample_name(split, index):
    """(city, file stem) of image ``index`` of a split, Cityscapes style."""
    cities = CITIES[split]
    city = cities[index % len(cities)]
    return city, f'{city}_{index // len(cities):06d}_{FRAME_ID:06d}'


def make_sample(job, seed, size):
    """Render image ``index`` of ``split``: encoded PNGs, per-class pixel
    counts and its COCO annotations (ids filled in by the caller). Runs in a
    worker process; depends on (seed, split, index) only."""
    split, index = job
    rng = np.random.default_rng((seed, SPLIT_STREAMS[split], index))
    image, label, instance, categories = render_scene(rng, *size)
    anns = instance_annotations(instance, categories)
    return (encode_png(image), encode_png(label),
            np.bincount(label.ravel(), minlength=256), anns)


def readme_text(args):
    h, w = args.size
    return f"""{README_MARKER}
(seed {args.seed}, {args.num_train} train + {args.num_val} val images, \
{h}x{w} px).
Regenerate with:
    python tools/make_demo_data.py --out <this folder> --seed {args.seed} \
--num-train {args.num_train} --num-val {args.num_val} --size {h} {w}

cityscapes/  semantic segmentation, Cityscapes layout (mmseg CityscapesDataset)
    leftImg8bit/{{train,val}}/<city>/<city>_<seq>_<frame>_leftImg8bit.png
        RGB street scenes (PNG)
    gtFine/{{train,val}}/<city>/<city>_<seq>_<frame>_gtFine_labelTrainIds.png
        uint8 label maps, Cityscapes train ids 0..18, 255 = ignore
    cities: train {', '.join(CITIES['train'])}; val {', '.join(CITIES['val'])}
    classes: {', '.join(f'{i} {c}' for i, c in enumerate(CITYSCAPES_CLASSES))}

coco/  instance detection / segmentation of the same scenes (mmdet CocoDataset)
    train2017/*.png, val2017/*.png   the same images as leftImg8bit
    annotations/instances_train2017.json, instances_val2017.json
    categories: 1 person, 2 car, 3 traffic sign; one annotation per visible
    instance (area >= {MIN_INSTANCE_AREA} px), polygons from the visible mask.

The label map, the instance polygons and the image come from the same
painter, so they agree pixel for pixel (up to polygon rasterisation).
"""


def prepare_out(out):
    """Create OUT; replace an earlier run's output, refuse anything else."""
    if out.exists() and not out.is_dir():
        raise ValueError(f'--out {out} exists and is not a directory')
    ours = (out / 'README.txt').is_file() and (
        out / 'README.txt').read_text().startswith(README_MARKER)
    for sub in ('cityscapes', 'coco'):
        if (out / sub).exists():
            if not ours:
                raise ValueError(
                    f'{out / sub} exists but was not written by this script '
                    f'(no {out / "README.txt"} of ours); refusing to '
                    'overwrite')
            shutil.rmtree(out / sub)
    out.mkdir(parents=True, exist_ok=True)


def generate(args):
    out = Path(args.out)
    prepare_out(out)
    h, w = args.size
    cats = [dict(id=i + 1, name=n) for i, n in enumerate(COCO_CLASSES)]
    pixel_counts = np.zeros(256, np.int64)
    inst_counts = {c: 0 for c in COCO_CLASSES}
    jobs = [('train', i) for i in range(args.num_train)] + \
        [('val', i) for i in range(args.num_val)]
    coco = {split: dict(images=[], annotations=[], categories=cats)
            for split in ('train', 'val')}
    render = functools.partial(make_sample, seed=args.seed, size=(h, w))
    workers = min(args.workers, len(jobs))
    with (multiprocessing.Pool(workers) if workers > 1 else
          nullcontext()) as pool:
        results = pool.imap(render, jobs) if pool else map(render, jobs)
        for (split, i), (img_png, label_png, counts, anns) in tqdm(
                zip(jobs, results), total=len(jobs), desc='demo scenes',
                unit='img'):
            city, stem = sample_name(split, i)
            img_dir = out / 'cityscapes' / 'leftImg8bit' / split / city
            gt_dir = out / 'cityscapes' / 'gtFine' / split / city
            coco_dir = out / 'coco' / COCO_SPLIT_DIRS[split]
            for d in (img_dir, gt_dir, coco_dir):
                d.mkdir(parents=True, exist_ok=True)
            (img_dir / f'{stem}_leftImg8bit.png').write_bytes(img_png)
            (gt_dir /
             f'{stem}_gtFine_labelTrainIds.png').write_bytes(label_png)
            (coco_dir / f'{stem}.png').write_bytes(img_png)
            pixel_counts += counts
            entry = coco[split]
            image_id = len(entry['images']) + 1
            entry['images'].append(
                dict(id=image_id, file_name=f'{stem}.png', height=h, width=w))
            for ann in anns:
                ann_id = len(entry['annotations']) + 1
                entry['annotations'].append(
                    dict(id=ann_id, image_id=image_id, **ann))
                inst_counts[COCO_CLASSES[ann['category_id'] - 1]] += 1
    ann_dir = out / 'coco' / 'annotations'
    ann_dir.mkdir(parents=True, exist_ok=True)
    for split, entry in coco.items():
        entry = dict(info=dict(description='hrseg_plugin synthetic demo '
                               f'scenes ({split}), seed {args.seed}'),
                     **entry)
        (ann_dir / f'instances_{COCO_SPLIT_DIRS[split]}.json').write_text(
            json.dumps(entry, separators=(',', ':')))
    (out / 'README.txt').write_text(readme_text(args))
    return pixel_counts, inst_counts


def summary(args, pixel_counts, inst_counts, seconds):
    total = pixel_counts.sum()
    fractions = ', '.join(
        f'{name} {100 * pixel_counts[i] / total:.1f}%'
        for i, name in enumerate(CITYSCAPES_CLASSES) if pixel_counts[i])
    out = Path(args.out)
    return (f'Wrote {args.num_train} train + {args.num_val} val synthetic '
            f'street scenes of {args.size[0]}x{args.size[1]} px (seed '
            f'{args.seed}) in {seconds:.1f} s. Class pixel fractions: '
            f'{fractions}, ignore '
            f'{100 * pixel_counts[IGNORE_INDEX] / total:.1f}%. COCO '
            'instances: ' +
            ', '.join(f'{n} {c}' for n, c in inst_counts.items()) +
            f'. Segmentation set (mmseg CityscapesDataset): '
            f'{out / "cityscapes"}; instance set (mmdet CocoDataset): '
            f'{out / "coco"}; layout described in {out / "README.txt"}.')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate synthetic street scenes as a Cityscapes-layout '
        'segmentation set and a COCO instance set.')
    parser.add_argument('--out', default='data/demo',
                        help='output folder (default: data/demo)')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed, >= 0 (default: 0)')
    parser.add_argument('--num-train', type=int, default=60,
                        help='number of training images (default: 60)')
    parser.add_argument('--num-val', type=int, default=20,
                        help='number of validation images (default: 20)')
    parser.add_argument('--size', type=int, nargs=2, default=(256, 512),
                        metavar=('H', 'W'),
                        help='image height and width (default: 256 512)')
    parser.add_argument('--workers', type=int,
                        default=min(os.cpu_count() or 1, 8),
                        help='worker processes (default: number of CPUs, at '
                        'most 8); the output does not depend on it')
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error(f'--seed must be >= 0, got {args.seed}')
    if args.num_train < 1:
        parser.error(f'--num-train must be >= 1, got {args.num_train}')
    if args.num_val < 1:
        parser.error(f'--num-val must be >= 1, got {args.num_val}')
    if args.workers < 1:
        parser.error(f'--workers must be >= 1, got {args.workers}')
    h, w = args.size
    if min(h, w) < MIN_SIZE:
        parser.error(f'--size {h} {w} is too small: images must be at least '
                     f'{MIN_SIZE}x{MIN_SIZE}')
    if max(h, w) > MAX_SIZE:
        parser.error(f'--size {h} {w} is too large: at most {MAX_SIZE} px '
                     'per side')
    args.size = (h, w)
    return args


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        pixel_counts, inst_counts = generate(args)
    except ValueError as err:
        sys.exit(f'make_demo_data.py: error: {err}')
    print(summary(args, pixel_counts, inst_counts,
                  time.perf_counter() - start))


if __name__ == '__main__':
    main()
