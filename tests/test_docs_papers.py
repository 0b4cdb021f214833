"""Every "spec NNN §X" that the code and docs cite resolves inside the repository: docs/papers/NNN_*.md
has a heading that starts with §X (the reading notes of the paper, docs/papers/README.md)."""
import glob
import os.path as osp
import re

from conftest import REPO_ROOT

CITE = re.compile(r'spec (\d{3}),? §(\d+(?:\.\d+)*)')
HEADING = re.compile(r'^#{2,4} §(\d+(?:\.\d+)*)\b', re.M)
SOURCES = ('hemaseg', 'mmengine_plugins', 'mmseg_plugins', 'mmdet_plugins', 'mmpretrain_plugins', 'det2_plugins',
           'configs', 'tools', 'tests', 'docs')


def _cited():
    cited = {}
    for folder in SOURCES:
        for path in glob.glob(osp.join(REPO_ROOT, folder, '**', '*'), recursive=True):
            if not path.endswith(('.py', '.md', '.sh', '.yaml')) or '/docs/papers/' in path:
                continue
            for spec, section in CITE.findall(open(path, encoding='utf-8').read()):
                cited.setdefault((spec, section), set()).add(osp.relpath(path, REPO_ROOT))
    for path in ('README.md',):
        for spec, section in CITE.findall(open(osp.join(REPO_ROOT, path), encoding='utf-8').read()):
            cited.setdefault((spec, section), set()).add(path)
    return cited


def test_every_cited_spec_section_has_a_heading_in_docs_papers():
    cited = _cited()
    assert len(cited) > 40, 'the scan found almost no citations: the pattern or the folders are wrong'
    headings, missing = {}, []
    for (spec, section), where in sorted(cited.items()):
        files = glob.glob(osp.join(REPO_ROOT, 'docs', 'papers', f'{spec}_*.md'))
        assert len(files) == 1, f'spec {spec}: expected one docs/papers/{spec}_*.md, found {files}'
        if spec not in headings:
            headings[spec] = set(HEADING.findall(open(files[0], encoding='utf-8').read()))
        if section not in headings[spec]:
            missing.append(f'spec {spec} §{section} (cited in {", ".join(sorted(where)[:3])})')
    assert not missing, 'cited sections without a heading in docs/papers: ' + '; '.join(missing)


def test_the_index_lists_every_paper_with_its_citation():
    index = open(osp.join(REPO_ROOT, 'docs', 'papers', 'README.md'), encoding='utf-8').read()
    for path in sorted(glob.glob(osp.join(REPO_ROOT, 'docs', 'papers', '[0-9][0-9][0-9]_*.md'))):
        name = osp.basename(path)
        assert f']({name})' in index, f'{name} is not linked from docs/papers/README.md'
        head = open(path, encoding='utf-8').read()[:1500]
        assert re.search(r'\b(19|20)\d\d\b', head), f'{name}: no year in its citation'


# A string that only the paper's full citation holds (its DOI, or what stands in for one).
CITATION_KEYS = {'000': '10.2147/JMDH.S492655', '001': '10.3389/fonc.2023.1223353', '002': '10.3390/cancers15133376',
                 '003': 'Al-Zubaidi et al.', '004': 'ijarcs.info'}


def test_modules_that_follow_a_paper_open_with_its_citation():
    import ast
    packages = ('hemaseg', 'mmengine_plugins', 'mmseg_plugins', 'mmdet_plugins', 'mmpretrain_plugins', 'det2_plugins')
    checked, missing = 0, []
    for folder in packages:
        for path in sorted(glob.glob(osp.join(REPO_ROOT, folder, '**', '*.py'), recursive=True)):
            doc = ast.get_docstring(ast.parse(open(path, encoding='utf-8').read())) or ''
            for spec in sorted(set(re.findall(r'spec (\d{3})', doc))):
                checked += 1
                if CITATION_KEYS[spec] not in doc:
                    missing.append(f'{osp.relpath(path, REPO_ROOT)}: cites spec {spec} without "{CITATION_KEYS[spec]}"')
    assert checked > 40, 'almost no module docstring cites a paper: the scan is wrong'
    assert not missing, '\n'.join(missing)
