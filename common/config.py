"""Command-line overrides for a subproject's `constants.py`.

Every UPPERCASE scalar constant (bool, int, float, str) becomes an absl flag
`--lowercase_name`, typed from its default; its help text is the constant's
comment in constants.py (the trailing `# ...` on its line and the comment-only
lines below aligned with it). String constants may reference others as `{NAME}`
(e.g. `CHECKPOINT_DIR`); they are filled after the flags are applied.

Optional names in the constants module, all checked by `parse`, in this order:

- `ALLOW_NONFINITE`: a tuple of float constants that may be nan / inf / -inf;
  every other float must be finite.
- `CONSTRAINTS`: a dict from a name to its allowed values: a tuple of strings is
  a set of choices, a `(low, high)` pair of numbers an inclusive range (None:
  unbounded). Every int, in a range or not, also stays within +-`INT_CAP` unless
  its range says otherwise, so that an absurd value fails here and not later as
  an int32 overflow.
- `derive_defaults(values)`: fills settings that depend on others (e.g. the
  per-experiment defaults of constants left at 0) in the dict of values; it
  raises `ConfigError` for settings that are valid one by one but not together
  and cannot be said as a pair below.
- `AT_MOST`: pairs `(FIRST, SECOND)` or `(FIRST, SECOND, reason)`: FIRST must be
  <= SECOND, checked after `derive_defaults` (on the filled-in values).
- `APPLIES_ONLY`: `{NAME: (SELECTOR, allowed values)}`: a flag given on the command
  line for a run whose SELECTOR (e.g. EXPERIMENT) would ignore it is refused.
- `estimate_memory(values)`: `{description: bytes}` of the main memory consumers
  of these settings (a description may read `label: how it was computed`). The
  run is refused when their sum exceeds `available_memory_bytes()`.

Bad input raises `ConfigError` with a one-line message; `parse_or_exit` prints it
and exits with status 2, without a traceback. Parsing never imports TensorFlow.
"""
import inspect
import io
import math
import os
import re
import sys
import textwrap
import tokenize
import types

from absl import flags

# Implicit bound of every int setting whose range leaves it open: larger values
# would overflow TensorFlow's int32 shapes and counters long after parsing.
INT_CAP = 2 ** 31 - 1
HELP_FLAGS = ('-h', '--help', '--helpfull', '--helpshort')


class ConfigError(ValueError):
  """A bad command-line flag or constant value."""


def _scalar_constants(module):
  return {name: value for name, value in vars(module).items()
          if name.isupper() and not name.startswith('_')
          and isinstance(value, (bool, int, float, str))}


def _is_int(value):
  return isinstance(value, int) and not isinstance(value, bool)


def constant_comments(module):
  """{NAME: comment} for the module's top-level `NAME = value  # comment` lines,
  continued by the comment-only lines that follow at the same column ({} without source)."""
  try:
    source = inspect.getsource(module)
  except (OSError, TypeError):  # e.g. a module built in memory
    return {}
  comments, follow = {}, None  # follow: (name, column, row) where a continuation may be
  statement, depth, code_row = [], 0, None
  try:
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
      kind, text, (row, column) = token.type, token.string, token.start
      if kind == tokenize.COMMENT:
        body = text[1:].strip()
        if code_row == row:  # after code on this line
          follow = None
          if (depth == 0 and len(statement) >= 2 and statement[0].type == tokenize.NAME
              and statement[0].start[1] == 0 and statement[0].string.isupper()
              and statement[1].string == '='):
            name = statement[0].string
            comments[name] = [body]
            follow = (name, column, row + 1)
        elif follow and follow[1:] == (column, row):
          comments[follow[0]].append(body)
          follow = (follow[0], column, row + 1)
        else:
          follow = None
      elif kind == tokenize.NEWLINE:
        statement = []
      elif kind not in (tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
                        tokenize.ENDMARKER):
        statement.append(token)
        code_row, follow = row, None
        if kind == tokenize.OP and text in ('(', '[', '{'):
          depth += 1
        elif kind == tokenize.OP and text in (')', ']', '}'):
          depth -= 1
  except (tokenize.TokenError, SyntaxError):  # keep what was read
    pass
  return {name: ' '.join(lines) for name, lines in comments.items()}


def _define_flags(constants, flag_values, comments):
  for name, default in constants.items():
    flag, help_text = name.lower(), comments.get(name) or f'overrides {name}'
    if isinstance(default, bool):
      flags.DEFINE_boolean(flag, default, help_text, flag_values=flag_values)
    elif isinstance(default, int):
      flags.DEFINE_integer(flag, default, help_text, flag_values=flag_values)
    elif isinstance(default, float):
      flags.DEFINE_float(flag, default, help_text, flag_values=flag_values)
    else:
      flags.DEFINE_string(flag, default, help_text, flag_values=flag_values)


def check_finite(values, allow_nonfinite=()):
  """Raise ConfigError for a float setting that is nan or +-inf and not allowed to be."""
  for name, value in values.items():
    if (isinstance(value, float) and not math.isfinite(value) and name.isupper()
        and name not in allow_nonfinite):
      raise ConfigError(f'--{name.lower()}={value!r} is not a finite number; give a finite value')


