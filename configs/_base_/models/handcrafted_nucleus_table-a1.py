# The handcrafted WBC nucleus segmentation's parameters (spec 002 Algorithm 1, Table A1), once for
# the handcrafted model (handcrafted_nucleus.py) and the ensemble (nucleus_ensemble.py).
# `dilation` is the side of the square element of a final dilation (0 disables it, 4 for Raabin
# basophils); hemaseg/handcrafted.py gives every reading of the paper's gaps.
# A new key only, so that it can sit beside any config as a base.
handcrafted_nucleus = dict(bilateral_diameter=9, bilateral_sigma=50.0, closing_kernel=3, min_area=150, dilation=2)
