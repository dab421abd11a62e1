"""The shared kernel: value types every context speaks (errors, actors, events, geometry).

Nothing here performs I/O or imports a framework, so every domain may depend on it.
"""
