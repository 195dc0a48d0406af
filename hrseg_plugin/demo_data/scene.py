"""The painter's canvas: an image, its Cityscapes label map and its instance
map, painted together so the three always agree."""
import cv2
import numpy as np

from .classes import (BUILDING, IGNORE_INDEX, ROAD, SIDEWALK, SKY, TERRAIN,
                      VEGETATION)


SHIFT = 3  # sub-pixel bits for cv2 drawing


def cv_pts(points):
    """Float pixel coordinates -> cv2's fixed-point int32 points."""
    p = np.round(np.asarray(points, np.float64) * (1 << SHIFT))
    p = np.minimum(np.maximum(p, -2**24), 2**24)  # far off-screen is enough
    return p.astype(np.int32).reshape(-1, 1, 2)


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
        # person instance id -> (17, 2) COCO keypoints (see draw_person)
        self.keypoints = {}
        # one field of sensor-like noise per image, sliced by every texture
        self.colour_grain = rng.standard_normal((height, width, 3), np.float32)
        # luminance grain: a shifted channel looks just as independent
        self.grain = np.roll(self.colour_grain[..., 0], (height // 2, 7),
                             (0, 1))

    # -- masks -------------------------------------------------------------
    def mask(self):
        """An empty uint8 mask of the image's size."""
        return np.zeros((self.h, self.w), np.uint8)

    def poly_mask(self, *polys):
        """A mask of the union of polygons, each an (N, 2) array of pixels.
        (One fillPoly call per polygon: a single call with several polygons
        leaves their overlaps empty.)"""
        m = self.mask()
        for p in polys:
            cv2.fillPoly(m, [cv_pts(p)], 255, cv2.LINE_8, SHIFT)
        return m

    def new_instance(self, category):
        """A new instance id of COCO class name ``category``."""
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
