"""The Stack v1.1 columns and their types: the input contract (DESIGN.md "Data contract").

One definition for the reader (``pipeline.inputs``, which gives unknown columns the type found in
the input) and the sample builder (``samplegen.sample``, which writes these columns). No Beam here:
the sample builder must not pay for importing it.
"""

from __future__ import annotations

import pyarrow as pa

STACK_TYPES: dict[str, pa.DataType] = {
    "hexsha": pa.string(),
    "size": pa.int64(),
    "ext": pa.string(),
    "lang": pa.string(),
    "max_stars_repo_path": pa.string(),
    "max_stars_repo_name": pa.string(),
    "max_stars_repo_head_hexsha": pa.string(),
    "max_stars_repo_licenses": pa.list_(pa.string()),
    "max_stars_count": pa.int64(),
    "max_stars_repo_stars_event_min_datetime": pa.string(),
    "max_stars_repo_stars_event_max_datetime": pa.string(),
    "content": pa.string(),
    "avg_line_length": pa.float64(),
    "max_line_length": pa.int64(),
    "alphanum_fraction": pa.float64(),
    "id": pa.string(),
}
