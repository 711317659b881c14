"""Run a module's source again, under its own name, without replacing the imported module.

Tables such as the generator's variables and the program's config keys are built once, at import; a test that
rebuilds them checks the code that builds them, not only the objects it built. `make mutate` needs this too:
mutmut switches a mutant on for calls made after import, so only a rebuild runs the mutated table builders.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType


def rebuilt(name: str) -> ModuleType:
    """A fresh copy of module `name`: same file, same __name__, not registered in sys.modules."""
    importlib.import_module(name)  # dataclasses look their module up in sys.modules while the copy is built
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None, f"no module {name}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
