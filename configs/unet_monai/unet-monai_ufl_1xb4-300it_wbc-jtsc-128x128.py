# CPU variant of ../unet-monai_ufl_1xb8-30e_wbc-jtsc-256x256.py for a quick real run: same network, loss
# (Table A2 values), optimiser (Adam lr 1e-4, Table A2 weight decay) and augmentation, but 128x128
# inputs, batch 4 and 300 iterations with one validation at the end: 1.1-1.6 s per iteration with
# OMP_NUM_THREADS=1 on a busy 2-core machine, 6-8 minutes in all. ReduceLROnPlateau is dropped:
# with a single validation it could never act (the learning rate stays 1e-4).
#   python tools/dataset_converters/wbc_zheng2018.py ../shared/data/wbc_zheng2018 \
#       --subsets dataset1 --out data/wbc_jtsc_nucleus
#   python tools/train.py configs/unet_monai/unet-monai_ufl_1xb4-300it_wbc-jtsc-128x128.py
#   python tools/test.py configs/unet_monai/unet-monai_ufl_1xb4-300it_wbc-jtsc-128x128.py \
#       work_dirs/unet-monai_ufl_1xb4-300it_wbc-jtsc-128x128/iter_300.pth
# Metrics are still computed at each image's original size.
_base_ = ['./unet-monai_ufl_1xb8-30e_wbc-jtsc-256x256.py', '../_base_/schedules/cpu_300it_single-val.py']
# The paper config at 128x128 (cpu_resize swapped into its pipelines) on the schedule of
# cpu_300it_single-val.py.
train_pipeline, test_pipeline = ([_base_.cpu_resize if t.type == 'Resize' else t for t in pipeline]
                                 for pipeline in (_base_.train_pipeline, _base_.test_pipeline))
train_dataloader = dict(batch_size=_base_.cpu_batch_size, dataset=dict(pipeline=train_pipeline))
val_dataloader = test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
img_scale, train_cfg, param_scheduler = _base_.cpu_resize.scale, dict(_base_.cpu_train_cfg, _delete_=True), []
default_hooks, log_processor = _base_.cpu_default_hooks, dict(by_epoch=False)
