"""The test suite's tool runner: a failing tool must fail the test with the cause on the first
line (CI shows only part of a failing test's output)."""
import pytest

from conftest import run_tool


def test_failure_message_leads_with_the_exception_line(tmp_path):
    script = tmp_path / 'tool.py'
    # atexit output lands after the traceback, as shutdown warnings of real tools do
    script.write_text('import atexit, sys\n'
                      'atexit.register(lambda: print("[W] shutdown warning", file=sys.stderr))\n'
                      'print("step 1 done")\n'
                      'raise OSError(28, "No space left on device")\n')
    with pytest.raises(AssertionError) as e:
        run_tool([script])
    first = str(e.value).splitlines()[0]
    assert 'exited 1: OSError: [Errno 28] No space left on device' in first
    assert '[disk full:' in first and 'GiB free' in first
    assert 'step 1 done' in str(e.value)  # the ends of both streams follow


def test_exit_without_traceback_reports_the_last_line(tmp_path):
    script = tmp_path / 'tool.py'
    script.write_text('import sys\nprint("3 input(s) failed: a.png, b.png, c.png", file=sys.stderr)\nsys.exit(2)\n')
    with pytest.raises(AssertionError, match=r'exited 2: 3 input\(s\) failed: a.png'):
        run_tool([script])
    proc = run_tool([script], check=False)
    assert proc.returncode == 2
