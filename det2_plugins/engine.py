"""Run set-up for the Detectron2 tools that survives a crashing environment report.

Detectron2's ``default_setup`` logs ``collect_env_info()`` in the training process. On a CUDA 13
node (one H200, torch 2.11.0+cu130, the project's GPU run of 2026-12-04) that call dies with
SIGSEGV inside ``detectron2._C.get_cuda_version()``, before the first iteration, although the
compiled ops themselves work. A report that only *describes* the environment must not be able to
kill a training run, so :func:`setup_run` does everything ``default_setup`` does (output folder,
loggers, rank, command line, the config file and the full config dump, per-rank seeding, cuDNN
benchmark and fp32 precision) and asks for the environment report in a **child process**: what it
printed is logged, and if it crashed or hung, the signal or time-out is logged instead and the
run goes on.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys

import torch
from detectron2.config import CfgNode
from detectron2.data import build_detection_test_loader, build_detection_train_loader
from detectron2.engine import AMPTrainer, DefaultTrainer, HookBase
from detectron2.evaluation import COCOEvaluator
from detectron2.utils import comm
from detectron2.utils.env import seed_all_rng
from detectron2.utils.logger import setup_logger

from .data import build_mapper

# The child runs exactly what default_setup would run in-process.
ENV_REPORT_CODE = "from detectron2.utils.collect_env import collect_env_info; print(collect_env_info())"
ENV_REPORT_TIMEOUT_S = 120.0


def environment_report(timeout: float = ENV_REPORT_TIMEOUT_S) -> tuple[bool, str]:
    """``(ok, text)``: Detectron2's ``collect_env_info()`` run in a child Python process.

    ``ok`` False when the child was killed by a signal, exited non-zero or ran past ``timeout``
    seconds; ``text`` then says which (and ends with the child's last stderr line), so the log
    shows why there is no report while this process carries on.
    """
    try:
        proc = subprocess.run([sys.executable, "-c", ENV_REPORT_CODE], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"collect_env_info() did not finish within {timeout:.0f} s in a child process"
    except OSError as exc:  # e.g. no free process slot
        return False, f"could not start a child process for collect_env_info(): {exc}"
    if proc.returncode == 0:
        return True, proc.stdout.rstrip()
    if proc.returncode < 0:
        try:
            how = f"was killed by {signal.Signals(-proc.returncode).name}"
        except ValueError:
            how = f"was killed by signal {-proc.returncode}"
    else:
        how = f"exited with status {proc.returncode}"
    last = next((ln for ln in reversed(proc.stderr.splitlines()) if ln.strip()), "")
    return False, f"collect_env_info() {how} in a child process" + (f" ({last.strip()})" if last else "")


def _set_float32_precision(precision: str, logger: logging.Logger) -> None:
    """``FLOAT32_PRECISION`` as Detectron2 applies it: TF32 matmuls/convolutions unless "highest"."""
    if not torch.cuda.is_available():
        return
    torch.set_float32_matmul_precision(precision)
    torch.backends.cudnn.allow_tf32 = precision != "highest"
    logger.info("fp32 precision %s: matmul allow_tf32=%s, cudnn allow_tf32=%s", precision,
                torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)


def setup_run(cfg: CfgNode, args, env_report_timeout: float = ENV_REPORT_TIMEOUT_S) -> logging.Logger:
    """Detectron2's ``default_setup(cfg, args)`` without ``collect_env_info`` in this process.

    Creates ``cfg.OUTPUT_DIR`` (main process), sets up the ``fvcore`` and ``detectron2`` loggers
    (file + console, per rank), logs the rank, the environment report from
    :func:`environment_report` (main process only: the children of every rank would print the
    same), the command line and the config file, writes ``OUTPUT_DIR/config.yaml``, seeds every
    RNG with ``SEED + rank`` (``SEED < 0``: a random seed), and applies ``CUDNN_BENCHMARK`` (not for
    ``--eval-only``) and ``FLOAT32_PRECISION``. Returns the ``detectron2`` logger.
    """
    output_dir = cfg.OUTPUT_DIR
    if comm.is_main_process() and output_dir:
        os.makedirs(output_dir, exist_ok=True)
    rank = comm.get_rank()
    setup_logger(output_dir, distributed_rank=rank, name="fvcore")
    logger = setup_logger(output_dir, distributed_rank=rank)
    logger.info("Rank of current process: %d. World size: %d", rank, comm.get_world_size())
    if comm.is_main_process():
        ok, report = environment_report(env_report_timeout)
        if ok:
            logger.info("Environment info:\n%s", report)
        else:
            logger.warning("No environment report: %s. Training is not affected (the report only describes "
                           "the installation).", report)
    logger.info("Command line arguments: %s", args)
    config_file = getattr(args, "config_file", "")
    if config_file:
        with open(config_file) as f:
            logger.info("Contents of args.config_file=%s:\n%s", config_file, f.read())
    if comm.is_main_process() and output_dir:
        path = os.path.join(output_dir, "config.yaml")
        logger.info("Running with full config:\n%s", cfg.dump())
        with open(path, "w") as f:
            f.write(cfg.dump())
        logger.info("Full config saved to %s", path)
    seed = cfg.SEED
    seed_all_rng(None if seed < 0 else seed + rank)
    if not getattr(args, "eval_only", False):
        torch.backends.cudnn.benchmark = cfg.CUDNN_BENCHMARK
    if cfg.get("FLOAT32_PRECISION", ""):
        _set_float32_precision(cfg.FLOAT32_PRECISION, logger)
    return logger


def event_writers(output_dir: str, max_iter: int) -> list:
    """Detectron2's default writers (console, ``metrics.json``, TensorBoard) where ``tensorboard`` is
    installed; without it the first two, and a log line saying so. Detectron2 declares TensorBoard
    (and its ~20 MB of dependencies) but only the event writer uses it, so offline nodes may omit it."""
    import importlib.util

    from detectron2.engine.defaults import default_writers
    from detectron2.utils.events import CommonMetricPrinter, JSONWriter
    if importlib.util.find_spec("tensorboard") is not None:
        return default_writers(output_dir, max_iter)
    logging.getLogger("detectron2").info("tensorboard is not installed: no TensorBoard events; metrics go to "
                                         "%s/metrics.json", output_dir)
    os.makedirs(output_dir, exist_ok=True)
    return [CommonMetricPrinter(max_iter), JSONWriter(os.path.join(output_dir, "metrics.json"))]


AMP_PRECISIONS = {"float16": torch.float16, "bfloat16": torch.bfloat16}


class CollapseGuardHook(HookBase):
    """Stops training when the RoI box head has collapsed (:class:`hemaseg.training_guard.CollapseGuard`):
    reads the losses and ``fast_rcnn/false_negative`` (the share of foreground RoIs classified as
    background) that Detectron2's R-CNN heads put into the event storage at every iteration.
    A non-finite loss is already stopped by Detectron2 itself (``FloatingPointError``)."""

    def __init__(self, patience: int, arm_after: int):
        from hemaseg.training_guard import CollapseGuard
        self.guard = CollapseGuard(patience, arm_after=arm_after)

    def after_step(self):
        latest = self.trainer.storage.latest()
        losses = {k: v for k, (v, _) in latest.items() if k.startswith("loss") or k == "total_loss"}
        fn = latest.get("fast_rcnn/false_negative")
        self.guard.update(self.trainer.iter, losses, None if fn is None else 1.0 - fn[0])


class Trainer(DefaultTrainer):
    """``DefaultTrainer`` with this project's data mapper, COCO box + mask evaluation, writers that
    work without TensorBoard (:func:`event_writers`), bf16 autocast (``SOLVER.AMP.PRECISION``), the
    collapse guard (``SOLVER.COLLAPSE_PATIENCE``) and optional diagnostics (``DIAGNOSTICS.ENABLED``)."""

    def __init__(self, cfg):
        super().__init__(cfg)
        precision = cfg.SOLVER.AMP.PRECISION
        if precision not in AMP_PRECISIONS:
            raise ValueError(f"SOLVER.AMP.PRECISION must be one of {sorted(AMP_PRECISIONS)}, got {precision!r}")
        if cfg.SOLVER.AMP.ENABLED and precision == "bfloat16":
            inner = self._trainer
            # No loss scale for bf16; a disabled GradScaler passes scale/step/update straight through.
            self._trainer = AMPTrainer(inner.model, inner.data_loader, inner.optimizer, precision=torch.bfloat16,
                                       grad_scaler=torch.amp.GradScaler("cuda", enabled=False))

    @classmethod
    def build_train_loader(cls, cfg):
        return build_detection_train_loader(cfg, mapper=build_mapper(cfg, True))

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        return build_detection_test_loader(cfg, dataset_name, mapper=build_mapper(cfg, False))

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_folder=None):
        output_folder = output_folder or os.path.join(cfg.OUTPUT_DIR, "inference", dataset_name)
        return COCOEvaluator(dataset_name, tasks=("bbox", "segm"), distributed=True, output_dir=output_folder)

    def build_writers(self):
        return event_writers(self.cfg.OUTPUT_DIR, self.max_iter)

    def build_hooks(self):
        hooks = super().build_hooks()
        if self.cfg.SOLVER.COLLAPSE_PATIENCE > 0:
            hooks.insert(-1, CollapseGuardHook(self.cfg.SOLVER.COLLAPSE_PATIENCE, self.cfg.SOLVER.WARMUP_ITERS))
        if self.cfg.DIAGNOSTICS.ENABLED:
            from .diagnostics import TrainingDiagnostics
            hooks.insert(-1, TrainingDiagnostics(self.cfg.DIAGNOSTICS.PERIOD))  # before the writers
        return hooks


def build_cfg(config_file: str, opts: list) -> CfgNode:
    """A frozen config: Detectron2's defaults, this project's keys, ``config_file`` and the
    ``KEY VALUE`` overrides; ``MODEL.DEVICE`` falls back to the CPU where CUDA is missing."""
    from detectron2.config import get_cfg

    from .config import add_hemaseg_config
    if not os.path.isfile(config_file):
        from hemaseg.model_index import missing_config_message
        raise SystemExit(missing_config_message(config_file))
    cfg = get_cfg()
    add_hemaseg_config(cfg)
    cfg.merge_from_file(config_file)
    cfg.merge_from_list(list(opts))
    if cfg.MODEL.DEVICE.startswith("cuda") and not torch.cuda.is_available():
        cfg.MODEL.DEVICE = "cpu"
    cfg.freeze()
    return cfg


def register_datasets(cfg: CfgNode) -> list[str]:
    """Register every split of ``DATASETS.COCO_ROOT`` (if set), then check that the configured
    ``DATASETS.TRAIN`` / ``TEST`` names exist; returns the names registered."""
    from .data import check_datasets_registered, register_coco_folder
    names = register_coco_folder(cfg.DATASETS.COCO_ROOT, cfg.DATASETS.COCO_NAME) if cfg.DATASETS.COCO_ROOT else []
    if names:
        logging.getLogger("detectron2").info("registered %s", ", ".join(names))
    check_datasets_registered(cfg)
    return names


def train_or_evaluate(args):
    """One training run of ``tools/det2_train_net.py`` (or, with ``--eval-only``, one evaluation of
    ``MODEL.WEIGHTS``) in this process; ``args``: Detectron2's ``default_argument_parser``. Returns
    the evaluation results (after training only when ``TEST.EXPECTED_RESULTS`` is set)."""
    from detectron2.checkpoint import DetectionCheckpointer
    from detectron2.evaluation import verify_results

    from hemaseg.training_guard import ADVICE, TrainingCollapsed
    cfg = build_cfg(args.config_file, args.opts)
    # default_setup without collect_env_info in this process: on a CUDA 13 node that report
    # segfaulted before the first iteration (see the module docstring).
    setup_run(cfg, args)
    register_datasets(cfg)
    if args.eval_only:
        model = Trainer.build_model(cfg)
        DetectionCheckpointer(model, save_dir=cfg.OUTPUT_DIR).resume_or_load(cfg.MODEL.WEIGHTS, resume=args.resume)
        res = Trainer.test(cfg, model)
        if comm.is_main_process():
            verify_results(cfg, res)
        return res
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=args.resume)
    try:
        trainer.train()
    except TrainingCollapsed as e:  # the guard's message says what happened and what to try
        raise SystemExit(f"error: {e}") from None
    except FloatingPointError as e:  # Detectron2's own check of the loss
        raise SystemExit(f"error: {e}; training stopped. Try: {ADVICE}.") from None
    # DefaultTrainer.train() returns them only when TEST.EXPECTED_RESULTS is set.
    return getattr(trainer, "_last_eval_results", None)


def train_net(args):
    """``tools/det2_train_net.py`` after its arguments are parsed: :func:`train_or_evaluate` in this
    process on one device (so that callers get the results), else through Detectron2's ``launch``
    with one process per GPU."""
    from detectron2.engine import launch
    if args.num_gpus > 1 and torch.cuda.device_count() < args.num_gpus:
        raise SystemExit(f"--num-gpus {args.num_gpus} needs that many CUDA devices; this machine has "
                         f"{torch.cuda.device_count()} (on CPU use --num-gpus 1)")
    print("Command Line Args:", args)
    if args.num_gpus * args.num_machines == 1:
        return train_or_evaluate(args)  # in-process, so that callers get the evaluation results
    return launch(train_or_evaluate, args.num_gpus, num_machines=args.num_machines, machine_rank=args.machine_rank,
                  dist_url=args.dist_url, args=(args,))
