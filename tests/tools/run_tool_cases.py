"""Run several tools/ entry points in one Python process (one torch import for all of them):
``python tests/tools/run_tool_cases.py CASES.json OUT.json``, CASES a list of [tool, argv].

Each tool runs as ``__main__`` with its own ``sys.argv``; OUT records its exit code and what it
wrote to stderr. An exception that escapes the tool (what would print a traceback) is recorded
with its traceback and exit code 1, as the interpreter would."""
import contextlib
import io
import json
import os.path as osp
import runpy
import sys
import traceback
import warnings

TOOLS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools')


def run_case(tool, argv):
    sys.argv = [osp.join(TOOLS, tool), *argv]
    stderr = io.StringIO()
    code = 0
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            runpy.run_path(sys.argv[0], run_name='__main__')
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
            if not isinstance(exit_.code, (int, type(None))):
                print(exit_.code, file=sys.stderr)
        except BaseException:  # noqa: BLE001 - what the interpreter would print
            traceback.print_exc()
            code = 1
    return dict(returncode=code, stderr=stderr.getvalue())


def main():
    warnings.simplefilter('ignore')
    spec, out = sys.argv[1:3]
    results = [run_case(tool, argv) for tool, argv in json.load(open(spec))]
    with open(out, 'w') as f:
        json.dump(results, f)


if __name__ == '__main__':
    main()
