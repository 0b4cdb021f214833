"""The benchmarked models of ``tools/benchmark.py``: the one place that names them, with their
configs (paths relative to the repository root), input sizes and the baseline of each group.

The tables are plain data; the framework adapters build a model from its entry.
"""
import os.path as osp

# configs are named from the repository root (this file is hemaseg/benchmarking/models.py)
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

MODELS = {
    'SegNeXt-T': 'configs/segnext/segnext_mscan-t_wbc-256x256.py',
    'MSFF-SegNeXt': 'configs/msff_segnext/msff-segnext_mscan-t_wbc-256x256.py',
    'U-Net': 'configs/unet/unet_wbc-256x256.py',
    'R2U-Net': 'configs/r2unet/r2unet_wbc-256x256.py',
    'DeepLabV3': 'configs/deeplabv3/deeplabv3_r50_wbc-256x256.py',
    'MONAI U-Net': 'configs/explainable_cad/unet-monai_ufl_wbc-jtsc-256x256.py',
    'ALL-FABNET': 'configs/all_fabnet/all-fabnet_densenet169_all-idb2-wholecell-256x256.py',
    'ALL-FABNET w/o FAB': 'configs/all_fabnet/all-fabnet-no-fab_densenet169_all-idb2-wholecell-256x256.py',
}
BASELINE = 'SegNeXt-T'
# name: (config, input size, baseline of its group)
DET_MODELS = {
    'YOLACT-R50': ('configs/yolact_cis/yolact_r50_fpn_wbc-550x550.py', 550, 'YOLACT-R50'),
    'YOLACT-CIS': ('configs/yolact_cis/yolact-cis_ghost-r50-s4_dffn-ddam_wbc-550x550.py', 550, 'YOLACT-R50'),
    'Mask R-CNN': ('configs/r_mask_rcnn/mask-rcnn_r50_fpn_wbc-512.py', 512, 'Mask R-CNN'),
    'R-Mask R-CNN': ('configs/r_mask_rcnn/r-mask-rcnn_r50_bu-ca-sa-fpn_wbc-512.py', 512, 'Mask R-CNN'),
}
# The explainable-CAD pipeline of spec 002, name: (config, kind). The kind says how it runs:
# 'handcrafted' (Algorithm 1 with the config's Table A1 parameters, no network), 'segmentor' (an
# mmseg model: predict + training step), 'ensemble' (inference only) and 'classifier' (MMPretrain).
CAD_MODELS = {
    'Handcrafted': ('configs/explainable_cad/handcrafted_wbc-jtsc.py', 'handcrafted'),
    'MONAI U-Net': ('configs/explainable_cad/unet-monai_ufl_wbc-jtsc-256x256.py', 'segmentor'),
    'Ensemble': ('configs/explainable_cad/ensemble_unet-monai_wbc-jtsc.py', 'ensemble'),
    'ResNet-50 Medium-Mish': ('configs/explainable_cad/resnet50_medium-mish_seg_b-all-aria.py', 'classifier'),
}
CAD_BASELINE = 'MONAI U-Net'
CLASSIFIER_SIZE = 224  # spec 002 §4.3: the classifier's input, whatever the segmentation size

TASKS = ('seg', 'det', 'cad')


def models_of(task: str) -> dict:
    """The model table of ``task`` ('seg', 'det' or 'cad'), in the table's order."""
    return {'seg': MODELS, 'det': DET_MODELS, 'cad': CAD_MODELS}[task]


def baselines_of(task: str) -> dict:
    """``{model: the model its ratios are to}`` for every model of ``task``."""
    return {'seg': {m: BASELINE for m in MODELS}, 'det': {m: DET_MODELS[m][2] for m in DET_MODELS},
            'cad': {m: CAD_BASELINE for m in CAD_MODELS}}[task]


def config_path(config: str) -> str:
    """The absolute path of a table's config (given relative to the repository root)."""
    return osp.join(REPO_ROOT, config)
