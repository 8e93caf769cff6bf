"""The languages people read (the dashboard, the progress page, the overdue reports), Chinese
first. Their words are message catalogues outside the core (:mod:`workflow.i18n`, one ``.po``
file per language); states, triggers, spans and documents are named by the definitions'
titles, agencies by their GB/T 2260 names.
"""

from __future__ import annotations

#: The languages people read (pages, reports, the definitions' titles), the first the default.
LANGUAGES = ("zh", "en")

__all__ = ["LANGUAGES"]
