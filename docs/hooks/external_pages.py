"""MkDocs hook: pages kept outside docs/ join the site, and links work on GitHub and in the site.

``configs/README.md`` (the model zoo), ``benchmarks/README.md`` and ``CHANGELOG.md`` live next to
what they describe; :data:`EXTERNAL_PAGES` gives each a place in the site. Every page's relative
links are written for the repository (as GitHub shows them: ``../configs/README.md`` from
``docs/get_started.md``); :func:`on_page_markdown` rewrites a link that resolves to a docs page or
to an external page into its site path, so ``mkdocs build --strict`` checks them all. A link to
anything else in the repository stays as written (and strict mode reports it).
"""
import os.path as osp
import posixpath
import re

from mkdocs.structure.files import File

#: repository path -> path in the site
EXTERNAL_PAGES = {
    'configs/README.md': 'model_zoo.md',
    'benchmarks/README.md': 'notes/benchmarks.md',
    'CHANGELOG.md': 'notes/changelog.md',
}
_SITE_TO_REPO = {site: repo for repo, site in EXTERNAL_PAGES.items()}
# [text](target) and [text](target "title"); images too
_LINK = re.compile(r'(\]\()([^)\s#]*)(#[^)\s]*)?((?:\s+"[^"]*")?\))')


def on_files(files, config):
    """Add the external pages to the site's files."""
    root = osp.dirname(config.config_file_path)
    for repo_path, site_path in EXTERNAL_PAGES.items():
        files.append(File.generated(config, site_path, abs_src_path=osp.join(root, repo_path)))
    return files


def _rewrite(target: str, repo_page: str, site_page: str) -> str:
    """The site link for ``target`` as written in the repository file ``repo_page``."""
    if not target or '://' in target or target.startswith(('/', 'mailto:')):
        return target
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(repo_page), target))
    if resolved in EXTERNAL_PAGES:
        site_target = EXTERNAL_PAGES[resolved]
    elif resolved.startswith('docs/'):
        site_target = resolved[len('docs/'):]
    else:
        return target
    return posixpath.relpath(site_target, posixpath.dirname(site_page) or '.')


def on_page_markdown(markdown, page, config, files):
    """Rewrite the page's repository-relative links into site links."""
    site_page = page.file.src_uri
    repo_page = _SITE_TO_REPO.get(site_page, 'docs/' + site_page)
    return _LINK.sub(lambda m: m.group(1) + _rewrite(m.group(2), repo_page, site_page)
                     + (m.group(3) or '') + m.group(4), markdown)
