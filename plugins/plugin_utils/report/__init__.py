# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report: a model built from host records (model), its views (json_view, junit, html with the view model
in view), the run it came from (run), pieces of sliced runs merged (merge), accepted exceptions (waivers) and the
previous reports (history). The filter, the report_write action and the merge are thin callers of these modules."""
