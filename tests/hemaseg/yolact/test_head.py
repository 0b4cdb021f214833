"""YOLACTHead: shapes, loss behaviour (OHEM, ignored anchors, masks), inference, and that it learns."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from hemaseg.yolact import YOLACTHead, box_iou, make_anchors, match_anchors

LEVELS = [(8, 8), (4, 4), (2, 2), (1, 1), (1, 1)]


def _feats(batch=1, channels=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, channels, h, w, generator=g) for h, w in LEVELS]


def _disk_target(size=64, centre=(30, 34), radius=14):
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing='ij')
    mask = ((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) <= radius ** 2
    ys, xs = torch.nonzero(mask, as_tuple=True)
    box = torch.tensor([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], dtype=torch.float32)
    return {'boxes': box, 'labels': torch.tensor([0]), 'masks': mask[None].to(torch.uint8)}


def _head(**kw):
    torch.manual_seed(0)
    args = dict(num_classes=1, in_channels=16, num_prototypes=4, anchor_scales=(8, 16, 32, 48, 64))
    args.update(kw)
    return YOLACTHead(**args)


def test_output_shapes():
    head = _head().train()
    feats = _feats(batch=2)
    out = head(feats, feats[0], (64, 64))
    num_anchors = sum(h * w for h, w in LEVELS) * 3
    assert out['cls'].shape == (2, num_anchors, 2)
    assert out['box'].shape == (2, num_anchors, 4)
    assert out['coef'].shape == (2, num_anchors, 4) and out['coef'].abs().max() <= 1
    assert out['proto'].shape == (2, 4, 16, 16) and out['proto'].min() >= 0
    assert out['semantic'].shape == (2, 1, 8, 8)
    assert out['anchors'].shape == (num_anchors, 4)
    head.eval()
    assert head(feats, feats[0], (64, 64))['semantic'] is None


def test_wrong_number_of_levels_is_named():
    with pytest.raises(ValueError, match='expects 5 levels, got 4'):
        _head()(_feats()[:4], _feats()[0], (64, 64))
    with pytest.raises(ValueError, match='unknown loss weights'):
        _head(loss_weights={'boxes': 1.0})


def test_losses_are_finite_and_reach_every_branch():
    head = _head().train()
    feats = _feats()
    losses = head.loss(head(feats, feats[0], (64, 64)), [_disk_target()])
    assert set(losses) == {'loss_cls', 'loss_box', 'loss_mask', 'loss_semantic'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    sum(losses.values()).backward()
    for name in ('protonet', 'prediction', 'semantic'):
        grads = [p.grad for p in getattr(head, name).parameters()]
        assert all(g is not None and g.abs().sum() > 0 for g in grads), name


def _controlled_outputs(head, target, image_size=(64, 64)):
    """Outputs whose class logits predict the matching result perfectly (background for ignored)."""
    feats = _feats()
    out = head(feats, feats[0], image_size)
    state, _ = match_anchors(out['anchors'], target['boxes'])
    cls = torch.zeros_like(out['cls'])
    cls[0, :, 0] = 20.0
    cls[0, state == 1, 0] = 0.0
    cls[0, state == 1, 1] = 20.0
    return {**out, 'cls': cls}, state


def test_ohem_counts_hard_negatives_but_not_ignored_anchors():
    head = _head(semantic_branch=False).train()
    target = _disk_target()
    out, state = _controlled_outputs(head, target)
    base = head.loss(out, [target])['loss_cls']
    assert base < 1e-6
    num_pos = int((state == 1).sum())
    # One confidently wrong negative anchor is the hardest negative: it enters the loss.
    wrong_neg = out['cls'].clone()
    neg = int(torch.nonzero(state == 0)[0])
    wrong_neg[0, neg] = torch.tensor([0.0, 20.0])
    assert head.loss({**out, 'cls': wrong_neg}, [target])['loss_cls'] == pytest.approx(20.0 / num_pos, rel=1e-3)
    ignored = torch.nonzero(state == -1)
    if ignored.numel():
        wrong_ign = out['cls'].clone()
        wrong_ign[0, int(ignored[0])] = torch.tensor([0.0, 20.0])
        assert head.loss({**out, 'cls': wrong_ign}, [target])['loss_cls'] < 1e-6


def test_mask_loss_is_small_for_the_right_mask_and_ignores_pixels_outside_the_box():
    head = _head(semantic_branch=False, num_prototypes=1).train()
    target = _disk_target()
    out, state = _controlled_outputs(head, target)
    gt = F.interpolate(target['masks'][None].float(), size=(16, 16), mode='bilinear')[0, 0] > 0.5
    proto = torch.where(gt, 20.0, -20.0)[None, None]  # one prototype = +-20 * GT
    right = head.loss({**out, 'proto': proto, 'coef': torch.ones_like(out['coef'][..., :1])}, [target])['loss_mask']
    wrong = head.loss({**out, 'proto': proto, 'coef': -torch.ones_like(out['coef'][..., :1])}, [target])['loss_mask']
    assert right < 1e-3 < wrong
    # Pixels outside the GT box do not count: a prototype that is wrong only there costs nothing.
    outside = proto.clone()
    outside[..., :, :2] = 20.0  # the disk's box starts at column 20 / 4 = 5 in prototype pixels
    same = head.loss({**out, 'proto': outside, 'coef': torch.ones_like(out['coef'][..., :1])}, [target])['loss_mask']
    assert same == pytest.approx(float(right), abs=1e-4)


def test_predict_crops_masks_and_clamps_boxes():
    head = _head(score_threshold=0.0, max_detections=7).eval()
    feats = _feats(seed=3)
    with torch.no_grad():
        out = head(feats, feats[0], (64, 64))
    (res,) = head.predict(out, [(50, 60)])
    assert res['boxes'].shape[0] == res['scores'].shape[0] == res['labels'].shape[0] <= 7
    assert res['masks'].shape[1:] == (50, 60)
    assert (res['scores'][:-1] >= res['scores'][1:]).all()
    assert res['boxes'][:, 2].max() <= 60 and res['boxes'][:, 3].max() <= 50
    for box, mask in zip(res['boxes'], res['masks']):
        ys, xs = torch.nonzero(mask > 0, as_tuple=True)
        if len(xs):  # mask pixels lie within the box, up to the 4-px prototype quantisation + bilinear blur
            assert xs.min() >= box[0] - 8 and xs.max() <= box[2] + 8
            assert ys.min() >= box[1] - 8 and ys.max() <= box[3] + 8


def test_predict_with_no_candidates_is_empty():
    head = _head(score_threshold=1.1).eval()
    feats = _feats()
    (res,) = head.predict(head(feats, feats[0], (64, 64)))
    assert res['boxes'].shape == (0, 4) and res['masks'].shape == (0, 64, 64)


class _TinyPyramid(nn.Module):
    """A small conv pyramid with the level sizes of LEVELS for a 64x64 image."""

    def __init__(self, channels=16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, channels, 3, 2, 1), nn.ReLU(), nn.Conv2d(channels, channels, 3, 2, 1),
                                  nn.ReLU(), nn.Conv2d(channels, channels, 3, 2, 1), nn.ReLU())
        # The last level is 1x1 like the one before it (YOLACT's N6/N7 at small inputs), but
        # from its own conv: identical features would make its anchors indistinguishable.
        self.downs = nn.ModuleList(nn.Conv2d(channels, channels, 3, 2 if i < 3 else 1, 1) for i in range(4))

    def forward(self, x):
        feats = [self.stem(x)]
        for down in self.downs:
            feats.append(torch.relu(down(feats[-1])))
        return feats


def test_head_learns_to_segment_one_image():
    """Overfitting one disk image: the top detection must find the disk (box and mask IoU > 0.7)."""
    torch.manual_seed(0)
    target = _disk_target()
    image = target['masks'][None].float().repeat(1, 3, 1, 1) + 0.1 * torch.randn(1, 3, 64, 64)
    net, head = _TinyPyramid(), _head(num_prototypes=8)
    opt = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=3e-3)
    for _ in range(150):
        feats = net(image)
        losses = head.loss(head(feats, feats[0], (64, 64)), [target])
        opt.zero_grad()
        sum(losses.values()).backward()
        opt.step()
    head.eval()
    with torch.no_grad():
        feats = net(image)
        (res,) = head.predict(head(feats, feats[0], (64, 64)))
    assert res['scores'][0] > 0.5
    assert box_iou(res['boxes'][:1], target['boxes']).item() > 0.7
    pred, gt = res['masks'][0] > 0.5, target['masks'][0].bool()
    assert (pred & gt).sum() / (pred | gt).sum() > 0.7


def test_anchor_cache_follows_image_size():
    head = _head()
    feats = _feats()
    a = head.anchors(feats, (64, 64))
    b = head.anchors(feats, (32, 32))
    assert torch.allclose(b[:, :2] * 2, a[:, :2])
    assert torch.equal(a, make_anchors(LEVELS, (64, 64), head.anchor_scales))
