# configs/densenet_cls/densenet169_linear-head_1xb8-30e_all-idb2-224x224.py sized for a 2-core CPU, as the explainable-CAD CPU
# configs: the real data and the full DenseNet-169 + linear head at 96x96 (ResizeEdge 100 /
# CenterCrop 96, the 232/224 ratio), 30 epochs of 20 iterations (batch 8), lr 1e-4 (1e-5 is too slow
# for a short run from scratch), ReduceLROnPlateau patience 3.
# Measured with OMP_NUM_THREADS=1 (model only, no data loading): 0.65 s of CPU time per training
# iteration (forward, backward, Adam step, batch 8 at 96x96), so about 7 CPU-minutes for the 600 iterations.
#   python tools/train.py configs/densenet_cls/densenet169_linear-head_1xb8-30e_all-idb2-96x96.py
_base_ = ['./densenet169_linear-head_1xb8-30e_all-idb2-224x224.py', '../_base_/schedules/cls_cpu_96x96.py']
# The paper pipelines with the 96x96 resize and crop of cls_cpu_96x96.py; 30 epochs, plateau patience 3.
train_dataloader = dict(num_workers=1, dataset=dict(pipeline=[_base_.cpu_96x96.get(t.type, t) for t in _base_.train_dataloader.dataset.pipeline]))
val_dataloader = test_dataloader = dict(num_workers=1, dataset=dict(pipeline=[_base_.cpu_96x96.get(t.type, t) for t in _base_.val_dataloader.dataset.pipeline]))
optim_wrapper, default_hooks = _base_.cpu_optim_wrapper, _base_.cpu_default_hooks
param_scheduler, train_cfg = [dict(_base_.param_scheduler[0], patience=3)], dict(max_epochs=30)
