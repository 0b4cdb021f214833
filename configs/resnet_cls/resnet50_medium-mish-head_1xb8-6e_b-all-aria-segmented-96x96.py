# configs/resnet_cls/resnet50_medium-mish-head_1xb8-30e_b-all-aria-segmented-224x224.py sized for a 2-core CPU: the real data and the
# full ResNet-50 + Medium head with Mish, at 96x96 (ResizeEdge 100 / CenterCrop 96, the paper's
# 232/224 ratio), 6 epochs of 242 iterations (batch 8), lr 1e-4 (the paper's 1e-5 is too slow
# for a short run from scratch), ReduceLROnPlateau patience 1.
# Measured with OMP_NUM_THREADS=1: 0.85 s of CPU time per training iteration (forward, backward,
# Adam step; ReLU 0.73 s); through tools/train.py on a machine busy with two other trainings,
# 4.5-5 s wall per iteration.
#   python tools/train.py configs/resnet_cls/resnet50_medium-mish-head_1xb8-6e_b-all-aria-segmented-96x96.py
_base_ = ['./resnet50_medium-mish-head_1xb8-30e_b-all-aria-segmented-224x224.py', '../_base_/schedules/cls_cpu_96x96.py']
# The paper pipelines with the 96x96 resize and crop of cls_cpu_96x96.py; 6 epochs, plateau patience 1.
train_dataloader = dict(num_workers=1, dataset=dict(pipeline=[_base_.cpu_96x96.get(t.type, t) for t in _base_.train_dataloader.dataset.pipeline]))
val_dataloader = test_dataloader = dict(num_workers=1, dataset=dict(pipeline=[_base_.cpu_96x96.get(t.type, t) for t in _base_.val_dataloader.dataset.pipeline]))
optim_wrapper, default_hooks = _base_.cpu_optim_wrapper, _base_.cpu_default_hooks
param_scheduler, train_cfg = [dict(_base_.param_scheduler[0], patience=1)], dict(max_epochs=6)
