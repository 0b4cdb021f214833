"""Synthetic default dataset: deterministic, honest labels, project format."""
import numpy as np

from hemaseg.data.io import read_image, read_mask
from hemaseg.data.layout import load_meta
from hemaseg.data.splits import verify_splits
from hemaseg.data.synthetic import generate_synthetic_dataset, render_cell_crop


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()}


def test_byte_identical_for_same_seed(tmp_path):
    generate_synthetic_dataset(tmp_path / 'a', num_images=12, size=64, seed=5, log=lambda _: None)
    generate_synthetic_dataset(tmp_path / 'b', num_images=12, size=64, seed=5, log=lambda _: None)
    generate_synthetic_dataset(tmp_path / 'c', num_images=12, size=64, seed=6, log=lambda _: None)
    a, b, c = _files(tmp_path / 'a'), _files(tmp_path / 'b'), _files(tmp_path / 'c')
    assert len(a) == 12 * 2 + 1 + 5 * 3 + 1  # images, masks, all.txt, 5 folds x 3 splits, meta.json
    assert a == b
    assert a['images/syn_000.png'] != c['images/syn_000.png']


def test_image_i_independent_of_dataset_size(tmp_path):
    generate_synthetic_dataset(tmp_path / 'a', num_images=6, size=64, log=lambda _: None)
    generate_synthetic_dataset(tmp_path / 'b', num_images=10, size=64, log=lambda _: None)
    assert (tmp_path / 'a/images/syn_005.png').read_bytes() == (tmp_path / 'b/images/syn_005.png').read_bytes()


def test_content_and_format(tmp_path):
    out = tmp_path / 'syn'
    generate_synthetic_dataset(out, num_images=20, size=96, seed=0, classes='3class', log=lambda _: None)
    meta = load_meta(out)
    assert meta['classes'] == ['background', 'cytoplasm', 'nucleus'] and meta['num_images'] == 20
    assert verify_splits(out)['folds'] == [{'train': 12, 'val': 4, 'test': 4}] * 5
    fractions = []
    for i in range(20):
        img, mask = read_image(out / f'images/syn_{i:03d}.png'), read_mask(out / f'masks/syn_{i:03d}.png')
        assert img.shape == (96, 96, 3) and mask.shape == (96, 96)
        assert set(np.unique(mask)) <= {0, 1, 2} and (mask == 2).any() and (mask == 1).any()
        nuc = mask == 2
        # nucleus is darker than the background (stained), mostly in the centre region
        assert img[nuc].mean() < img[mask == 0].mean() - 20
        ys, xs = np.nonzero(nuc)
        assert 20 < ys.mean() < 76 and 20 < xs.mean() < 76
        fractions.append(nuc.mean())
    assert 0.03 < np.mean(fractions) < 0.3


def test_padding_is_black_and_background():
    rng = np.random.default_rng(0)
    seen_padding = False
    for _ in range(30):
        image, nucleus, cell = render_cell_crop(rng, 64)
        assert nucleus.any() and (cell | ~nucleus).all()  # nucleus lies inside the cell
        black = (image == 0).all(axis=2)
        if black[:, 0].all() or black[:, -1].all() or black[0].all() or black[-1].all():
            seen_padding = True
            assert not nucleus[black].any() and not cell[black].any()
    assert seen_padding


def test_binary_mode(tmp_path):
    generate_synthetic_dataset(tmp_path / 's', num_images=5, size=48, log=lambda _: None)
    assert set(np.unique(read_mask(tmp_path / 's/masks/syn_000.png'))) == {0, 1}