def _is_choices(allowed):
  return all(isinstance(a, str) for a in allowed)


def _bounds(value, allowed):
  """(low, high, implicit) for a numeric value: the range with INT_CAP applied to open int ends."""
  low, high = allowed if allowed is not None else (None, None)
  implicit = False
  if _is_int(value):
    if high is None:
      high, implicit = INT_CAP, True
    if low is None:
      low = -INT_CAP - 1
  return low, high, implicit


def check_constraints(values, constraints, allow_nonfinite=()):
  """Raise ConfigError for the first value outside its allowed set or range.

  Ranges are checked as `low <= value <= high`, so nan is never in one (unless
  the name is in `allow_nonfinite`, where nan is a marker without an order).
  Ints without an upper bound are capped at INT_CAP.
  """
  names = list(constraints) + [name for name, value in values.items()
                               if name.isupper() and _is_int(value) and name not in constraints]
  for name in names:
    if name not in values:
      continue
    value, allowed = values[name], constraints.get(name)
    if allowed is not None and _is_choices(allowed):
      if value not in allowed:
        raise ConfigError(f'--{name.lower()}={value!r} is not allowed; '
                          f'choose one of: {", ".join(allowed)}')
      continue
    if isinstance(value, float) and math.isnan(value) and name in allow_nonfinite:
      continue
    low, high, implicit = _bounds(value, allowed)
    if low is not None and not low <= value:
      bounds = f'between {low} and {high}' if high is not None and not implicit else f'>= {low}'
      raise ConfigError(f'--{name.lower()}={value!r} is out of range; it must be {bounds}')
    if high is not None and not value <= high:
      if implicit:
        raise ConfigError(f'--{name.lower()}={value!r} is out of range; it must be at most '
                          f'{high} (the cap on integer settings without an upper bound)')
      bounds = f'between {low} and {high}' if low is not None else f'<= {high}'
      raise ConfigError(f'--{name.lower()}={value!r} is out of range; it must be {bounds}')


def check_at_most(values, pairs):
  """Raise ConfigError for the first pair `(FIRST, SECOND[, reason])` with FIRST > SECOND."""
  for pair in pairs:
    first, second = pair[:2]
    for name in (first, second):
      if name not in values:
        raise ConfigError(f'AT_MOST names {name}, which is not a constant')
    a, b = values[first], values[second]
    if isinstance(a, float) and math.isnan(a) or isinstance(b, float) and math.isnan(b):
      continue  # nan (where allowed) is a marker, not a size
    if not a <= b:
      reason = f' ({pair[2]})' if len(pair) > 2 else ''
      raise ConfigError(f'--{first.lower()}={a!r} must be at most --{second.lower()}={b!r}'
                        f'{reason}')


def check_applies(values, given, applies_only):
  """Raise ConfigError for a flag given on the command line that this run would ignore.

  Args:
    values: the settings after defaults are filled in.
    given: names of the constants set on the command line.
    applies_only: `{NAME: (SELECTOR, allowed values)}`: NAME has an effect only when
      the constant SELECTOR holds one of the allowed values.
  """
  for name, (selector, allowed) in applies_only.items():
    if name in given and values[selector] not in allowed:
      values_text = [str(value) for value in allowed]
      shown = f'--{selector.lower()}=' + (values_text[0] if len(values_text) == 1 else
                                          ', '.join(values_text[:-1]) + ' or ' + values_text[-1])
      raise ConfigError(f'--{name.lower()} applies only with {shown}; this run has '
                        f'--{selector.lower()}={values[selector]}, which would ignore it '
                        '(drop the flag)')


def available_memory_bytes():
  """Memory a new process can use: `MemAvailable` of /proc/meminfo, else the free
  physical pages; None when neither is known."""
  try:
    with open('/proc/meminfo') as handle:
      for line in handle:
        if line.startswith('MemAvailable:'):
          return int(line.split()[1]) * 1024  # kB
  except (OSError, ValueError, IndexError):
    pass
  try:
    return os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')
  except (ValueError, OSError, AttributeError):
    return None


def format_bytes(count):
  """'37.2 GiB', '512.0 MiB', ... (binary units)."""
  for unit, size in (('TiB', 2 ** 40), ('GiB', 2 ** 30), ('MiB', 2 ** 20), ('KiB', 2 ** 10)):
    if count >= size:
      return f'{count / size:.1f} {unit}'
  return f'{int(count)} bytes'


