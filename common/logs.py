"""Run logging: the original's log format, a progress line, TensorBoard scalars.

Everything goes to the console and to `<checkpoint_dir>/log.txt` (appended, so a
resumed run keeps its history). Scalars go to `<checkpoint_dir>/tensorboard`:
`tensorboard --logdir <checkpoint_dir>`.
"""
import logging
import os
import sys
import time

import tensorflow as tf

LOG_FORMAT = '[%(levelname)-8s] (%(processName)-11s) %(message)s'


def setup_logger(log_file, name='run'):
  """A logger writing the same lines to stdout and to `log_file` (appended)."""
  logger = logging.getLogger(name)
  logger.setLevel(logging.INFO)
  logger.propagate = False
  for handler in list(logger.handlers):  # one set of handlers per run
    handler.close()
    logger.removeHandler(handler)
  formatter = logging.Formatter(LOG_FORMAT)
  for handler in (logging.StreamHandler(sys.stdout), logging.FileHandler(log_file, mode='a')):
    handler.setFormatter(formatter)
    logger.addHandler(handler)
  return logger


def format_duration(seconds):
  seconds = int(max(seconds, 0))
  hours, rest = divmod(seconds, 3600)
  minutes, seconds = divmod(rest, 60)
  return f'{hours}h{minutes:02d}m{seconds:02d}s' if hours else f'{minutes}m{seconds:02d}s'


class Progress:
  """Steps per second over the last interval and the ETA to `max_steps`."""

  def __init__(self, start_step, max_steps):
    self.max_steps = max_steps
    self.last_step, self.last_time = start_step, time.perf_counter()
    self.rate = 0.0  # steps/s over the last interval

  def line(self, step, **values):
    now = time.perf_counter()
    rate = (step - self.last_step) / max(now - self.last_time, 1e-9)
    self.last_step, self.last_time, self.rate = step, now, rate
    eta = (self.max_steps - step) / rate if rate > 0 else float('inf')
    shown = ' | '.join(f'{k}: {v:.6g}' for k, v in values.items())
    return (f'Step {step}/{self.max_steps} | {shown} | {rate:.2f} steps/s | '
            f'ETA {format_duration(eta) if eta != float("inf") else "?"}')


class Summaries:
  """TensorBoard scalars under `<directory>/tensorboard`."""

  def __init__(self, directory):
    self.writer = tf.summary.create_file_writer(os.path.join(directory, 'tensorboard'))

  def scalars(self, step, **values):
    with self.writer.as_default(step=step):
      for name, value in values.items():
        tf.summary.scalar(name, value)
    self.writer.flush()
