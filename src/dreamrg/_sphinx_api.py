"""Sphinx extension for the book's API reference page (``book/api.md``): docstrings made safe for ``-W -n``.

The book is built with warnings as errors and nitpicky references. The docstrings are written for
readers (NumPy style, with ``|m|`` for an absolute value, and references such as
:data:`dreamrg.mcrg.OPERATORS` to the name a user imports), so three things are adjusted here rather
than in every module:

* **Re-exported names.** ``dreamrg.mcrg`` (like ``dreamrg`` and ``dreamrg.models``) re-exports names
  defined in its modules, and the page documents each object once, under its public ``__all__``
  name. A Python reference that Sphinx cannot resolve is looked up as Python would (relative to the
  module and class it is written in, then absolute): if it names an object documented under
  another name, the link goes there; if it names a real public object that has no entry of its own
  (a constant without a doc comment, a dataclass field), it is shown as code without a link. Only a
  reference to something that does not exist is still reported, so stale names keep failing the
  build.
* **Absolute values.** ``|m|`` outside backticks is a reST substitution reference (an error); it
  is escaped to read as text.
* **Attribute docstrings.** napoleon reads the first line of an attribute's, constant's or
  property's docstring as ``type: description`` (a Google-style convention the package does not
  use), which turns "Table III: MCRG on ..." into a type; that split is undone after napoleon.

Enabled in ``_config.yml`` (``sphinx: extra_extensions``) after ``sphinx.ext.napoleon``. Imports
only the standard library at module level; the package's modules are imported on demand, as
autodoc does.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from typing import Any

#: Top-level package whose names the resolver looks up (anything else stays unresolved).
PACKAGE = "dreamrg"
_MISSING = object()
_CODE_SPAN = re.compile(r"(``.+?``|:[\w:]+:`[^`]*`|`[^`]*`_{0,2})")
_BARS = re.compile(r"(?<![\\|\w])\|(?=[^\s|])([^|`]*?[^\s|\\])\|(?![\w|_])")
_BARS_DOUBLE = re.compile(r"\|([^\s|`][^|`]*?)\|\|([^\s|`][^|`]*?)\|")


def escape_bars(line: str) -> str:
    """``⟨|m|⟩`` -> ``⟨\\|m\\|⟩`` outside backtick spans (inline literals, roles, links keep theirs)."""
    parts = _CODE_SPAN.split(line)
    for i in range(0, len(parts), 2):
        text = _BARS_DOUBLE.sub(r"\\|\1\\|\\|\2\\|", parts[i])
        parts[i] = _BARS.sub(r"\\|\1\\|", text)
    return "".join(parts)


def _process_docstring(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    in_literal = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if in_literal and stripped and not line.startswith((" ", "\t")):
            in_literal = False
        if not in_literal:
            lines[i] = escape_bars(line)
        if stripped.endswith("::"):
            in_literal = True


def _undo_inline_type(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """After napoleon: put back "X: description" where it made X the type (``[..., "", ":type: X"]``)."""
    if what not in ("attribute", "data", "property") or len(lines) < 2 or lines[-2] != "":
        return
    if not lines[-1].startswith(":type: "):
        return
    head = lines.pop()[len(":type: "):]
    lines.pop()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        lines.append(head)
    else:
        lines[first] = f"{head}: {lines[first]}"


def lookup(name: str) -> Any:
    """The Python object called ``name`` (``dreamrg.x.y.Z.attr``), or ``_MISSING``. Imports ``dreamrg`` modules only."""
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return _MISSING
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if dataclasses.is_dataclass(obj) and isinstance(obj, type) and attr in {
                    f.name for f in dataclasses.fields(obj)} and not hasattr(obj, attr):
                obj = _FIELD  # a dataclass field without a class-level default: real, has no object
                continue
            obj = getattr(obj, attr, _MISSING)
            if obj is _MISSING:
                return _MISSING
        return obj
    return _MISSING


_FIELD = object()


def _candidates(target: str, module: str | None, cls: str | None) -> list[str]:
    target = target.lstrip("~.")
    names = []
    if module:
        if cls:
            names.append(f"{module}.{cls}.{target}")
        parts = module.split(".")
        names += [".".join(parts[:cut] + [target]) for cut in range(len(parts), 0, -1)]
    names.append(target)
    return names


def _by_identity(env: Any) -> dict[int, str]:
    """``id(python object) -> documented name`` over the Python domain's objects (built once per build)."""
    cache = getattr(env, "_dreamrg_api_index", None)
    if cache is None:
        cache = {}
        objects = env.get_domain("py").objects
        for name, entry in sorted(objects.items(), key=lambda item: item[1].aliased):
            obj = lookup(name)
            if obj is _MISSING or obj is _FIELD or isinstance(obj, (int, float, str, bytes, bool, type(None))):
                continue  # small values may be shared objects: such constants are matched by name only
            cache.setdefault(id(obj), name)
        env._dreamrg_api_index = cache
    return cache


def _missing_reference(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    if node.get("refdomain") != "py":
        return None
    from sphinx.util.nodes import make_refnode

    objects = env.get_domain("py").objects
    for name in _candidates(node["reftarget"], node.get("py:module"), node.get("py:class")):
        obj = lookup(name)
        if obj is _MISSING:
            continue
        documented = None if obj is _FIELD else _by_identity(env).get(id(obj))
        if documented is None and name in objects:
            documented = name
        if documented is None:
            return contnode  # real and public, but without an entry of its own: code, no link
        entry = objects[documented]
        return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, documented)
    # written without its module where there is no module context (e.g. an autosummary line): a unique match
    tail = "." + node["reftarget"].lstrip("~.")
    found = [n for n, e in objects.items() if n.startswith(PACKAGE + ".") and n.endswith(tail) and not e.aliased]
    if len(found) == 1:
        entry = objects[found[0]]
        return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, found[0])
    return None


def setup(app: Any) -> dict[str, Any]:
    app.setup_extension("sphinx.ext.napoleon")
    app.connect("autodoc-process-docstring", _process_docstring, priority=400)  # before napoleon (500)
    app.connect("autodoc-process-docstring", _undo_inline_type, priority=600)  # after it
    app.connect("missing-reference", _missing_reference)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
