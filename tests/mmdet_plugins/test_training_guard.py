"""The collapse guard (hemaseg.training_guard) and where it runs: MMEngine's loss logging
(SyncFreeRuntimeInfoHook), mmdet's box head foreground recall, Detectron2's Trainer hook."""
import math

import pytest
import torch

from hemaseg.training_guard import CollapseGuard, TrainingCollapsed


def feed(guard, recalls, start=0, losses=None):
    for i, r in enumerate(recalls, start):
        guard.update(i, losses or {'loss': 1.0}, r)


def test_non_finite_loss_stops_at_once():
    guard = CollapseGuard()
    guard.update(0, {'loss': 1.0, 'loss_cls': 0.5})
    with pytest.raises(TrainingCollapsed, match=r'iteration 7: the loss is not finite \(loss_cls=nan\).*Try: lower'):
        guard.update(7, {'loss': 1.0, 'loss_cls': math.nan})
    with pytest.raises(TrainingCollapsed, match='loss=inf'):
        CollapseGuard().update(3, {'loss': math.inf})


def test_background_only_after_learning_foreground_stops_after_patience():
    guard = CollapseGuard(patience=5, armed_at=0.5, arm_after=10)
    feed(guard, [1.0] * 10)  # a fresh head calling everything foreground, during the warm-up: not armed
    assert guard.armed_iteration is None
    feed(guard, [0.0] * 20, start=10)  # a slow start: background only, never armed, never stops
    feed(guard, [0.6], start=30)  # learned foreground after the warm-up: armed
    assert guard.armed_iteration == 30
    feed(guard, [0.0] * 4 + [0.1] + [0.0] * 4, start=31)  # a recovery resets the count
    with pytest.raises(TrainingCollapsed, match=r'iteration 40: .* every foreground proposal as background for 5 '
                                                r'recorded iterations \(since iteration 36; .* at iteration 30\)'):
        feed(guard, [0.0], start=40)
    with pytest.raises(ValueError):
        CollapseGuard(patience=0)


def test_replayed_collapse_and_healthy_run_shapes():
    """The recorded shape of the R-Mask R-CNN collapse (docs/results.md): foreground learned after the
    warm-up, then background only from iteration 220 on. Patience 100: stopped at iteration 319."""
    recalls = [1.0] * 5 + [0.0] * 100 + [0.2] * 9 + [0.67] + [0.3] * 105 + [0.0] * 200
    with pytest.raises(TrainingCollapsed, match='iteration 319:'):
        feed(CollapseGuard(patience=100, arm_after=100), recalls)
    feed(CollapseGuard(patience=100, arm_after=100), [0.0] * 60 + [0.5] * 740)  # a healthy run never stops


class _FakeRunner:
    def __init__(self, hook):
        from mmengine.logging import MessageHub
        self.message_hub = MessageHub.get_instance(f'guard_test_{id(self)}')
        self.hooks = []
        self.iter = 0


def test_mmengine_loss_logging_raises_on_collapse_with_the_iteration():
    from mmengine_plugins.hooks import SyncFreeRuntimeInfoHook
    hook = SyncFreeRuntimeInfoHook(interval=10, collapse_patience=20)
    runner = _FakeRunner(hook)
    hook.guard.arm_after = 0

    def step(i, recall, loss=1.0):
        runner.iter = i
        hook.after_train_iter(runner, i, outputs={'loss': torch.tensor(loss), 'fg_recall': torch.tensor(recall)})
    for i in range(10):
        step(i, 0.8)
    assert hook.guard.armed_iteration == 0  # checked at the hand-over every 10 iterations
    assert runner.message_hub.get_scalar('train/fg_recall').current() == pytest.approx(0.8)
    with pytest.raises(TrainingCollapsed, match='iteration 29: .* for 20 recorded iterations'):
        for i in range(10, 40):
            step(i, 0.0)
    hook = SyncFreeRuntimeInfoHook(interval=4)
    runner = _FakeRunner(hook)
    with pytest.raises(TrainingCollapsed, match='iteration 2: the loss is not finite'):
        for i, loss in enumerate([1.0, 0.9, math.nan, 0.8]):
            runner.iter = i
            hook.after_train_iter(runner, i, outputs={'loss': torch.tensor(loss)})


def test_mmdet_box_head_logs_its_foreground_recall():
    pytest.importorskip('mmdet', reason='MMDetection not installed (run tools/setup_env.sh)')
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import mmdet_plugins  # noqa: F401
    register_all_modules()
    head = MODELS.build(dict(type='Shared2FCBBoxHeadWithRecall', in_channels=8, fc_out_channels=16, roi_feat_size=2,
                             num_classes=2))
    # 3 foreground RoIs (labels 0, 1, 1) and 2 background (label 2 = num_classes); the scores call
    # RoI 0 class 1 (foreground: counts), RoI 1 background (missed), RoI 2 class 1, both background RoIs background.
    cls_score = torch.tensor([[0., 5., 0.], [0., 0., 5.], [0., 5., 0.], [0., 0., 5.], [0., 0., 5.]])
    labels = torch.tensor([0, 1, 1, 2, 2])
    losses = head.loss(cls_score, None, None, labels, torch.ones(5), None, None)
    assert losses['fg_recall'].item() == pytest.approx(2 / 3)


def test_detectron2_trainer_hook_reads_false_negatives():
    pytest.importorskip('detectron2', reason='Detectron2 is not installed (build it: DETECTRON2_SOURCE=... '
                                             'bash tools/setup_env.sh)')
    from detectron2.utils.events import EventStorage

    from det2_plugins.engine import CollapseGuardHook

    class Trainer:
        iter = 0

    hook = CollapseGuardHook(patience=3, arm_after=0)
    hook.trainer = Trainer()
    with EventStorage(0) as storage:
        hook.trainer.storage = storage
        with pytest.raises(TrainingCollapsed, match='iteration 3:'):
            for i, fn in enumerate([0.2, 1.0, 1.0, 1.0]):
                hook.trainer.iter = storage.iter = i
                storage.put_scalars(total_loss=0.5, **{'fast_rcnn/false_negative': fn})
                hook.after_step()
