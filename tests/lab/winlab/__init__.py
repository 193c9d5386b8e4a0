# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""winlab: a WinRM endpoint that plays Windows hosts (test equipment, not shipped). See docs/lab.md."""
