"""Things with instances (COCO categories): cars and pedestrians, drawn as
simple 3D shapes seen in perspective."""
import cv2
import numpy as np

from .classes import CAR, PERSON
from .palette import CAR_COLOURS, CLOTHES_COLOURS, SKIN_COLOURS, jitter, pick
from .scene import SHIFT, cv_pts


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


#: The 17 COCO person keypoints, in COCO's order.
COCO_KEYPOINTS = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
                  'left_shoulder', 'right_shoulder', 'left_elbow',
                  'right_elbow', 'left_wrist', 'right_wrist', 'left_hip',
                  'right_hip', 'left_knee', 'right_knee', 'left_ankle',
                  'right_ankle')


def draw_person(scene, cam, xp, zp, inst):
    """A pedestrian: legs, torso, arms, head (and sometimes a bag).

    Pedestrians face the camera (the face is painted, the hair only on top
    of the head), so the person's left is the image's right (``side=1``).
    The joints the body is painted from (shoulders, hips and the straight
    limbs' ends; elbows and knees halfway along them; face points on the
    head) are recorded in ``scene.keypoints[inst]`` in
    :data:`COCO_KEYPOINTS` order, as (17, 2) float pixel coordinates,
    without drawing any random number."""
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
    joints = {}

    def p(x, y):
        return int(round(x * (1 << SHIFT))), int(round(y * (1 << SHIFT)))

    m = scene.mask()
    for side in (-1, 1):
        hip = (u + side * 0.08 * s, hip_y)
        ankle = (u + side * stride, v - leg_t / 2)
        cv2.line(m, p(*hip), p(*ankle), 255, leg_t, cv2.LINE_8, SHIFT)
        joints[side] = dict(hip=hip, ankle=ankle)
    scene.paint(m, PERSON, pants, inst, noise=6, vgrad=6)
    m = scene.mask()
    torso = [(u - 0.21 * s, sh_y), (u + 0.21 * s, sh_y),
             (u + 0.17 * s, hip_y + 0.03 * hp),
             (u - 0.17 * s, hip_y + 0.03 * hp)]
    cv2.fillPoly(m, [cv_pts(torso)], 255, cv2.LINE_8, SHIFT)
    swing = rng.uniform(-0.15, 0.15) * s
    for side in (-1, 1):
        shoulder = (u + side * 0.2 * s, sh_y + arm_t / 2)
        wrist = (u + side * 0.25 * s + side * swing * 0.3 + swing,
                 v - 0.47 * hp)
        cv2.line(m, p(*shoulder), p(*wrist), 255, arm_t, cv2.LINE_8, SHIFT)
        joints[side].update(shoulder=shoulder, wrist=wrist)
    if rng.random() < 0.3 and s > 8:  # a bag or backpack
        bx = u + rng.choice((-1, 1)) * 0.25 * s
        cv2.rectangle(m, p(bx - 0.1 * s, hip_y - 0.1 * hp),
                      p(bx + 0.1 * s, hip_y + 0.05 * hp), 255, -1, cv2.LINE_8,
                      SHIFT)
    scene.paint(m, PERSON, shirt, inst, noise=7, vgrad=8, blotch=6, cell=4)
    m = scene.mask()
    neck = (u, sh_y - head_r)  # the centre of the head
    cv2.circle(m, p(*neck), int(round(head_r * (1 << SHIFT))), 255, -1,
               cv2.LINE_8, SHIFT)
    scene.paint(m, PERSON, skin, inst, noise=5)
    m = scene.mask()
    cv2.ellipse(m, p(neck[0], neck[1] - 0.2 * head_r),
                p(head_r * 1.02, head_r * 0.9), 0, 180, 360, 255, -1,
                cv2.LINE_8, SHIFT)
    scene.paint(m, PERSON, hair, inst, noise=5)
    scene.keypoints[inst] = person_keypoints(neck, head_r, joints)


def person_keypoints(head, head_r, joints):
    """The 17 COCO keypoints of a pedestrian facing the camera.

    Args:
        head (tuple[float, float]): centre of the head (the hair covers the
            part above ``head_r / 5`` over it).
        head_r (float): head radius in pixels.
        joints (dict): per side (1: the person's left = image right, -1:
            right), the ends of the straight limbs: ``hip``, ``ankle``,
            ``shoulder``, ``wrist``.

    Returns:
        np.ndarray: (17, 2) float64 pixel coordinates, COCO order.
    """
    hx, hy = head

    def mid(a, b):
        return ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)

    points = dict(nose=(hx, hy + 0.25 * head_r))
    for side, name in ((1, 'left'), (-1, 'right')):
        j = joints[side]
        points.update({
            f'{name}_eye': (hx + side * 0.35 * head_r, hy - 0.05 * head_r),
            f'{name}_ear': (hx + side * 0.95 * head_r, hy + 0.05 * head_r),
            f'{name}_shoulder': j['shoulder'],
            f'{name}_elbow': mid(j['shoulder'], j['wrist']),
            f'{name}_wrist': j['wrist'],
            f'{name}_hip': j['hip'],
            f'{name}_knee': mid(j['hip'], j['ankle']),
            f'{name}_ankle': j['ankle'],
        })
    return np.array([points[k] for k in COCO_KEYPOINTS], np.float64)
