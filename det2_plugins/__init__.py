"""Detectron2 side of the project (filled by the instance-segmentation work).

Detectron2 is optional: it is not on PyPI, see the README for installing it.
"""