def check_memory(values, estimate, shown=2):
  """Raise ConfigError when `estimate(values)` (`{description: bytes}`) sums to more
  than `available_memory_bytes()`; the message names the `shown` largest parts and
  advises the flags of the largest."""
  parts = sorted(((description, int(size)) for description, size in estimate(values).items()
                  if size > 0), key=lambda part: -part[1])
  need, available = sum(size for _, size in parts), available_memory_bytes()
  if available is None or need <= available:
    return
  texts = []
  for description, size in parts[:shown]:
    label, _, how = description.partition(': ')
    texts.append(f'{label} {format_bytes(size)}' + (f': {how}' if how else ''))
  if len(parts) > shown:
    texts.append(f'{len(parts) - shown} smaller')
  names = []
  for name in re.findall(r'--\w+', parts[0][0]):
    if name not in names:
      names.append(name)
  advice = f'reduce {", ".join(names[:-1])} or {names[-1]}' if len(names) > 1 else (
      f'reduce {names[0]}' if names else 'reduce the sizes above')
  raise ConfigError(f'these settings need about {format_bytes(need)} ({"; ".join(texts)}) but '
                    f'about {format_bytes(available)} is available; {advice}')


def _fill_templates(values):
  for name, value in values.items():
    if isinstance(value, str) and '{' in value:
      try:
        values[name] = value.format(**values)
      except (KeyError, IndexError, ValueError) as error:
        raise ConfigError(f'--{name.lower()}={value!r} names an unknown constant: {error}')


def _print_and_exit(text):
  try:
    sys.stdout.write(text + '\n')
    sys.stdout.flush()
  except BrokenPipeError:  # e.g. `--helpfull | head`: the reader has gone, which is fine
    # Point stdout at /dev/null so that the interpreter's final flush cannot fail too.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
  sys.exit(0)


def parse(module, argv):
  """Apply `argv` (program name first) to a constants module.

  Returns:
    A `types.SimpleNamespace` holding every UPPERCASE constant of the module
    (non-scalar ones such as tables unchanged) with overrides applied.
  Raises:
    ConfigError: unknown flag, a value of the wrong type, a non-finite float, a
      value out of range, settings that disagree, or more memory than available.
    SystemExit: (status 0) after printing the help for -h / --help / --helpfull / --helpshort.
  """
  constants = _scalar_constants(module)
  comments = constant_comments(module)
  flag_values = flags.FlagValues()
  _define_flags(constants, flag_values, comments)
  if any(arg in HELP_FLAGS for arg in argv[1:]):
    _print_and_exit(usage(module, constants, comments))
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
  allow_nonfinite = tuple(getattr(module, 'ALLOW_NONFINITE', ()))
  check_finite(values, allow_nonfinite)
  check_constraints(values, getattr(module, 'CONSTRAINTS', {}), allow_nonfinite)
  derive = getattr(module, 'derive_defaults', None)
  if derive is not None:
    derive(values)
  check_at_most(values, getattr(module, 'AT_MOST', ()))
  given = {name for name in constants if flag_values[name.lower()].present}
  check_applies(values, given, getattr(module, 'APPLIES_ONLY', {}))
  if values.get('RESTART') and values.get('MODE') == 'test':  # the common run constants
    raise ConfigError('--restart starts training from step 0; it has no meaning with '
                      '--mode=test, which evaluates the latest checkpoint (drop --restart)')
  estimate = getattr(module, 'estimate_memory', None)
  if estimate is not None:
    check_memory(values, estimate)
  _fill_templates(values)
  return types.SimpleNamespace(**values)


def _allowed_text(value, allowed, nonfinite):
  if allowed is not None and _is_choices(allowed):
    return 'one of: ' + ', '.join(allowed)
  if isinstance(value, bool) or not isinstance(value, (int, float)):
    return ''
  low, high, _ = _bounds(value, allowed)
  text = {(False, False): f'{low} to {high}', (False, True): f'>= {low}',
          (True, False): f'<= {high}', (True, True): 'any'}[low is None, high is None]
  return text + (', nan / inf allowed' if nonfinite else '')


def usage(module, constants, comments=None):
  """Every flag with its default, type, allowed values and comment."""
  allowed = getattr(module, 'CONSTRAINTS', {})
  nonfinite = getattr(module, 'ALLOW_NONFINITE', ())
  comments = constant_comments(module) if comments is None else comments
  lines = [f'flags (defaults from {module.__name__}; edit it or override here as '
           '--name=value):']
  for name, default in constants.items():
    kind = type(default).__name__
    extra = _allowed_text(default, allowed.get(name), name in nonfinite)
    lines.append(f'  --{name.lower()}={default!r}  ({kind}' + (f'; {extra})' if extra else ')'))
    if comments.get(name):
      lines.append(textwrap.fill(comments[name], width=100, initial_indent=' ' * 6,
                                 subsequent_indent=' ' * 6))
  return '\n'.join(lines)


def parse_or_exit(module, argv=None):
  """`parse`, printing a one-line error and exiting with status 2 on bad input."""
  try:
    return parse(module, sys.argv if argv is None else argv)
  except ConfigError as error:
    print(f'error: {error}', file=sys.stderr)
    sys.exit(2)


def as_dict(config, keys=None):
  """The scalar constants (UPPERCASE names) of a parsed config, or only `keys`, for
  saving and comparing."""
  items = vars(config).items()
  return {name: value for name, value in items
          if name.isupper() and (keys is None or name in keys)
          and isinstance(value, (bool, int, float, str))}


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
