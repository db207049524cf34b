"""Regenerate the documentation that is read from the code, so it cannot go stale.

    python tools/docs/generate_pages.py            # rewrite the generated blocks
    python tools/docs/generate_pages.py --check    # exit 1 naming each page that differs

Each generated block sits between ``<!-- BEGIN GENERATED: NAME -->`` and
``<!-- END GENERATED: NAME -->`` in a page under docs/; the prose around it is hand-written.
Blocks (:data:`BLOCKS`):

- ``config-files`` (docs/get_started/weights_and_data.md): the local files and folders every
  shipped config needs (configs/ and the plugins' configs), walked as the tools' missing-path
  check walks them (``vidrd.apis.config_files.config_paths``), with where each comes from;
- ``registry-table`` (docs/user_guides/writing_a_plugin.md): every registry of
  ``vidrd/registry.py``, what goes in it and the protocol, and how many components it holds;
- ``components`` (docs/components.md): every registered component, its first docstring line
  and its constructor's config keys with their defaults.

``tests/docs/test_generated_pages.py`` fails when a committed page differs from what this
script writes.
"""
import argparse
import glob
import inspect
import os
import os.path as osp
import re
import sys
from typing import Callable, Dict, List, Optional, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, REPO)

from vidrd.utils.cli import InvalidValueError, run_cli  # noqa: E402

#: which tool checks which config section (the tools' check_paths calls)
SECTION_TOOLS = {
    'model': 'train, test, generate',
    'train_dataloader': 'train',
    'val_dataloader': 'train (validation)',
    'val_evaluator': 'train (validation)',
    'test_dataloader': 'test',
    'test_evaluator': 'test',
    'reference_dataloader': 'compute_reference_stats',
}


def shipped_configs(repo: str = REPO) -> List[str]:
    """Every config a user runs: configs/ (not _base_) and the plugins' configs, repo-relative."""
    paths = glob.glob(osp.join(repo, 'configs', '**', '*.py'), recursive=True)
    paths += glob.glob(osp.join(repo, 'plugins', '*', 'configs', '*.py'))
    rel = [osp.relpath(p, repo).replace(os.sep, '/') for p in paths]
    return sorted(p for p in rel if '/_base_/' not in p)


def _config_files(repo: str) -> List[Tuple[str, List[Tuple[str, str]]]]:
    """(config, [(key, path)]) for every shipped config."""
    from mmengine.config import Config

    from vidrd.apis.config_files import SECTIONS, config_paths
    out = []
    for config in shipped_configs(repo):
        # plugins' custom_imports need not be importable to read their file names
        cfg = Config.fromfile(osp.join(repo, config), import_custom_modules=False)
        out.append((config, config_paths(cfg, SECTIONS)))
    return out


def config_files_block(repo: str = REPO) -> str:
    """The ``config-files`` block: by folder, then by config."""
    from vidrd.apis.config_files import file_source
    per_config = _config_files(repo)
    by_path: Dict[str, Dict[str, set]] = {}
    for config, paths in per_config:
        for key, path in paths:
            path = osp.normpath(path).replace(os.sep, '/')
            if file_source(path) is None:
                raise InvalidValueError(
                    f'{config}: {key} = {path!r} has no entry in FILE_SOURCES '
                    '(vidrd/apis/config_files.py): add where it comes from')
            entry = by_path.setdefault(path, dict(configs=set(), tools=set()))
            entry['configs'].add(config)
            entry['tools'].add(SECTION_TOOLS.get(key.split('.', 1)[0].split('[', 1)[0], '?'))
    lines = ['### By file', '',
             '| path | what it is, where it comes from | needed by (tools) | configs |',
             '|---|---|---|---|']
    for path in sorted(by_path):
        entry = by_path[path]
        tools = ', '.join(sorted({t for ts in entry['tools'] for t in ts.split(', ')}))
        configs = '<br>'.join(f'`{c}`' for c in sorted(entry['configs']))
        lines.append(f'| `{path}` | {file_source(path)} | {tools} | {configs} |')
    lines += ['', '### By config', '', '| config | config key = path |', '|---|---|']
    for config, paths in per_config:
        if paths:
            cell = '<br>'.join(f'`{key}` = `{osp.normpath(path)}`' for key, path in paths)
        elif any(f'/{folder}/' in config for folder in ('ablations', 'long_video', 'samplers')):
            cell = 'none: a sampler overlay (`--sampler-config`), the model config\'s files'
        else:
            cell = 'none: everything is generated or trained by the run'
        lines.append(f'| `{config}` | {cell} |')
    return '\n'.join(lines)


def _registries() -> List[Tuple[str, object]]:
    """(variable name, registry) of every vidrd registry, in the order vidrd/registry.py
    defines them."""
    import vidrd.registry as registry_module
    return [(name, value) for name, value in vars(registry_module).items()
            if isinstance(value, registry_module.VidrdRegistry)]


def _own(registry) -> Dict[str, object]:
    """The entries vidrd itself registers (a plugin or a test imported in the same process may
    have added its own: the pages must not depend on that)."""
    registry.import_from_location()
    return {k: v for k, v in registry.module_dict.items()
            if getattr(v, '__module__', '').split('.')[0] == 'vidrd'}


