"""Views of a wide table that fit a book page: columns with no value dropped, uniform or mostly-empty columns
told in one sentence below the table instead (the MCRG chapter's Table IV, conventions and seed-check tables).
"""

from __future__ import annotations

import pandas as pd

#: what a cell without a value shows
_EMPTY_CELLS = ("—", "", "nan", "None")


def _cell_text(v) -> str:
    """A cell as the table shows it: "—" for a missing value, a whole float as an integer (a count in a column
    that a missing value turned into floats)."""
    if pd.api.types.is_scalar(v) and pd.isna(v):
        return "—"
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def without_empty(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` without the columns in which no row has a value (every cell missing or "—")."""
    return table[[c for c in table.columns if any(_cell_text(v) not in _EMPTY_CELLS for v in table[c])]]


def folded(table: pd.DataFrame, columns: list[str], by: list[str] | None = None) -> tuple[pd.DataFrame, str]:
    """``table`` without ``columns``, and a sentence giving their values, so that a wide table fits the page.

    Each column is told by its most common value, then the rows (by index label) whose value
    differs: "RSRG step: 16→8 (authors), except MC: not run." (a tie goes to the value seen first). A
    column mostly empty ("—") is told by its other rows alone, and not at all if it has none. Columns
    that ``table`` lacks are skipped. A row is named by its index label, or by its values in the columns
    ``by`` joined with spaces (for a table whose index is only a row number).
    """
    labels = ([" ".join(str(v) for v in row) for row in table[by].itertuples(index=False)] if by
              else list(table.index))
    parts = []
    for col in [c for c in columns if c in table.columns]:
        values = [_cell_text(v) for v in table[col]]
        if not values:
            continue
        common = max(dict.fromkeys(values), key=values.count)  # a tie goes to the value seen first
        others = [f"{label}: {v}" for label, v in zip(labels, values) if v != common]
        if common in _EMPTY_CELLS:  # a column of notes: only the rows that have one
            parts += [f"{col}: {'; '.join(others)}."] if others else []
        else:
            parts.append(f"{col}: {common}" + (f", except {'; '.join(others)}" if others else " in every row") + ".")
    return table.drop(columns=[c for c in columns if c in table.columns]), " ".join(parts)
