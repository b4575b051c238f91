"""Static look at user code (never executed here): does it touch more of a text attribute than its ``.text``?"""

from __future__ import annotations

import ast


def needs_docs(code: str, text_attributes: set[str], entry: str | None) -> bool:
    """False only when every use of the record is ``record["<text attr>"].text`` or ``record["<other attr>"]``.

    ``entry`` names the function whose first parameter is the record; ``None`` means a snippet using the global
    ``record``. Anything we cannot prove (aliases, iteration, other attributes, unparsable code) needs Docs.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False  # it will fail to compile in the sandbox; no Docs needed for that
    names: set[str] = set()
    if entry is None:
        names.add("record")
    else:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == entry and node.args.args:
                names.add(node.args.args[0].arg)
        if not names:
            return True
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and node.id in names):
            continue
        parent = parents.get(node)
        if isinstance(parent, (ast.arg, ast.arguments)):
            continue
        if not (isinstance(parent, ast.Subscript) and parent.value is node):
            return True
        key = parent.slice
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            return True
        if key.value not in text_attributes:
            continue
        grand = parents.get(parent)
        if not (isinstance(grand, ast.Attribute) and grand.attr == "text"):
            return True
    return False
