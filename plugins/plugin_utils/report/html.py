# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report as one self-contained HTML page: the Jinja2 template report.html.j2 (autoescaped) with its stylesheet
report.css and script report.js inlined and allowed by their hashes in the page's Content-Security-Policy.

The three files sit next to this module and are read with pkgutil.get_data, the way Python reads data of a package,
so they are found wherever the collection is installed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pkgutil

import jinja2
from markupsafe import Markup

from ansible_collections.mailops.port25.plugins.plugin_utils.report import view

_FILES = {}


def asset(name) -> str:
    """The text of a file of this package (report.html.j2, report.css, report.js), read once."""
    if name not in _FILES:
        data = pkgutil.get_data(__name__.rsplit('.', 1)[0], name)
        if data is None:
            raise OSError('the report asset %s is missing from the collection' % name)
        _FILES[name] = data.decode('utf-8')
    return _FILES[name]


def csp_hash(text: str) -> str:
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode('utf-8')).digest()).decode('ascii')


def json_script(data) -> str:
    """JSON for a <script type="application/json"> block: no character of it can end the block or open markup."""
    text = json.dumps(data, ensure_ascii=False, separators=(',', ':'))
    for char, escape in (('<', '\\u003c'), ('>', '\\u003e'), ('&', '\\u0026'), ('\u2028', '\\u2028'), ('\u2029', '\\u2029')):
        text = text.replace(char, escape)
    return text


def docs_url():
    """file:// URL of the KB mapping page shipped with the collection, or None when it is not installed."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    path = os.path.join(root, 'docs', view.KB_DOC)
    return 'file://' + path if os.path.isfile(path) else None


def _environment():
    return jinja2.Environment(loader=jinja2.FunctionLoader(asset), autoescape=True, undefined=jinja2.StrictUndefined)


def render(report: dict, docs=None) -> str:
    """The page of ``report``; ``docs``: URL of the KB mapping page (default: the installed collection's)."""
    css, js = asset('report.css'), asset('report.js')
    csp = ("default-src 'none'; style-src %s; script-src %s; img-src data:; base-uri 'none'; form-action 'none'"
           % (csp_hash(css), csp_hash(js)))
    model = view.build(report, docs if docs is not None else docs_url())
    return _environment().get_template('report.html.j2').render(
        v=model, csp=csp, css=Markup(css), js=Markup(js), data=Markup(json_script(model['data']))) + '\n'
