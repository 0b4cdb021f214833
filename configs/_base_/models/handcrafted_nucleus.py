# The handcrafted WBC nucleus segmentation of spec 002 (Algorithm 1) as an mmseg model
# (mmseg_plugins HandcraftedNucleusSegmentor): no learned weights, so it is only tested
# (`python tools/test.py CONFIG none`). Parameters: Table A1; `dilation` is the side of the
# square element of a final dilation (0 disables it, 4 for Raabin basophils), see
# hemaseg/handcrafted.py for every reading of the paper's gaps. The segmentor reads each
# image at its original size from its file, so the test pipeline's resize does not reach it.
model = dict(
    type='HandcraftedNucleusSegmentor',
    handcrafted=dict(bilateral_diameter=9, bilateral_sigma=50.0, closing_kernel=3, min_area=150, dilation=2),
    nucleus_index=1)
