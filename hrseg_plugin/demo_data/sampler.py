"""Random scene layout: the camera, the street, and the things standing on it
(poles, trees, cars, people) placed without overlapping footprints."""
from dataclasses import dataclass, field

import numpy as np

from .furniture import draw_pole_with_sign
from .geometry import Camera, Street
from .things import draw_car, draw_person
from .vegetation import draw_tree


@dataclass
class Thing:
    """Something standing on the street, painted in depth order."""
    z: float  # depth of its nearest point
    draw: callable
    footprint: tuple = field(default=None)  # (x0, x1, z0, z1) for overlaps


def sample_street(rng):
    """A random street: road and sidewalk widths, building lines (sometimes
    set back behind a strip of grass), lanes, a park instead of buildings on
    either side now and then, and the depth of the skyline.

    Args:
        rng (np.random.Generator): the scene's random generator.

    Returns:
        Street: the lateral layout, X in metres (the camera at X=0).
    """
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
    """A random camera for an h x w image: focal length about the image
    width, vanishing point near the centre, horizon in the upper half, 1.3
    to 1.7 m above the ground.

    Args:
        rng (np.random.Generator): the scene's random generator.
        h (int): image height in pixels.
        w (int): image width in pixels.

    Returns:
        Camera: the pinhole camera.
    """
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
    """Cars, people, poles (signs, lights, lamps) and trees, as Things.

    Args:
        scene (Scene): the canvas (its generator, size and instance ids).
        cam (Camera): the camera.
        street (Street): the street layout.

    Returns:
        list[Thing]: the things, each drawing itself when called (instance
        ids are taken now, in sampling order).
    """
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

    def add_instances(category, count, sampler, draw, *args):
        """Up to ``count`` instances of a COCO category, at footprints from
        ``sampler`` that overlap nothing placed before."""
        for _ in range(count):
            fp = place(things, sampler)
            if fp:
                inst = scene.new_instance(category)
                add(fp, lambda fp=fp, inst=inst: draw(
                    scene, cam, (fp[0] + fp[1]) / 2, fp[2], inst, *args))

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

    add_instances('car', rng.integers(1, 7), car_fp, draw_car, street.divider)

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

    add_instances('person', rng.integers(1, 9), person_fp, draw_person)
    return things
