"""The classes of the demo scenes: Cityscapes train ids for the label maps,
COCO categories for the instances."""
CITYSCAPES_CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole',
                      'traffic light', 'traffic sign', 'vegetation', 'terrain',
                      'sky', 'person', 'rider', 'car', 'truck', 'bus', 'train',
                      'motorcycle', 'bicycle')
COCO_CLASSES = ('person', 'car', 'traffic sign')
IGNORE_INDEX = 255

# Cityscapes train ids used by the painter.
ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE, TRAFFIC_LIGHT, TRAFFIC_SIGN, \
    VEGETATION, TERRAIN, SKY, PERSON, _RIDER, CAR = range(14)
