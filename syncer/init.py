"""``syncer init``: a commented starter config for one source type, and what to run next.

A starter holds the keys a first sync needs, each with a comment, and nothing else
(``config/example.yaml`` has every key). It is never written over an existing file
unless asked, and each starter validates once its folder, or its tokens, exist
(``tests/test_init.py`` holds them to it).
"""

from __future__ import annotations

import shlex
from pathlib import Path

_HEADER = """\
# syncer configuration: a starter for one {kind} source. `syncer validate` checks it;
# config/example.yaml in syncer's repository (or /usr/share/syncer/example.yaml in its
# Docker image) has every key, and `syncer config schema` prints a JSON Schema for your
# editor. ${{VAR}} is read from the environment; tokens are never printed or logged.

intercom:
  token: ${{INTERCOM_TOKEN}}        # an access token of your Intercom app
  region: us                      # us | eu | au: where your workspace is hosted

store:
  url: sqlite:///syncer.db        # what was sent, to send only changes; beside this file.
                                  # Several machines: postgresql+psycopg://user@host/db

defaults:
  schedule: every 30m             # `syncer daemon`: how often each source syncs
  max_delete_fraction: 0.25       # refuse a run that would delete more than this share
                                  # of a source's pages; --allow-mass-delete overrides

sources:
"""

_FILESYSTEM = """\
  - name: docs                    # unique; how syncer knows the source
    type: filesystem              # a folder of Markdown, HTML, text and documents
    path: ./docs                  # the folder to sync, relative to this file
    # include: ["**/*.md"]        # gitignore-style; default: Markdown, HTML, text, PDF,
                                  # DOCX and PPTX files
    exclude: ["drafts/**"]        # never these (a .syncignore file in the folder works too)
    url: https://docs.example.com/  # how Intercom tells this source from others: unique
    page_url: "https://docs.example.com/{path_stem}"  # each page's public URL, which Fin
                                  # cites: {path} or {path_stem} (the path without .md)
"""

_GIT = """\
  - name: product-docs            # unique; how syncer knows the source
    type: git                     # needs `git` on PATH
    repo: https://github.com/acme/docs.git  # or git@github.com:acme/docs.git, a local path
    ref: main                     # branch, tag or commit SHA
    subpath: docs                 # only files under this folder of the repository
    # token: ${GITHUB_TOKEN}      # a private https repository; ssh uses your keys
    url: https://github.com/acme/docs/tree/{ref}/docs  # unique per source
    page_url: "https://github.com/acme/docs/blob/{ref}/{path}"  # each page's public URL:
                                  # {path} {path_stem} in the repository, {rel_path} in
                                  # subpath, {ref}, {commit}
"""

_CONFLUENCE = """\
  - name: support-wiki            # unique; how syncer knows the source
    type: confluence              # spaces of a Confluence site, by page version
    base_url: https://acme.atlassian.net/wiki  # Data Center: https://wiki.acme.com
    deployment: cloud             # cloud | datacenter (also Server)
    email: ${CONFLUENCE_EMAIL}    # cloud only: the account the API token belongs to
    token: ${CONFLUENCE_TOKEN}    # cloud: an API token (id.atlassian.com > Security);
                                  # datacenter: a personal access token, and no email
    spaces: [SUP]                 # the keys of the spaces to sync
    # labels: [fin-public]        # only pages with one of these labels
    # attachments: true           # also each PDF, DOCX and PPTX attached to a page
"""

STARTERS = {"filesystem": _FILESYSTEM, "git": _GIT, "confluence": _CONFLUENCE}
# What a starter reads from the environment beside INTERCOM_TOKEN.
_VARIABLES = {"filesystem": (), "git": (), "confluence": ("CONFLUENCE_EMAIL", "CONFLUENCE_TOKEN")}
_EDIT = {
    "filesystem": "path:, url: and page_url:",
    "git": "repo:, ref:, subpath:, url: and page_url:",
    "confluence": "base_url:, spaces: and deployment:",
}


def starter(kind: str) -> str:
    """The starter config for a source of type ``kind`` (a key of ``STARTERS``)."""
    return _HEADER.format(kind=kind) + STARTERS[kind]


def next_steps(path: Path, kind: str, *, default_path: bool) -> str:
    """What ``syncer init`` prints once it wrote ``path``: what to edit, then two commands."""
    config = "" if default_path else f" -c {shlex.quote(str(path))}"
    variables = ", ".join(("INTERCOM_TOKEN", *_VARIABLES[kind]))
    return (
        f"wrote {path}: a commented starter for a {kind} source.\n"
        f"Edit its {_EDIT[kind]}, export {variables}, then run:\n"
        f"  syncer validate{config}          # every problem, with file:line\n"
        f"  syncer sync --dry-run{config}    # what would reach Fin; writes nothing"
    )
