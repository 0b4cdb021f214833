# The handcrafted WBC nucleus segmentation of spec 002 (Algorithm 1) as an mmseg model
# (mmseg_plugins HandcraftedNucleusSegmentor): no learned weights, so it is only tested
# (`python tools/test.py CONFIG none`). Parameters: Table A1 (handcrafted_nucleus_table-a1.py).
# The segmentor reads each image at its original size from its file, so the test pipeline's
# resize does not reach it.
_base_ = ['./handcrafted_nucleus_table-a1.py']
model = dict(type='HandcraftedNucleusSegmentor', handcrafted=_base_.handcrafted_nucleus, nucleus_index=1)
