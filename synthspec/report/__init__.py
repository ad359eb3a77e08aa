"""The reviewer's report: report.html (``html``) and report.pdf (``pdf``), rendered from a run's
results alone, so `synthspec report` can rebuild them without reading any data."""

from __future__ import annotations
