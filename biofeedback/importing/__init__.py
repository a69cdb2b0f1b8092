"""Import other tools' recordings into the session store.

One layer orchestrates an import: a file is read with :mod:`biofeedback.io.importers`, the
R-peaks of an ECG recording are found with :mod:`biofeedback.analysis.ecg_peaks`, every beat
is classed by the live artifact detector (:func:`biofeedback.live.offline.classify_recording`)
and the whole recording is stored in one transaction (:mod:`biofeedback.store`).

* :mod:`.single`: one file -> one session (:func:`import_file`), and the reading step alone
  (:func:`read_recording`, also used to replay any file).
* :mod:`.sources`: which files a list of files, folders and zip archives stands for.
* :mod:`.batch`: many files, each recording in its own transaction (:func:`import_paths`).
* :mod:`.summary`: what was imported and refused, as data, JSON and a text table.
"""

from __future__ import annotations

from biofeedback.importing.batch import import_paths
from biofeedback.importing.single import (
    import_file,
    read_recording,
    started_utc,
    store_imported,
)
from biofeedback.importing.summary import (
    ImportedItem,
    ImportResult,
    ImportSummary,
    RefusedItem,
    render_table,
)

__all__ = ["ImportResult", "ImportSummary", "ImportedItem", "RefusedItem", "import_file",
           "import_paths", "read_recording", "render_table", "started_utc", "store_imported"]
