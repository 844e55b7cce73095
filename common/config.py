"""Command-line overrides for a subproject's `constants.py`.

Every UPPERCASE scalar constant (bool, int, float, str) becomes an absl flag
`--lowercase_name`, typed from its default. An optional `CONSTRAINTS` dict in the
constants module maps a name to allowed values: a tuple of strings is a set of
choices, a `(low, high)` pair of numbers an inclusive range (None: unbounded).
String constants may reference others as `{NAME}` (e.g. `CHECKPOINT_DIR`); they
are filled after the flags are applied. A module may define a function
`derive_defaults(values)` that fills settings depending on others (e.g. the
per-experiment defaults of constants left at 0) in the dict of values, after the
constraints are checked and before the templates are filled; it raises
`ConfigError` for settings that are valid one by one but not together.

Bad input raises `ConfigError` with a one-line message; `parse_or_exit` prints it
and exits with status 2, without a traceback.
"""
import sys
import types

from absl import flags


class ConfigError(ValueError):
  """A bad command-line flag or constant value."""


def _scalar_constants(module):
  return {name: value for name, value in vars(module).items()
          if name.isupper() and not name.startswith('_')
          and isinstance(value, (bool, int, float, str))}


def _define_flags(constants, flag_values):
  for name, default in constants.items():
    flag, help_text = name.lower(), f'overrides {name} (default {default!r})'
    if isinstance(default, bool):
      flags.DEFINE_boolean(flag, default, help_text, flag_values=flag_values)
    elif isinstance(default, int):
      flags.DEFINE_integer(flag, default, help_text, flag_values=flag_values)
    elif isinstance(default, float):
      flags.DEFINE_float(flag, default, help_text, flag_values=flag_values)
    else:
      flags.DEFINE_string(flag, default, help_text, flag_values=flag_values)


def check_constraints(values, constraints):
  """Raise ConfigError for the first value outside its allowed set or range."""
  for name, allowed in constraints.items():
    if name not in values:
      continue
    value = values[name]
    if all(isinstance(a, str) for a in allowed):
      if value not in allowed:
        raise ConfigError(f'--{name.lower()}={value!r} is not allowed; '
                          f'choose one of: {", ".join(allowed)}')
      continue
    low, high = allowed
    if (low is not None and value < low) or (high is not None and value > high):
      bounds = (f'between {low} and {high}' if high is not None
                else f'>= {low}')
      raise ConfigError(f'--{name.lower()}={value!r} is out of range; it must be {bounds}')


def _fill_templates(values):
  for name, value in values.items():
    if isinstance(value, str) and '{' in value:
      try:
        values[name] = value.format(**values)
      except (KeyError, IndexError, ValueError) as error:
        raise ConfigError(f'--{name.lower()}={value!r} names an unknown constant: {error}')


def parse(module, argv):
  """Apply `argv` (program name first) to a constants module.

  Returns:
    A `types.SimpleNamespace` holding every UPPERCASE constant of the module
    (non-scalar ones such as tables unchanged) with overrides applied.
  Raises:
    ConfigError: unknown flag, a value of the wrong type, a value out of range.
  """
  constants = _scalar_constants(module)
  flag_values = flags.FlagValues()
  _define_flags(constants, flag_values)
  if any(arg in ('-h', '--help', '--helpfull', '--helpshort') for arg in argv[1:]):
    print(usage(module, constants))
    sys.exit(0)
  try:
    leftover = flag_values(list(argv))
  except flags.Error as error:
    message = str(error).splitlines()[0]
    raise ConfigError(message) from None
  if len(leftover) > 1:
    raise ConfigError(f'unexpected positional arguments: {" ".join(leftover[1:])}; '
                      'use --name=value')
  values = {name: value for name, value in vars(module).items() if name.isupper()}
  for name in constants:
    values[name] = flag_values[name.lower()].value
  check_constraints(values, getattr(module, 'CONSTRAINTS', {}))
  derive = getattr(module, 'derive_defaults', None)
  if derive is not None:
    derive(values)
  _fill_templates(values)
  return types.SimpleNamespace(**values)


def usage(module, constants):
  """Every flag with its default and allowed values."""
  allowed = getattr(module, 'CONSTRAINTS', {})
  lines = [f'flags (defaults from {module.__name__}; edit it or override here):']
  for name, default in constants.items():
    extra = f'  allowed: {allowed[name]}' if name in allowed else ''
    lines.append(f'  --{name.lower()}={default!r}{extra}')
  return '\n'.join(lines)


def parse_or_exit(module, argv=None):
  """`parse`, printing a one-line error and exiting with status 2 on bad input."""
  try:
    return parse(module, sys.argv if argv is None else argv)
  except ConfigError as error:
    print(f'error: {error}', file=sys.stderr)
    sys.exit(2)


def as_dict(config, keys=None):
  """The scalar constants of a parsed config (or only `keys`), for saving/comparing."""
  items = vars(config).items()
  return {name: value for name, value in items
          if (keys is None or name in keys) and isinstance(value, (bool, int, float, str))}


def set_intra_op_threads(threads):
  """Limits TensorFlow's intra-op thread pool (0 keeps TF's default).

  Must run before TF executes its first op; in a process where TF has already
  started (e.g. `main()` called twice, as the tests do), the first setting stays.
  """
  if not threads:
    return
  import tensorflow as tf  # here, so that parsing flags never imports TensorFlow
  try:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
  except RuntimeError:  # TF already initialised
    pass
