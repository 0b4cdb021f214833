# Ensemble nucleus segmentation of spec 002 (Eq. 12 + area opening, §2.3): the handcrafted mask
# (Algorithm 1, Table A1) AND a deep model's mask, then an area opening of 150 px (ambiguity #5:
# Table A1's area filter). A base beside a segmentation config, with new keys only (mmengine
# refuses a key that two bases define); the ensemble configs wrap that config's model:
#   model = dict(_base_.nucleus_ensemble, deep_model=_base_.model, _delete_=True)
# One test run reports the ensemble (nucleus/Dice ...), the handcrafted mask
# (nucleus/handcrafted_Dice ...) and the deep model alone (nucleus/deep_Dice ...), all at the
# original image size.
_base_ = ['./handcrafted_nucleus_table-a1.py']
nucleus_ensemble = dict(type='EnsembleNucleusSegmentor', deep_checkpoint=None, handcrafted=_base_.handcrafted_nucleus,
                        min_area=150, nucleus_index=1)
nucleus_ensemble_evaluator = dict(type='NucleusMetric', extra_predictions=('handcrafted', 'deep'))
