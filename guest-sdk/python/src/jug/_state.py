"""What the SDK is doing right now, shared by its modules.

- `native`: plain CPython outside a component: task calls give placeholders.
- `define`: componentize-py is pre-initialising the component (the Wizer snapshot) and the
  script runs with placeholders, to register every task function and load every module.
- `build`: jug-host called the `build` export: task calls declare tasks to the host.
- `run`: jug-host called the `run` export: one task function runs.
- `idle`: between those (after pre-initialisation, after an export returned).
"""

mode = "native"

# Task functions by name (`TaskFunction`), filled while the component is pre-initialised.
registry = {}

# The script (`_runtime.Script`) once `define` ran.
script = None
