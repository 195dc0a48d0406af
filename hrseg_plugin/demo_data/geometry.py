"""The 3D world of a demo scene: a pinhole camera over a flat ground plane,
the lateral layout of the street, and the vertical wall rectangles
(facades) buildings are made of. Metres, X right, Y up, Z forward."""
from dataclasses import dataclass

import numpy as np


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
        """Pixels per metre of something at depth z."""
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
        """The image quad of the facade between heights y0 and y1 (default:
        its top), shape (4, 2)."""
        return self.quads(cam, (0, self.length, y0,
                                self.height if y1 is None else y1))[0]
