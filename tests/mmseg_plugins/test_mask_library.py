"""The library under the mask tools: hemaseg.mask_folder (one rule for unreadable images and empty masks,
shared by tools/handcrafted_nucleus.py and tools/precompute_masks.py) and mmseg_plugins.apis.Segmenter as
tools/precompute_masks.py uses it (class selection, whole fields larger than the crop, img_path)."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_tool
from hemaseg.data.io import read_image, read_mask, write_image
from hemaseg.handcrafted import segment_nucleus_handcrafted
from hemaseg.mask_folder import MaskJob, write_handcrafted_masks, write_masks

MSFF_TINY = osp.join(REPO_ROOT, 'tests', 'configs', 'msff_tiny.py')


def smear(shape, seed=0):
    """Pink background with noise and a few purple discs (nuclei of about 300-600 px)."""
    rng = np.random.default_rng(seed)
    img = np.empty((*shape, 3), np.float64)
    img[:] = (230, 190, 200)
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    for _ in range(max(1, shape[0] * shape[1] // 6000)):
        cy, cx, r = rng.integers(12, shape[0] - 12), rng.integers(12, shape[1] - 12), rng.integers(10, 14)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 <= r ** 2] = (110, 60, 150)
    img += rng.normal(0, 3, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- hemaseg.mask_folder
def test_one_rule_for_unreadable_images_and_empty_masks(tmp_path, capsys):
    write_image(tmp_path / 'in' / 'cell.png', smear((60, 60), seed=1))
    write_image(tmp_path / 'in' / 'blank.png', np.full((40, 40, 3), 220, np.uint8))
    (tmp_path / 'in' / 'broken.png').write_bytes(b'not an image')
    jobs = [MaskJob(str(tmp_path / 'in' / f'{n}.png'), str(tmp_path / 'out' / f'{n}.png'), n,
                    str(tmp_path / 'ov' / f'{n}.png')) for n in ('blank', 'broken', 'cell')]
    run = write_handcrafted_masks(jobs, progress_every=1)
    assert (run.total, run.written, run.kept, run.empty) == (3, 2, 0, ['blank'])
    assert [p for p, _ in run.failed] == [jobs[1].source] and 'cannot be decoded' in run.failed[0][1]
    assert not (tmp_path / 'out' / 'broken.png').exists() and not (tmp_path / 'ov' / 'broken.png').exists()
    cell = read_mask(tmp_path / 'out' / 'cell.png')
    assert set(np.unique(cell)) == {0, 255}
    assert np.array_equal(cell > 0, segment_nucleus_handcrafted(read_image(jobs[2].source)))
    assert read_image(tmp_path / 'ov' / 'cell.png').shape == (60, 60, 3)
    assert not read_mask(tmp_path / 'out' / 'blank.png').any()  # empty masks are written
    assert run.report('in OUT') == 1  # a failed image makes the exit status 1
    out, err = capsys.readouterr()
    assert '[3/3] 2 written, 0 kept, 1 empty, 1 failed' in out and '2 mask(s) written in OUT' in out
    assert 'warning: 1 of 3 masks are empty (nothing found): blank' in err
    assert '1 input(s) failed' in err and 'broken.png' in err

    # keep_existing: the masks written are kept, not recomputed, and still counted as empty
    def must_not_run(path, rgb):
        raise AssertionError(f'{path} was recomputed')

    again = write_masks(jobs[::2], must_not_run, keep_existing=True)
    assert (again.written, again.kept, again.empty, again.exit_status) == (0, 2, ['blank'], 0)
    # a segmentation that fails (or returns the wrong size) is a failure of that image only
    wrong = write_masks(jobs[2:], lambda path, rgb: np.ones((3, 3), bool))
    assert wrong.written == 0 and 'the mask is 3x3, the image 60x60' in wrong.failed[0][1]
    nothing = write_masks(jobs[1:2], must_not_run)
    assert nothing.exit_status == 1 and nothing.written == 0


def test_every_input_unreadable_leaves_no_output_folder(tmp_path):
    (tmp_path / 'broken.png').write_bytes(b'')
    run = write_handcrafted_masks([MaskJob(str(tmp_path / 'broken.png'), str(tmp_path / 'out' / 'b.png'), 'b')])
    assert run.exit_status == 1 and len(run.failed) == 1 and not (tmp_path / 'out').exists()


# --------------------------------------------------------------------------- mmseg_plugins.apis
def test_foreground_class_by_name_index_or_default():
    from mmseg_plugins.apis import foreground_class
    assert foreground_class(['background', 'nucleus', 'cytoplasm']) == (1, None)
    assert foreground_class(['background', 'nucleus', 'cytoplasm'], 'cytoplasm') == (2, None)
    assert foreground_class(['background', 'nucleus'], '0') == (0, None)
    index, note = foreground_class(['background', 'cell'], source='fabnet.py')
    assert index == 1 and "using class 1 ('cell')" in note and 'fabnet.py' in note
    with pytest.raises(ValueError, match=r"^'nucleus' is neither a class name nor a class index of fabnet.py"):
        foreground_class(['background', 'cell'], 'nucleus', 'fabnet.py')
    with pytest.raises(ValueError, match='no class named "nucleus"'):
        foreground_class(['a', 'b', 'c'])


@pytest.fixture(scope='module')
def msff_checkpoint(tmp_path_factory):
    """The tiny MSFF-SegNeXt (128 px input, no inference key: whole fields above 128 px) with random weights."""
    pytest.importorskip('mmseg', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import mmseg_plugins  # noqa: F401
    from mmseg.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmseg'):
        torch.manual_seed(0)
        model = MODELS.build(Config.fromfile(MSFF_TINY).model)
    path = str(tmp_path_factory.mktemp('msff') / 'msff_tiny_random.pth')
    meta = {'dataset_meta': {'classes': ('background', 'nucleus'), 'palette': [[0, 0, 0], [1, 1, 1]]}}
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, path)
    return path


def test_precompute_masks_segments_a_large_image_as_a_whole_field(msff_checkpoint, tmp_path):
    """tools/precompute_masks.py --method deep runs mmseg_plugins.apis.Segmenter: an image larger than the
    config's largest crop (128 px) is segmented as a whole field (sliding windows), a small one as one crop;
    --single-crop forces the old resize-to-the-input behaviour and is recorded in meta.json."""
    from mmengine.config import Config

    precompute_masks = load_tool('precompute_masks')
    from mmseg_plugins.apis import SINGLE, WHOLE, Segmenter
    root = tmp_path / 'ds'
    big, small = smear((200, 176), seed=2), smear((64, 64), seed=3)
    write_image(root / 'images' / 'A' / 'big.png', big)
    write_image(root / 'images' / 'A' / 'small.png', small)
    segmenter = Segmenter(Config.fromfile(MSFF_TINY), msff_checkpoint)
    assert segmenter.choose_mode(big.shape) == WHOLE and segmenter.choose_mode(small.shape) == SINGLE
    whole = segmenter(big, WHOLE)[0] == 1
    squeezed = segmenter(big, SINGLE)[0] == 1
    assert (whole != squeezed).any()  # so that the check below can tell the two modes apart

    def masks():
        return {n: cv2.imread(str(root / 'nucleus_masks' / 'A' / f'{n}.png'), cv2.IMREAD_UNCHANGED) > 0
                for n in ('big', 'small')}

    precompute_masks.main([str(root), '--method', 'deep', '--config', MSFF_TINY, '--checkpoint', msff_checkpoint])
    got = masks()
    assert np.array_equal(got['big'], whole)
    assert np.array_equal(got['small'], segmenter(small, SINGLE)[0] == 1)
    precompute_masks.main([str(root), '--method', 'deep', '--config', MSFF_TINY, '--checkpoint', msff_checkpoint,
                           '--single-crop', '--overwrite'])
    assert np.array_equal(masks()['big'], squeezed)
    settings = json.loads((root / 'nucleus_masks' / 'meta.json').read_text())['settings']
    assert settings['seg_mode'] == 'single-crop'
    with pytest.raises(SystemExit, match='apply to an mmseg segmentation model'):
        precompute_masks.main([str(root), '--whole-field'])


def test_segmenter_puts_the_image_path_in_the_data_sample(msff_checkpoint):
    """Given the file an image came from, the Segmenter puts it in the sample's img_path (the pipeline's
    LoadImageFromNDArray sets None), where the project's ensemble segmentor reads the original image."""
    from mmengine.config import Config

    from mmseg_plugins.apis import SINGLE, WHOLE, Segmenter
    segmenter = Segmenter(Config.fromfile(MSFF_TINY), msff_checkpoint)
    seen, test_step = [], segmenter.model.test_step

    def spy(data):
        seen.append(data['data_samples'][0].img_path)
        return test_step(data)

    segmenter.model.test_step = spy
    rgb = smear((64, 64), seed=4)
    for mode in (SINGLE, WHOLE):
        segmenter(rgb, mode, img_path='/data/x.png')
    segmenter(rgb, SINGLE)
    assert seen == ['/data/x.png', '/data/x.png', None]
