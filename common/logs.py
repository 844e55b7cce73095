"""Run logging: the original's log format, progress lines, results, TensorBoard.

Everything goes to the console and to `<checkpoint_dir>/log.txt` (appended, so a
resumed run keeps its history). Routine lines are INFO; WARNING is kept for what
a user must notice (a damaged checkpoint, results set aside, ...). Scalars go to
`<checkpoint_dir>/tensorboard`: `tensorboard --logdir <checkpoint_dir>`.

A failure to write one of the run's own outputs (the log, `results.jsonl`, a
figure) raises `OutputError` with a one-line message; the training loops save
their checkpoint before they let it end the run.
"""
import contextlib
import json
import logging
import os
import re
import sys
import time

LOG_FORMAT = '[%(levelname)-8s] (%(processName)-11s) %(message)s'


class OutputError(RuntimeError):
  """A run's own output (log, results, figure) could not be written."""


def one_line(error, limit=300):
  """An error (or text) as one line for a message: TensorFlow's op decorations
  removed, at most `limit` characters."""
  text = ' '.join(str(error).split()) or type(error).__name__
  text = re.sub(r'\{\{function_node [^}]*\}\}\s*', '', text)  # TensorFlow's op prefix
  text = re.sub(r'\s*name:\s*$', '', text)  # and its empty op-name suffix
  return text if len(text) <= limit else text[:limit - 3] + '...'


@contextlib.contextmanager
def writing(what, path):
  """Turns any failure inside the block into `OutputError` naming `what` and `path`."""
  try:
    yield
  except OutputError:
    raise
  except Exception as error:  # pylint: disable=broad-except  (OSError, cv2.error, PIL, ...)
    raise OutputError(f'cannot write {what} {path}: {one_line(error)}') from None


class _LogFileHandler(logging.FileHandler):
  """A log file whose write failures end the run (after its checkpoint is saved)
  instead of printing logging's traceback and going on without a log. Only the
  first failure raises, so that the lines logged while the run saves and stops
  cannot stop the save."""

  failed = False

  def handleError(self, record):
    if self.failed:
      return
    self.failed = True
    error = sys.exc_info()[1]
    raise OutputError(f'cannot write the log {self.baseFilename}: {one_line(error)}')


class _ConsoleHandler(logging.StreamHandler):
  """stdout; if it goes away (a closed pipe), the run goes on with its log file."""

  def handleError(self, record):
    self.setStream(open(os.devnull, 'w'))  # pylint: disable=consider-using-with


def setup_logger(log_file, name='run', level=logging.INFO):
  """A logger writing the same lines to stdout and to `log_file` (appended).

  Raises:
    OutputError: the log file cannot be opened.
  """
  logger = logging.getLogger(name)
  logger.setLevel(level)
  logger.propagate = False
  for handler in list(logger.handlers):  # one set of handlers per run
    logger.removeHandler(handler)
    try:
      handler.close()
    except (OSError, ValueError):  # a log file that had failed
      pass
  formatter = logging.Formatter(LOG_FORMAT)
  with writing('the log', log_file):
    file_handler = _LogFileHandler(log_file, mode='a')
  for handler in (_ConsoleHandler(sys.stdout), file_handler):
    handler.setFormatter(formatter)
    logger.addHandler(handler)
  return logger


def format_duration(seconds):
  seconds = int(max(seconds, 0))
  hours, rest = divmod(seconds, 3600)
  minutes, seconds = divmod(rest, 60)
  return f'{hours}h{minutes:02d}m{seconds:02d}s' if hours else f'{minutes}m{seconds:02d}s'


def _shown(values):
  return ' | '.join(f'{k}: {v:.6g}' if isinstance(v, float) else f'{k}: {v}'
                    for k, v in values.items())


