"""Wheels rebuilt from installed distributions, for the offline set-up test.

``tools/setup_env.sh`` with ``WHEELHOUSE`` must install the stack from a folder of wheels, reaching no
index. CI cannot download a wheel folder in a test, so this packs one from what ``.venv`` already
has installed: each distribution's files (its RECORD, minus console scripts outside site-packages
and byte code) and its ``.dist-info`` with a fresh RECORD, named with the tags of its WHEEL file.
"""
from __future__ import annotations

import base64
import hashlib
import importlib.metadata as md
import os
import zipfile

SKIPPED_DIST_INFO = {'RECORD', 'INSTALLER', 'REQUESTED', 'direct_url.json'}


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    return f'{arcname},sha256={digest},{len(data)}'


def repack(name: str, out_dir: str) -> str:
    """Write ``name``'s installed files as a wheel into ``out_dir``; return the wheel's path."""
    dist = md.distribution(name)
    info_dir = next(str(f).split('/')[0] for f in dist.files if str(f).split('/')[0].endswith('.dist-info'))
    wheel_meta = (dist.read_text('WHEEL') or '')
    tags = [line.split(':', 1)[1].strip() for line in wheel_meta.splitlines() if line.startswith('Tag:')]
    if not tags:
        raise ValueError(f'{name}: its WHEEL file names no tag (installed from a source tree?)')
    interpreters, abis, platforms = (sorted({t.split('-')[i] for t in tags}) for i in range(3))
    stem = info_dir[:-len('.dist-info')]
    path = os.path.join(out_dir, f"{stem}-{'.'.join(interpreters)}-{'.'.join(abis)}-{'.'.join(platforms)}.whl")
    records = []
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as whl:
        for f in dist.files:
            arcname = str(f)
            parts = arcname.split('/')
            if arcname.startswith('..') or '__pycache__' in parts or arcname.endswith('.pyc'):
                continue
            if parts[0] == info_dir and parts[-1] in SKIPPED_DIST_INFO:
                continue
            src = dist.locate_file(f)
            if not os.path.isfile(src):
                continue
            data = open(src, 'rb').read()
            whl.writestr(arcname, data)
            records.append(_record_line(arcname, data))
        records.append(f'{info_dir}/RECORD,,')
        whl.writestr(f'{info_dir}/RECORD', '\n'.join(records) + '\n')
    return path
