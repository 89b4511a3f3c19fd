"""The per-image prediction store: one folder per unit, written atomically.

Layout under a results directory ``OUT``::

    OUT/images/<list id>.parquet   a test set's image list (relative path, label), written once
                                   per distinct list and shared by every unit on it
    OUT/units/<model>/<test set>/
        error.json         a failure before any unit key was known (the model did not load,
                           the test set did not open); removed when a unit of the pair finishes
        <key16>/
            spec.json      everything hashed into the unit's key (see ``unit_key``), written first
            predictions.parquet  per-image predictions of a finished unit, one row per position
                           of its image list (see :mod:`robustness.store.columns`)
            logits.npy     float16 logits (positions, 1000), only under --save-logits
            records.npz    a format-1 unit's records instead (units finished before format 2)
            meta.json      the unit's metadata (model, test set, transform, versions, timings,
                           image list, counts of evaluated and correct images, skipped images,
                           whether the set was partial)
            parts/         partial records of an unfinished unit, one file per checkpoint (resume)
            error.json     the last failure of this unit, if it failed (removed when it succeeds)
            lock.json      held while a process computes the unit (host, pid, start time)
            superseded.json  this finished unit was replaced by a newer one of the same
                           model, test set, precision and logits setting (its key)

A unit is *finished* exactly when its predictions and ``meta.json`` exist: both are written to a
temporary name and renamed into place (``meta.json`` last), so a killed process never leaves a
half-written finished unit. A finished unit is never recomputed under its key; when the key
changes (new weights, images added to the set...) a new unit is computed beside it and the old
one is marked superseded once the new one finishes. Files are created with the user's umask.

Read finished units through this package, not through the file names above:
``Store.find(model, test_set)`` gives a :class:`Unit` (``.meta``, ``.spec``, ``.counts()``,
``.image_list()``, ``.column()``, ``.records()``, a typed :class:`UnitRecords`), ``Store.units()``
a table of the current units.
"""

from .columns import (
    CONFIDENCE_FIELDS,
    CORRECT_FIELDS,
    FORMAT_VERSION,
    IMAGES_DIR,
    PREDICTIONS,
    RECORD_FIELDS,
    ImageList,
    concat_records,
    load_records,
    read_image_list,
    save_records,
)
from .files import (
    KEY_VERSION,
    atomic_write_bytes,
    atomic_write_json,
    canonical_json,
    read_json_file,
    safe_name,
    unit_key,
)
from .read import UNITS_COLUMNS, Store, Unit, UnitRecords
from .units import UnitDir, same_settings, sibling_units

__all__ = [
    "CONFIDENCE_FIELDS", "CORRECT_FIELDS", "FORMAT_VERSION", "IMAGES_DIR", "KEY_VERSION", "PREDICTIONS", "RECORD_FIELDS",
    "UNITS_COLUMNS", "ImageList", "Store", "Unit", "UnitDir", "UnitRecords", "atomic_write_bytes",
    "atomic_write_json", "canonical_json", "concat_records", "load_records", "read_image_list",
    "read_json_file", "safe_name", "same_settings", "save_records", "sibling_units", "unit_key",
]