class Progress:
  """When to print a progress line, and the measured step rate and ETA.

  A line comes right after the run's first step (with the time it took, which
  includes compiling the step), then every `interval` steps, and in between
  whenever `max_seconds` passed without one. The rate and the ETA are measured
  from the end of the first step on, so start-up and compilation are not in them.

  Interval lines carry the caller's values (window means: the same for the same
  run); time-triggered lines carry only the step, rate and ETA, so two identical
  runs print identical loss lines.
  """

  def __init__(self, start_step, max_steps, interval, max_seconds=30.0, clock=time.perf_counter):
    self.start_step, self.max_steps = start_step, max_steps
    self.interval, self.max_seconds, self.clock = interval, max_seconds, clock
    self.started = clock()
    self.origin = None  # (step, time) at the end of the run's first step
    self.last_line_time = self.started
    self.rate = 0.0

  def _measure(self, step):
    now = self.clock()
    if self.origin is None:
      self.origin = (step, now)
    elif step > self.origin[0]:
      self.rate = (step - self.origin[0]) / max(now - self.origin[1], 1e-9)
    return now

  def _eta(self, step):
    if self.rate <= 0:
      return '?'
    return format_duration((self.max_steps - step) / self.rate)

  def due(self, step):
    """'first', 'interval', 'time' or None: which line, if any, step `step` gets."""
    if self.origin is None:
      return 'first'
    if step % self.interval == 0:
      return 'interval'
    if self.max_seconds and self.clock() - self.last_line_time >= self.max_seconds:
      return 'time'
    return None

  def line(self, step, kind='interval', **values):
    """The progress line for `step` (`kind` from `due`)."""
    first = self.origin is None
    now = self._measure(step)
    self.last_line_time = now
    head = f'Step {step}/{self.max_steps}'
    if first:
      took = now - self.started
      return ' | '.join(x for x in (head, _shown(values),
                                    f'first step (compiling included) took {took:.1f} s') if x)
    rate = f'{self.rate:.2f} steps/s' if self.rate else 'measuring steps/s'
    if kind == 'time':
      return f'{head} | {rate} | ETA {self._eta(step)}'
    return ' | '.join(x for x in (head, _shown(values), rate, f'ETA {self._eta(step)}') if x)


class ResultsFile:
  """One JSON line per record (e.g. per epoch), each with its `step`.

  Opened for a run resumed from `resume_step`, it keeps the records up to that
  step; later ones (written after the checkpoint that is now being resumed, e.g.
  before a kill -9) and any partial last line are moved to
  `<name>.superseded.jsonl` beside it, so the file never holds a step twice.

  Raises:
    OutputError: the file cannot be read or written.
  """

  def __init__(self, path, resume_step, logger=None):
    self.path = path
    self.records = []  # the records kept, in order (e.g. for what progress lines show)
    kept, superseded = [], []
    if os.path.exists(path):
      with writing('results', path):
        with open(path) as handle:
          lines = handle.read().splitlines()
      for line in lines:
        if not line.strip():
          continue
        try:
          record = json.loads(line)
          step = record['step']
        except (ValueError, KeyError, TypeError):
          superseded.append(line)
          continue
        if step <= resume_step:
          kept.append(line)
          self.records.append(record)
        else:
          superseded.append(line)
    if superseded:
      aside = os.path.splitext(path)[0] + '.superseded.jsonl'
      with writing('results', aside):
        with open(aside, 'a') as handle:
          handle.write(''.join(line + '\n' for line in superseded))
      with writing('results', path):
        temporary = path + '.tmp'
        with open(temporary, 'w') as handle:
          handle.write(''.join(line + '\n' for line in kept))
        os.replace(temporary, path)
      if logger is not None:
        logger.warning(f'{len(superseded)} record(s) of {path} came after the checkpoint of step '
                       f'{resume_step} (or were unreadable); moved to {aside}')

  def append(self, record):
    with writing('results', self.path):
      with open(self.path, 'a') as handle:
        handle.write(json.dumps(record) + '\n')
    self.records.append(record)


class Summaries:
  """TensorBoard scalars under `<directory>/tensorboard`."""

  def __init__(self, directory):
    import tensorflow as tf  # here, so that the logging helpers import without TensorFlow
    self.tf = tf
    path = os.path.join(directory, 'tensorboard')
    with writing('TensorBoard events', path):
      self.writer = tf.summary.create_file_writer(path)

  def scalars(self, step, **values):
    with writing('TensorBoard events', 'in the tensorboard folder'):
      with self.writer.as_default(step=step):
        for name, value in values.items():
          self.tf.summary.scalar(name, value)
      self.writer.flush()
