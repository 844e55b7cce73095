"""ntm_dnc end to end: the same command gives the same run, a resumed run equals an
uninterrupted one, saved progress survives damaged files, output failures come
after the checkpoint is saved."""
import os

import pytest
from run_testing import assert_same_checkpoint, loss_lines

from ntm_dnc import main as ntm_main

TINY = ['--config=1', '--mem_hei=16', '--hidden_dim=16', '--min_num_words=1', '--max_num_words=3',
        '--eval_steps=2', '--prog_freq=3', '--eval_freq=6', '--save_vis_interval=0']


def run(directory, *flags):
  return ntm_main.main(['main.py', *TINY, *flags, f'--checkpoint_dir={directory}'])


def read_log(directory):
  with open(os.path.join(directory, 'log.txt')) as handle:
    return handle.read()


@pytest.fixture(scope='module')
def straight(tmp_path_factory):
  """24 steps without a stop."""
  directory = str(tmp_path_factory.mktemp('straight'))
  assert run(directory, '--max_steps=24') == 0
  return directory


def test_same_command_gives_the_same_run(straight, tmp_path):
  assert run(tmp_path, '--max_steps=24') == 0
  assert_same_checkpoint(os.path.join(straight, 'ckpt-24'), os.path.join(tmp_path, 'ckpt-24'))
  assert loss_lines(straight) == loss_lines(str(tmp_path))
  assert len(loss_lines(straight)) > 8


def test_resumed_run_equals_uninterrupted(straight, tmp_path):
  assert run(tmp_path, '--max_steps=10') == 0  # stops between two evaluations / saves
  assert run(tmp_path, '--max_steps=24') == 0
  assert 'Resumed from step 10' in read_log(tmp_path)
  assert_same_checkpoint(os.path.join(straight, 'ckpt-24'), os.path.join(tmp_path, 'ckpt-24'))
  # The log lines after the stop, running averages included, are the uninterrupted run's.
  after = lambda d: [l for l in loss_lines(d) if any(f'Step {s}/24' in l for s in (12, 15, 18))
                     or 'Training Stats' in l]
  assert after(str(tmp_path))[-6:] == after(straight)[-6:]


def test_evaluation_and_visualisation_do_not_change_training(straight, tmp_path):
  assert run(tmp_path, '--max_steps=24', '--eval_freq=4', '--eval_steps=3',
             '--save_vis_interval=5') == 0
  assert os.path.isdir(os.path.join(tmp_path, '00000005'))
  assert_same_checkpoint(os.path.join(straight, 'ckpt-24'), os.path.join(tmp_path, 'ckpt-24'),
                         ignore=('run_config',))  # it records EVAL_FREQ and EVAL_STEPS


def test_first_progress_line_comes_after_the_first_step(straight):
  log = read_log(straight)
  assert 'Step 1/24 | loss:' in log and 'first step (compiling included) took' in log
  assert '[INFO    ]' in log and '[WARNING ]' not in log  # nothing went wrong


def test_save_interval_in_steps(tmp_path):
  assert run(tmp_path, '--max_steps=7', '--save_interval=3', '--eval_freq=1000') == 0
  assert sorted(f for f in os.listdir(tmp_path) if f.endswith('.index')) == [
      'ckpt-3.index', 'ckpt-6.index', 'ckpt-7.index']


def test_lost_state_file_resumes_without_overwriting(tmp_path):
  assert run(tmp_path, '--max_steps=12') == 0
  os.remove(os.path.join(tmp_path, 'checkpoint'))
  assert run(tmp_path, '--max_steps=14') == 0
  log = read_log(tmp_path)
  assert 'Resumed from step 12' in log and 'state file' in log
  assert 'ckpt-14.index' in os.listdir(tmp_path)


def test_truncated_latest_checkpoint_falls_back(tmp_path):
  assert run(tmp_path, '--max_steps=12') == 0  # saves at 6 and 12
  data = os.path.join(tmp_path, 'ckpt-12.data-00000-of-00001')
  with open(data, 'r+b') as handle:
    handle.truncate(10)
  assert run(tmp_path, '--max_steps=14') == 0
  log = read_log(tmp_path)
  assert 'Resumed from step 6' in log and '[WARNING ]' in log and 'truncated' in log
  kept = [f for _, _, files in os.walk(os.path.join(tmp_path, 'damaged')) for f in files]
  assert 'ckpt-12.data-00000-of-00001' in kept


def test_unreadable_checkpoints_are_refused_then_restart(tmp_path, capsys):
  assert run(tmp_path, '--max_steps=6') == 0
  open(os.path.join(tmp_path, 'ckpt-6.data-00000-of-00001'), 'wb').close()
  assert run(tmp_path, '--max_steps=8') == 1
  error = capsys.readouterr().err.strip()
  assert error.startswith('error: none of the 1 checkpoint(s)') and '--restart' in error
  assert 'ckpt-6.index' in os.listdir(tmp_path)  # left as it was
  assert run(tmp_path, '--max_steps=2', '--restart') == 0
  assert 'ckpt-2.index' in os.listdir(tmp_path)
  assert os.path.isdir(os.path.join(tmp_path, 'replaced'))


def test_output_failure_ends_after_the_checkpoint_is_saved(tmp_path, capsys):
  os.makedirs(tmp_path, exist_ok=True)
  (tmp_path / '00000004').write_text('a file where the visualisation folder goes')
  assert run(tmp_path, '--max_steps=100', '--save_vis_interval=4', '--eval_freq=1000') == 1
  error = capsys.readouterr().err.strip()
  assert error.startswith('error: cannot write the visualisation folder') and '00000004' in error
  assert len(error.splitlines()) == 1
  assert 'ckpt-4.index' in os.listdir(tmp_path)  # progress of the 4 steps is saved


def test_mismatch_error_names_a_directory(straight, capsys):
  assert run(straight, '--max_steps=30', '--mem_hei=32') == 1
  error = capsys.readouterr().err
  assert f'--checkpoint_dir={straight}_mem_hei32' in error


def test_verbose_logs_every_step(tmp_path):
  assert run(tmp_path, '--max_steps=2', '--verbose=1') == 0
  log = read_log(tmp_path)
  assert '[DEBUG   ]' in log and 'step 1: loss' in log and 'step 2: loss' in log


def test_log_failure_ends_after_the_checkpoint_is_saved(tmp_path, capsys, monkeypatch):
  from common import logs
  real_setup = logs.setup_logger

  def failing_later(path, **kwargs):  # the log file's stream breaks after the set-up lines
    logger = real_setup(path, **kwargs)
    handler = logger.handlers[-1]
    real_emit = handler.emit
    def emit(record):
      if 'Step 3/' in record.getMessage():
        handler.stream.close()
      real_emit(record)
    handler.emit = emit
    return logger
  monkeypatch.setattr(logs, 'setup_logger', failing_later)
  assert run(tmp_path, '--max_steps=100', '--eval_freq=1000') == 1
  error = capsys.readouterr().err.strip()
  assert error.startswith('error: cannot write the log') and len(error.splitlines()) == 1
  assert 'ckpt-3.index' in os.listdir(tmp_path)
