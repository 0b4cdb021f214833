# What the classifier CPU configs (configs/densenet_cls/*-96x96.py, configs/resnet_cls/*-96x96.py) change in a
# paper config for a 2-core CPU: 96x96 input (ResizeEdge 100 / CenterCrop 96, the paper's 232/224
# ratio), one loader worker, lr 1e-4 (the papers' 1e-5 is too slow for a short run from scratch),
# logging every 10 iterations. Epochs and the plateau patience are the CPU config's own.
# Only new keys (prefix cpu_), because mmengine refuses a key that two bases define; each CPU
# config swaps these into its paper config's pipelines in a few lines.
cpu_96x96 = dict(ResizeEdge=dict(type='ResizeEdge', scale=100, edge='short', interpolation='bilinear'),
                 CenterCrop=dict(type='CenterCrop', crop_size=96))
cpu_optim_wrapper = dict(optimizer=dict(lr=1e-4))
cpu_default_hooks = dict(logger=dict(interval=10))