def registry_table_block(repo: str = REPO) -> str:
    """The ``registry-table`` block of the plugin guide."""
    from vidrd.registry import PURPOSES
    lines = ['| registry | kind | parent | registered in vidrd | what goes in it, and the '
             'protocol |', '| --- | --- | --- | --- | --- |']
    for name, registry in _registries():
        if name not in PURPOSES:
            raise InvalidValueError(f'vidrd/registry.py: {name} has no entry in PURPOSES: '
                                    'say what goes in it')
        parent = "mmengine's" if registry.parent is not None else "none (vidrd's own)"
        lines.append(f'| `{name}` | {registry.name} | {parent} | {len(_own(registry))} '
                     f'| {PURPOSES[name]} |')
    return '\n'.join(lines)


_ADDRESS = re.compile(r' at 0x[0-9a-f]+')


def _default_text(value) -> str:
    if inspect.isfunction(value) or inspect.isclass(value):
        text = value.__name__
    else:
        text = _ADDRESS.sub('', repr(value))
    return text if len(text) <= 60 else text[:57] + '...'


def _config_keys(obj) -> str:
    """``key=default`` of a component's constructor (a class) or of a registered function."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return ''
    keys = []
    for param in signature.parameters.values():
        if param.name in ('self', 'cls'):
            continue
        if param.kind is param.VAR_POSITIONAL:
            keys.append(f'*{param.name}')
        elif param.kind is param.VAR_KEYWORD:
            keys.append(f'**{param.name}')
        elif param.default is param.empty:
            keys.append(param.name)
        else:
            keys.append(f'{param.name}={_default_text(param.default)}')
    return ', '.join(f'`{k}`'.replace('|', '\\|') for k in keys)


def _summary(obj) -> str:
    doc = inspect.getdoc(obj) or ''
    first = doc.strip().split('\n\n', 1)[0].replace('\n', ' ').strip()
    return first.replace('|', '\\|')


def components_block(repo: str = REPO) -> str:
    """The ``components`` block: one table per registry."""
    lines = []
    for name, registry in _registries():
        own = _own(registry)
        names = sorted(own)
        lines += [f'### `{name}` ({len(names)})', '']
        if not names:
            lines += [f'Nothing of vidrd\'s own: mmengine\'s {registry.name}s are used by name.',
                      '']
            continue
        lines += ['| name | what it is | config keys (defaults) |', '| --- | --- | --- |']
        for key in names:
            obj = own[key]
            module = getattr(obj, '__module__', '')
            lines.append(f'| `{key}` <br><small>`{module}`</small> | {_summary(obj)} | '
                         f'{_config_keys(obj)} |')
        lines.append('')
    return '\n'.join(lines).rstrip()


#: block name -> (page under the repository, function writing the block)
BLOCKS: Dict[str, Tuple[str, Callable[[str], str]]] = {
    'config-files': ('docs/get_started/weights_and_data.md', config_files_block),
    'registry-table': ('docs/user_guides/writing_a_plugin.md', registry_table_block),
    'components': ('docs/components.md', components_block),
}


def _markers(name: str) -> Tuple[str, str]:
    return (f'<!-- BEGIN GENERATED: {name} (tools/docs/generate_pages.py) -->',
            f'<!-- END GENERATED: {name} -->')


def render(page_text: str, name: str, block: str, page: str) -> str:
    """``page_text`` with the block ``name`` replaced by ``block``."""
    begin, end = _markers(name)
    start, stop = page_text.find(begin), page_text.find(end)
    if start < 0 or stop < start:
        raise InvalidValueError(f'{page}: no "{begin}" ... "{end}" markers: put them where the '
                                f'{name} block goes')
    return page_text[:start + len(begin)] + '\n' + block + '\n' + page_text[stop:]


def generated_pages(repo: str = REPO, only: Optional[List[str]] = None) -> Dict[str, Tuple[str, str]]:
    """page -> (committed text, generated text) for the blocks ``only`` (default: all)."""
    pages: Dict[str, Tuple[str, str]] = {}
    for name, (page, make) in BLOCKS.items():
        if only and name not in only:
            continue
        path = osp.join(repo, page)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{page}: page not found under {repo}')
        committed, current = pages.get(page, (None, None))
        if committed is None:
            with open(path, encoding='utf-8') as f:
                committed = current = f.read()
        pages[page] = (committed, render(current, name, make(repo), page))
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description='Regenerate the generated documentation blocks')
    parser.add_argument('--check', action='store_true',
                        help='write nothing; exit 1 naming each page that is out of date')
    parser.add_argument('--only', nargs='+', metavar='BLOCK',
                        help=f'these blocks only (of {", ".join(BLOCKS)})')
    parser.add_argument('--repo', default=REPO, help='repository root (default: this checkout)')
    args = parser.parse_args()
    if not osp.isdir(args.repo):
        raise FileNotFoundError(f'--repo {args.repo}: folder not found')
    unknown = sorted(set(args.only or ()) - set(BLOCKS))
    if unknown:
        raise InvalidValueError(f'--only {" ".join(unknown)}: each block must be one of '
                                f'{", ".join(BLOCKS)}')
    stale = []
    for page, (committed, generated) in generated_pages(args.repo, args.only).items():
        if committed == generated:
            continue
        stale.append(page)
        if not args.check:
            with open(osp.join(args.repo, page), 'w', encoding='utf-8') as f:
                f.write(generated)
    if args.check and stale:
        print('out of date (run python tools/docs/generate_pages.py): ' + ', '.join(stale),
              file=sys.stderr)
        raise SystemExit(1)
    print(('rewrote: ' + ', '.join(stale)) if stale else 'generated pages are up to date')


if __name__ == '__main__':
    run_cli(main)
