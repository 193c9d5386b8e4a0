# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading one host's record from a report file: only regular files, only port25 reports, never blocking."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import errors, report_record


def write(tmp_path, data, name='port25-report.json'):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding='utf-8')
    return str(path)


REPORT = {'report_format': 1, 'mode': 'apply', 'hosts': [{'host': 'mail01', 'actions': []}, {'host': 'mail02', 'actions': []}]}


def test_the_entry_of_the_host_with_the_report_format(tmp_path):
    path = write(tmp_path, REPORT)
    assert report_record.read_entry(path, 'mail02') == {'host': 'mail02', 'actions': [], 'report_format': 1}
    assert report_record.read_entry(path, 'mail03') is None


@pytest.mark.parametrize('data, problem', [
    ('{"hosts": {"x": 1}}', 'is not a port25 report'),
    ('[1, 2]', 'is not a port25 report'),
    ('not json', 'is not JSON'),
    (dict(REPORT, hosts=[{'host': 'mail01'}, {'host': 'mail01'}]), 'lists host mail01 2 times'),
    (dict(REPORT, hosts=[{'host': 'mail01', 'report_format': 7}]), 'disagree on report_format'),
])
def test_what_is_not_a_report_is_refused(tmp_path, data, problem):
    with pytest.raises(errors.InvalidOption) as info:
        report_record.read_entry(write(tmp_path, data), 'mail01')
    assert problem in str(info.value) and str(info.value).endswith('nothing was changed')


def test_a_fifo_or_a_device_is_refused_without_blocking(tmp_path):
    fifo = str(tmp_path / 'fifo.json')
    os.mkfifo(fifo)
    for path in (fifo, '/dev/zero'):
        with pytest.raises(errors.InvalidOption) as info:
            report_record.read_entry(path, 'mail01')
        assert 'is not a regular file' in str(info.value)


def test_a_missing_file_names_the_path(tmp_path):
    with pytest.raises(errors.InvalidOption) as info:
        report_record.read_entry(str(tmp_path / 'nope.json'), 'mail01')
    assert 'nope.json: cannot be opened (No such file or directory)' in str(info.value)
