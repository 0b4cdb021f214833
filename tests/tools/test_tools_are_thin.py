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


# --------------------------------------------------------------------------- tests use the packages
# Tests import what they check from the packages (hemaseg, *_plugins); a tool is only run as a command
# (a subprocess), never imported, and tools/ is never put on sys.path. The scan below reads every test
# file's syntax tree. A command-line test may load a tool from its path (conftest.load_tool) to call its
# main(argv) in-process.
TESTS = sorted(glob.glob(osp.join(REPO_ROOT, 'tests', '**', '*.py'), recursive=True))
PATH_EDITS = {'insert', 'append', 'extend', '__setitem__', '__iadd__'}  # of sys.path
DYNAMIC_IMPORTS = {'import_module', '__import__'}


def _names_tools(node, tools_names: set) -> bool:
    """Whether an expression mentions the tools folder: a string with a path component 'tools', or a
    name bound (anywhere in the file) to such an expression."""
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and 'tools' in n.value.replace('\\', '/').split('/'):
            return True
        if isinstance(n, ast.Name) and n.id in tools_names:
            return True
    return False


def _is_sys_path(node) -> bool:
    """``sys.path`` (or ``sys.path[...]``)."""
    node = node.value if isinstance(node, ast.Subscript) else node
    return (isinstance(node, ast.Attribute) and node.attr == 'path' and isinstance(node.value, ast.Name)
            and node.value.id == 'sys')


def test_offences(source: str) -> list:
    """The offences of one test file's source: imports of a tools/ module
    by name (``import x``, ``from x import``, ``importlib.import_module('x')``) and edits that put
    tools/ on sys.path (``sys.path.insert/append/extend``, assignments to ``sys.path``, pytest's
    ``monkeypatch.syspath_prepend``, ``site.addsitedir``). Loading a tool's file by its path to call
    its ``main(argv)`` in-process (the command-line tests of the converters and coco_eval.py) is a
    test of the command line, not an import of library code, and is not reported."""
    tree = ast.parse(source)
    tools_names = {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) and _names_tools(n.value, set())
                   for t in n.targets if isinstance(t, ast.Name)}
    offences = []

    def imported(name, lineno):
        top = name.split('.')[0]
        if top in TOOL_MODULES:
            offences.append(f'{lineno}: imports {name} (tools/{top}.py); import it from its package')

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                imported(a.name, node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported(node.module, node.lineno)
        elif isinstance(node, ast.Call):
            func = node.func
            attr = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ''
            args = [*node.args, *(k.value for k in node.keywords)]
            if attr in DYNAMIC_IMPORTS and args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
                imported(args[0].value, node.lineno)
            elif ((attr in PATH_EDITS and isinstance(func, ast.Attribute) and _is_sys_path(func.value))
                  or attr in ('syspath_prepend', 'addsitedir')) and any(_names_tools(a, tools_names) for a in args):
                offences.append(f'{node.lineno}: puts tools/ on sys.path ({attr})')
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_is_sys_path(t) for t in targets) and _names_tools(node.value, tools_names):
                offences.append(f'{node.lineno}: puts tools/ on sys.path (assignment)')
    return sorted(offences, key=lambda o: int(o.split(':')[0]))


test_offences.__test__ = False  # a helper named test_*: not a test for pytest


def test_no_test_imports_a_tool_or_puts_tools_on_sys_path():
    assert len(TESTS) > 40, 'the scan found almost no tests'
    offenders = []
    for path in TESTS:
        offenders += [f'{osp.relpath(path, REPO_ROOT)}:{line}' for line in test_offences(open(path, encoding='utf-8').read())]
    assert not offenders, '\n'.join(offenders)


def test_the_scan_finds_each_kind_of_offence():
    """The scan itself: every way a test could reach into tools/ is reported, and package imports,
    relative imports and running a tool as a command are not."""
    bad = '\n'.join([
        'import benchmark',
        'from cross_validate import subset_metrics',
        'import explain as e',
        'import importlib',
        "importlib.import_module('det2_infer')",
        'import os.path as osp, sys',
        "importlib.__import__('cam_energy')",
        "sys.path.insert(0, osp.join(ROOT, 'tools'))",
        "TOOLS = osp.join(ROOT, 'tools')",
        'sys.path.append(TOOLS)',
        'sys.path[:0] = [TOOLS]',
        'sys.path += [TOOLS]',
        'def test_x(monkeypatch):',
        "    monkeypatch.syspath_prepend('tools')",
    ])
    offences = test_offences(bad)
    assert [o.split(':')[0] for o in offences] == ['1', '2', '3', '5', '7', '8', '10', '11', '12', '14'], offences
    good = '\n'.join([
        'import subprocess, sys',
        'from hemaseg.benchmarking.timing import summarize',
        'from mmengine_plugins import cross_validation as cv',
        'from . import helpers',
        "subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'benchmark.py'), '--help'])",
        'sys.path.insert(0, ROOT)',
    ])
    assert test_offences(good) == []
