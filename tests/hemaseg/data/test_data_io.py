"""hemaseg.data.io: every failure is a DatasetError naming the file and the problem."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT
from hemaseg.data.io import (DatasetError, check_same_size, map_mask_values, read_image, read_instance_mask,
                             read_mask, write_image, write_mask)

ROOT = Path(REPO_ROOT)


def test_read_image_rgb_order_and_channel_handling(tmp_path):
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 200  # red
    write_image(tmp_path / 'a.png', rgb)
    assert cv2.imread(str(tmp_path / 'a.png'))[0, 0].tolist() == [0, 0, 200]  # BGR on disk
    assert read_image(tmp_path / 'a.png')[0, 0].tolist() == [200, 0, 0]

    cv2.imwrite(str(tmp_path / 'g.png'), np.full((4, 5), 7, np.uint8))
    assert read_image(tmp_path / 'g.png').shape == (4, 5, 3)
    bgra = np.dstack([np.full((4, 5), c, np.uint8) for c in (1, 2, 3, 9)])
    cv2.imwrite(str(tmp_path / 'rgba.png'), bgra)
    assert read_image(tmp_path / 'rgba.png')[0, 0].tolist() == [3, 2, 1]


@pytest.mark.parametrize('content, problem', [(None, 'does not exist'), (b'not an image', 'cannot be decoded'),
                                              (b'', 'cannot be decoded')])
def test_read_image_errors_name_file(tmp_path, content, problem):
    path = tmp_path / 'x.png'
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DatasetError, match=problem) as e:
        read_image(path)
    assert str(path) in str(e.value)


def test_read_image_rejects_16bit(tmp_path):
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((3, 3, 3), np.uint16))
    with pytest.raises(DatasetError, match='uint16'):
        read_image(tmp_path / 'a.png')


def test_read_mask(tmp_path):
    write_mask(tmp_path / 'm.png', np.array([[0, 1], [2, 255]], np.uint8))
    assert read_mask(tmp_path / 'm.png').tolist() == [[0, 1], [2, 255]]
    grey3 = np.dstack([np.array([[0, 128]], np.uint8)] * 3)
    cv2.imwrite(str(tmp_path / 'g3.png'), grey3)
    assert read_mask(tmp_path / 'g3.png').tolist() == [[0, 128]]
    colour = grey3.copy()
    colour[0, 1, 2] = 5
    cv2.imwrite(str(tmp_path / 'c.png'), colour)
    with pytest.raises(DatasetError, match=r'c\.png has 3 channels with different content'):
        read_mask(tmp_path / 'c.png')
    with pytest.raises(DatasetError, match='does not exist'):
        read_mask(tmp_path / 'missing.png')


def test_read_instance_mask_16bit(tmp_path):
    inst = np.zeros((5, 5), np.uint16)
    inst[1, 1], inst[3, 3] = 300, 2
    cv2.imwrite(str(tmp_path / 'i.png'), inst)
    out = read_instance_mask(tmp_path / 'i.png')
    assert out.dtype == np.int32 and out[1, 1] == 300 and out[3, 3] == 2


def test_map_mask_values_snaps_and_counts():
    mask = np.array([[0, 128, 255, 7], [7, 120, 250, 0]], np.uint8)
    snapped = []
    labels, n = map_mask_values(mask, {0: 0, 128: 1, 255: 2}, 'm.png', snap_tolerance=10, snapped=snapped)
    assert labels.tolist() == [[0, 1, 2, 0], [0, 1, 2, 0]]
    assert n == 4
    assert snapped == [(7, 2, 0), (120, 1, 128), (250, 1, 255)]
    # binary mode: snapping uses the raw levels, so 120 -> 128 -> background
    labels, _ = map_mask_values(mask, {0: 0, 128: 0, 255: 1}, 'm.png', snap_tolerance=10)
    assert labels.tolist() == [[0, 0, 1, 0], [0, 0, 1, 0]]


def test_map_mask_values_errors():
    mask = np.array([[0, 7, 7, 64]], np.uint8)
    with pytest.raises(DatasetError) as e:
        map_mask_values(mask, {0: 0, 128: 1}, 'dir/m.png', snap_tolerance=0)
    msg = str(e.value)
    assert 'dir/m.png' in msg and '7 (2 px' in msg and '64 (1 px' in msg
    with pytest.raises(DatasetError, match='64 .*equidistant to levels 0/128'):
        map_mask_values(mask, {0: 0, 128: 1}, 'm.png', snap_tolerance=100)


def test_check_same_size_message():
    with pytest.raises(DatasetError) as e:
        check_same_size(np.zeros((4, 5, 3)), np.zeros((4, 6)), 'img.bmp', 'mask.png')
    assert all(s in str(e.value) for s in ('img.bmp', 'mask.png', '5x4', '6x4'))
    check_same_size(np.zeros((4, 5, 3)), np.zeros((4, 5)), 'a', 'b')


def test_cli_reports_dataset_error_with_status_2(tmp_path):
    res = subprocess.run([sys.executable, str(ROOT / 'tools/dataset_converters/wbc_zheng2018.py'),
                          str(tmp_path / 'nowhere'), '--out', str(tmp_path / 'out')],
                         capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.startswith('error: ') and 'nowhere' in res.stderr and 'Traceback' not in res.stderr
