"""`inspire models list|fetch`."""

from __future__ import annotations

from pathlib import Path

from .. import model_store


def run(args) -> int:
    if args.models_command == "fetch":
        path = model_store.fetch(args.name, Path(args.dir) if args.dir else None)
        print(f"inspire: fetched {args.name} -> {path} (sha256 verified)")
        return 0
    print("search order: " + " -> ".join(str(d) for d in model_store.search_dirs()))
    for name, entry in model_store.load_manifest().items():
        try:
            where = str(model_store.resolve(name))
        except model_store.ModelError as e:
            where = f"NOT AVAILABLE ({str(e).split(';')[0]})"
        print(f"{name:28s} {entry.licence:32s} {where}")
    return 0
