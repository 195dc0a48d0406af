from setuptools import find_packages, setup

setup(
    name='hrseg_plugin',
    version='0.1.0',
    description='High-resolution and real-time segmentation models for '
    'MMSegmentation and MMDetection (HRNet, OCR, BiSeNet, SKConv, strip pooling)',
    packages=find_packages(include=['hrseg_plugin', 'hrseg_plugin.*']),
    python_requires='>=3.8',
    install_requires=[
        'mmengine>=0.10,<0.11', 'mmcv>=2.0,<2.2', 'mmsegmentation>=1.2,<1.3',
        'mmdet>=3.3,<3.4'
    ],
)
