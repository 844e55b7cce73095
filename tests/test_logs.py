"""common.logs: progress lines, the results file, output errors, the log file."""
import json
import os

import pytest

from common import logs


class Clock:
  def __init__(self):
    self.now = 0.0

  def __call__(self):
    return self.now


def test_first_line_comes_after_the_first_step_with_its_time():
  clock = Clock()
  progress = logs.Progress(0, 1000, interval=500, max_seconds=30.0, clock=clock)
  clock.now = 12.5  # compiling the first step
  assert progress.due(1) == 'first'
  line = progress.line(1, 'first', loss=0.25)
  assert line.startswith('Step 1/1000 | loss: 0.25') and 'took 12.5 s' in line


def test_eta_comes_from_the_measured_rate_not_start_up():
  clock = Clock()
  progress = logs.Progress(0, 1001, interval=100, max_seconds=0, clock=clock)
  clock.now = 60.0  # a minute of start-up and compilation
  progress.line(1, 'first')
  clock.now = 70.0  # then 100 steps in 10 s: 10 steps/s
  assert progress.due(101) is None
  clock.now = 70.0
  line = progress.line(101, 'interval', loss=0.1)
  assert '10.00 steps/s' in line and 'ETA 1m30s' in line  # 900 steps left at 10/s


def test_time_triggered_lines_carry_no_loss():
  clock = Clock()
  progress = logs.Progress(0, 10000, interval=500, max_seconds=30.0, clock=clock)
  progress.line(1, 'first')
  clock.now = 10.0
  assert progress.due(7) is None
  clock.now = 31.0
  assert progress.due(8) == 'time'
  line = progress.line(8, 'time', loss=0.5)
  assert 'loss' not in line and 'steps/s' in line and line.startswith('Step 8/10000')
  clock.now = 32.0
  assert progress.due(9) is None  # 30 s from the last line, not from the start
  assert progress.due(500) == 'interval'


def test_results_file_sets_aside_records_after_the_resumed_step(tmp_path):
  path = str(tmp_path / 'results.jsonl')
  with open(path, 'w') as handle:
    for step in (3, 6, 9):
      handle.write(json.dumps({'step': step, 'epoch': step // 3}) + '\n')
    handle.write('{"step": 12, "epo')  # a line cut by kill -9

  class Log:
    messages = []
    warning = messages.append
  results = logs.ResultsFile(path, resume_step=6, logger=Log)
  results.append({'step': 9, 'epoch': 3})
  with open(path) as handle:
    assert [json.loads(line)['step'] for line in handle] == [3, 6, 9]
  with open(str(tmp_path / 'results.superseded.jsonl')) as handle:
    aside = handle.read().splitlines()
  assert json.loads(aside[0])['step'] == 9 and aside[1] == '{"step": 12, "epo'
  assert '2 record(s)' in Log.messages[0]


def test_results_file_left_alone_when_consistent(tmp_path):
  path = tmp_path / 'results.jsonl'
  path.write_text('{"step": 3}\n')
  logs.ResultsFile(str(path), resume_step=3)
  assert path.read_text() == '{"step": 3}\n'
  assert not (tmp_path / 'results.superseded.jsonl').exists()


def test_unwritable_results_is_an_output_error(tmp_path):
  (tmp_path / 'results.jsonl').mkdir()
  with pytest.raises(logs.OutputError) as error:
    logs.ResultsFile(str(tmp_path / 'results.jsonl'), 0).append({'step': 1})
  assert 'results.jsonl' in str(error.value) and '\n' not in str(error.value)


def test_log_file_write_failure_raises_output_error(tmp_path):
  logger = logs.setup_logger(str(tmp_path / 'log.txt'), name='test_log_failure')
  logger.info('first line')
  handler = logger.handlers[-1]
  handler.stream.close()  # as if the disk went away
  with pytest.raises(logs.OutputError) as error:
    logger.info('second line')
  assert 'log.txt' in str(error.value)
  assert (tmp_path / 'log.txt').read_text().count('first line') == 1
  logger.info('saving the checkpoint')  # what the run logs while it saves and stops


def test_unopenable_log_file_is_an_output_error(tmp_path):
  with pytest.raises(logs.OutputError):
    logs.setup_logger(str(tmp_path / 'missing' / 'log.txt'), name='test_log_missing')


def test_writing_names_the_path():
  with pytest.raises(logs.OutputError) as error:
    with logs.writing('the figure', '/x/y.png'):
      raise PermissionError(13, 'Permission denied')
  assert str(error.value).startswith('cannot write the figure /x/y.png: ')


def test_figure_into_an_unwritable_place_is_an_output_error(tmp_path):
  import numpy as np
  from common import visualize
  blocker = tmp_path / 'file'
  blocker.write_text('x')
  with pytest.raises(logs.OutputError):
    visualize.step_dir(str(blocker), 5)
  with pytest.raises(logs.OutputError):
    visualize.heatmap(np.zeros((2, 2)), os.path.join(str(blocker), 'a.png'))
