"""Find, with Python's own parser, what a settings file assigns to the names sessionctl manages.

Input (stdin JSON): {"source": <file text>, "names": ["SESSION_ENGINE", "CACHES", ...]}, or
                    {"path": <file in the container>, "names": [...]} to parse a file there.
Output: {"syntax_error": null | {line, col, msg},
         "assignments": [{name, line, end_line, top_level, kind}]}, with "sha256" of the bytes parsed
for a path ({"unreadable": why} when it is missing or not UTF-8).
`kind` is "assign" (NAME = ...), "item" (NAME[...] = ...), "call" (NAME.update(...)), "aug", "del",
"import" (from x import NAME / *). Only top-level statements can be neutralised line by line;
nested ones are reported so the plan can say why they are left alone.
"""
import ast
import hashlib
import json
import sys


def target_names(target):
    if isinstance(target, ast.Name):
        yield target.id, "assign"
    elif isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            yield from target_names(elt)
    elif isinstance(target, ast.Starred):
        yield from target_names(target.value)
    elif isinstance(target, (ast.Subscript, ast.Attribute)):
        base = target.value
        while isinstance(base, (ast.Subscript, ast.Attribute)):
            base = base.value
        if isinstance(base, ast.Name):
            yield base.id, "item"


def statement_names(node):
    if isinstance(node, ast.Assign):
        for t in node.targets:
            yield from target_names(t)
    elif isinstance(node, ast.AnnAssign):
        yield from target_names(node.target)
    elif isinstance(node, ast.AugAssign):
        for name, _ in target_names(node.target):
            yield name, "aug"
    elif isinstance(node, ast.Delete):
        for t in node.targets:
            for name, _ in target_names(t):
                yield name, "del"
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        func = node.value.func
        while isinstance(func, ast.Attribute):
            func = func.value
        while isinstance(func, ast.Subscript):
            func = func.value
        if isinstance(func, ast.Name) and func is not node.value.func:
            yield func.id, "call"
    elif isinstance(node, ast.ImportFrom):
        for alias in node.names:
            yield (alias.asname or alias.name), "import"


def walk(body, names, top_level, found):
    for node in body:
        for name, kind in statement_names(node):
            if name in names or (kind == "import" and name == "*"):
                found.append({"name": name, "line": node.lineno, "end_line": node.end_lineno,
                              "top_level": top_level, "kind": kind})
        for field in ("body", "orelse", "finalbody", "handlers"):
            child = getattr(node, field, None)
            if isinstance(child, list) and child and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                             ast.ClassDef, ast.Lambda)):
                walk(child, names, False, found)


def main():
    req = json.load(sys.stdin)
    out = {}
    if "path" in req:
        try:
            with open(req["path"], "rb") as f:
                data = f.read()
            source = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            sys.stdout.write(json.dumps({"unreadable": "%s: %s" % (type(exc).__name__, exc)}))
            return
        out["sha256"] = hashlib.sha256(data).hexdigest()
    else:
        source = req["source"]
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        out.update(syntax_error={"line": exc.lineno, "col": exc.offset, "msg": exc.msg}, assignments=[])
        sys.stdout.write(json.dumps(out))
        return
    found = []
    walk(tree.body, set(req["names"]), True, found)
    out.update(syntax_error=None, assignments=found)
    sys.stdout.write(json.dumps(out))


if __name__ == "__main__":
    main()
