"""``prefdata report``: one page that shows whether a dataset is fit to train on.

Reads a dataset directory (docs/contracts.md) and writes ``report.html`` (self-contained: inline CSS
and SVG plots, no script, no network request), ``report.md`` and the quality summary of the dataset
card. One module per job:

- :mod:`~prefdata.report.dataset` finds shards, manifest, rejects and ``checks.json``;
- :mod:`~prefdata.report.aggregates` counts everything in one lazy polars pass;
- :mod:`~prefdata.report.examples` fetches the seeded sample and the offending pairs;
- :mod:`~prefdata.report.results` shapes check results for display;
- :mod:`~prefdata.report.plots` draws the plots (matplotlib, inline SVG);
- :mod:`~prefdata.report.content` decides what the report says;
- :mod:`~prefdata.report.html_page` / :mod:`~prefdata.report.markdown` render it;
- :mod:`~prefdata.report.api` ties them together.

>>> import prefdata
>>> result = prefdata.report("out/")        # doctest: +SKIP
>>> result.html_path                         # doctest: +SKIP
PosixPath('out/report.html')
"""

from prefdata.report.api import ReportResult, report
from prefdata.report.errors import ChecksFileError, DatasetError, ReportError

__all__ = ["ChecksFileError", "DatasetError", "ReportError", "ReportResult", "report"]
