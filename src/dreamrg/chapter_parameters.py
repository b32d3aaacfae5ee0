"""What a chapter's build used: its profile parameters, once, as a small Markdown table.

:func:`parameters_table` is shown near the top of every chapter (and re-exported by :mod:`dreamrg.display`,
where the chapters import it from): one row per parameter of the chapter's own profile section, then the
cross-chapter members it also reads, each with its value at this build and the meaning from the profile's
field documentation.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Iterable, Mapping
from typing import Any

from dreamrg.profiles import CROSS_CHAPTER_MEMBERS, PROFILES, Profile, load_profile

__all__ = ["parameters_markdown", "parameters_table"]

#: Meanings of the parameters whose field carries no ``doc`` of its own.
_GENERIC_DOCS = {
    "n_configs": "configurations (dreamed chains) per model",
    "n_up": "upscalings: the final size is 2^n_up",
    "seed": "random seed",
    "batch_size": "batch size",
    "batch_dream": "batch size of the dreaming",
    "epochs": "training epochs (at most)",
    "patience": "epochs without a better validation loss before stopping",
    "channels": "channels of the hidden layer",
    "k": "kernel size of the model",
    "levels": "blocking steps",
    "mc_sizes": "MC lattice sizes",
    "mc_configs": "MC configurations per size",
    "dream_configs": "dreamed chains per model",
}


def _format_value(value: Any) -> str:
    """A parameter value for a table: 10 000 (grouped by narrow spaces from 10^4 on, so commas only separate
    list items), lists comma-separated ("none" when empty), k-keyed maps as ``k=3: 100``."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u202f") if abs(value) >= 10_000 else str(value)
    if isinstance(value, Mapping):
        return "; ".join(f"k={k}: {_format_value(v)}" for k, v in value.items())
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # TrainingSet, MCEnsembles, ...
        return ", ".join(f"{name} = {_format_value(v)}" for name, v in zip(value._fields, value))
    if isinstance(value, (list, tuple)):
        return ", ".join(_format_value(v) for v in value) or "none"
    return str(value)


def _plain_doc(text: str) -> str:
    """First sentence of a docstring with reST roles and literals made plain MyST code."""
    first = " ".join(text.strip().split("\n\n")[0].split())
    first = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", first)
    first = first.replace("``", "`")
    first = first.split(". ")[0].rstrip(".")
    return first[:1].lower() + first[1:] if first[1:2].islower() else first


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def parameters_markdown(profile: Profile | str, chapter: str, also: Iterable[str] = ()) -> str:
    """The Markdown of :func:`parameters_table` (a note and a table; see there)."""
    prof = load_profile(profile) if isinstance(profile, str) else profile
    also = tuple(also)
    unknown = [m for m in also if m not in CROSS_CHAPTER_MEMBERS]
    if unknown:
        raise ValueError(f"unknown cross-chapter member {unknown[0]!r}; allowed: {', '.join(CROSS_CHAPTER_MEMBERS)}")
    builtin = load_profile(prof.name) if prof.name in PROFILES else None
    rows = []
    try:
        section = prof.section(chapter)
    except ValueError:
        section = None
    changed = []
    if section is not None:
        base_section = builtin.section(chapter) if builtin is not None else None
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            shown = _format_value(value)
            if base_section is not None and getattr(base_section, f.name) != value:
                shown = f"**{shown}** (profile: {_format_value(getattr(base_section, f.name))})"
                changed.append(f.name)
            doc = f.metadata.get("doc") or _GENERIC_DOCS.get(f.name, "")
            rows.append((f"`{f.name}`", shown, doc))
    for member in also:
        doc = _plain_doc(inspect.getdoc(getattr(Profile, member)) or "")
        rows.append((f"`{member}` (shared)", _format_value(getattr(prof, member)), doc))

    if builtin is None:
        intro = f"This build used the profile **{prof.name}** (a profile file)"
    elif builtin == prof:
        intro = f"This build used the **{prof.name}** profile"
    else:
        intro = f"This build used the **{prof.name}** profile, modified" + (
            f" (set here: {', '.join(f'`{c}`' for c in changed)})" if changed else " in other chapters")
    if not rows:
        return f"{intro}; this page has no parameters of its own."
    lines = [f"{intro}:", "", "| parameter | value | meaning |", "|:--|:--|:--|"]
    lines += [f"| {_md_cell(a)} | {_md_cell(b)} | {_md_cell(c)} |" for a, b, c in rows]
    if also:
        lines += ["", "Rows marked *shared* are owned by another chapter and read here at the same profile."]
    return "\n".join(lines)


def parameters_table(profile: Profile | str, chapter: str, also: Iterable[str] = ()) -> Any:
    """What this build of ``chapter`` used: a short note and a Markdown table, for display in the chapter.

    Parameters
    ----------
    profile : Profile or str
        The profile the chapter runs with (e.g. ``load_profile(profile, {chapter: overrides})``),
        or the name of a built-in profile.
    chapter : str
        The chapter whose section is listed (one row per parameter: name, value, meaning).
        A chapter without a section (``intro``, ``status``) gets only the note.
    also : iterable of str
        Cross-chapter members of :class:`~dreamrg.profiles.Profile` (e.g. ``"trained_ks"``,
        ``"training_set"``, ``"mc_fss"``) the chapter reads, listed after its own rows.

    Returns
    -------
    IPython.display.Markdown
        Values that differ from the built-in profile of the same name are shown in
        bold, with the profile's value beside them.
    """
    from IPython.display import Markdown

    return Markdown(parameters_markdown(profile, chapter, also))
