from setuptools import find_packages, setup

setup(
    name='hemaseg',
    version='0.1.0',
    description='Blood-cancer microscopy segmentation models for OpenMMLab and Detectron2',
    packages=find_packages(include=['hemaseg*', 'mmengine_plugins*', 'mmseg_plugins*', 'mmdet_plugins*', 'det2_plugins*']),
    python_requires='>=3.9',
    install_requires=['numpy', 'opencv-python-headless', 'torch'],
    extras_require={'openmmlab': ['mmengine==0.10.7', 'mmsegmentation==1.2.2', 'mmdet==3.3.0']},
)
