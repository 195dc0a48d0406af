"""One whole scene: the drawing order (sky, ground, skyline, street sides,
things far to near), the recording car's bonnet and the camera's own
effects."""
import cv2
import numpy as np

from .buildings import draw_facade_shadow, draw_skyline, draw_street_sides
from .classes import IGNORE_INDEX
from .ground import draw_ground, draw_sky
from .palette import jitter
from .sampler import sample_camera, sample_street, sample_things
from .scene import Scene


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
    """Paint one street scene.

    Args:
        rng (np.random.Generator): the scene's random generator; the scene
            is a pure function of its state.
        height (int): image height in pixels.
        width (int): image width in pixels.

    Returns:
        tuple: the (H, W, 3) uint8 BGR image, the (H, W) uint8 label map
        (Cityscapes train ids, 255 = ignore), the (H, W) int32 instance map
        (0 = none), a dict instance id -> COCO class name and a dict
        person instance id -> its (17, 2) COCO keypoints (where the painter
        put the joints, whether or not they are visible).
    """
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
        scene.categories, scene.keypoints
