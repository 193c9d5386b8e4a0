# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""python -m winlab"""
from __future__ import annotations

import sys

from winlab.cli import main

sys.exit(main())
