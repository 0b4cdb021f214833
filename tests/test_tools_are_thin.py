"""The command lines in tools/ call the installed packages: no tool imports another tool, and no tool
edits sys.path (the set-up installs the repository with `pip install -e .`, so imports just work)."""
import ast
import glob
import os.path as osp

from conftest import REPO_ROOT

TOOLS = sorted(glob.glob(osp.join(REPO_ROOT, 'tools', '**', '*.py'), recursive=True))
TOOL_MODULES = {osp.splitext(osp.basename(p))[0] for p in TOOLS}


def test_no_tool_imports_another_tool():
    assert len(TOOLS) > 20, 'the scan found almost no tools'
    offenders = []
    for path in TOOLS:
        for node in ast.walk(ast.parse(open(path, encoding='utf-8').read())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ''] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            offenders += [f'{osp.relpath(path, REPO_ROOT)}:{node.lineno} imports {n}' for n in names
                          if n.split('.')[0] in TOOL_MODULES]
    assert not offenders, '\n'.join(offenders)


def test_no_tool_edits_sys_path():
    offenders = [osp.relpath(p, REPO_ROOT) for p in TOOLS if 'sys.path' in open(p, encoding='utf-8').read()]
    assert not offenders, offenders
