"""End-to-end runs of ntm_dnc/main.py with tiny settings: training writes
checkpoints and visualisation folders, runs resume, test mode evaluates, bad
input ends with a one-line error."""
import os
import subprocess
import sys

import pytest
from process_testing import interrupt_when_training

from ntm_dnc import main as ntm_main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(REPO, 'ntm_dnc', 'main.py')
TINY = ['--min_num_words=1', '--max_num_words=2', '--eval_steps=2', '--prog_freq=2', '--eval_freq=4',
        '--save_vis_interval=2']
TINY_NTM = TINY + ['--config=1', '--mem_hei=16', '--hidden_dim=16']
TINY_DNC = TINY + ['--config=2', '--mem_hei=8', '--hidden_dim=16']


def run_main(*flags):
  return ntm_main.main(['main.py', *flags])


def read_log(directory):
  with open(os.path.join(directory, 'log.txt')) as handle:
    return handle.read()


@pytest.fixture(scope='module')
def ntm_run(tmp_path_factory):
  """One short NTM training run shared by the tests that inspect it."""
  directory = str(tmp_path_factory.mktemp('ntm'))
  assert run_main(*TINY_NTM, '--max_steps=4', f'--checkpoint_dir={directory}') == 0
  return directory


def test_train_writes_checkpoint_and_visualisations(ntm_run):
  for step in ('00000002', '00000004'):
    files = sorted(os.listdir(os.path.join(ntm_run, step)))
    assert files == ['input.png', 'memory.png', 'output.png', 'read_weights.png',
                     'target.png', 'write_weights.png']
  assert os.path.exists(os.path.join(ntm_run, 'ckpt-4.index'))
  assert os.listdir(os.path.join(ntm_run, 'tensorboard'))
  log = read_log(ntm_run)
  assert 'Parameters:' in log and 'Step 4/4' in log and 'steps/s' in log and 'ETA' in log


def test_resume_continues_at_saved_step(ntm_run):
  assert run_main(*TINY_NTM, '--max_steps=6', f'--checkpoint_dir={ntm_run}') == 0
  log = read_log(ntm_run)
  assert 'Resumed from step 4' in log
  assert 'Step 6/6' in log
  assert os.path.exists(os.path.join(ntm_run, 'ckpt-6.index'))
  assert os.path.isdir(os.path.join(ntm_run, '00000006'))


def test_test_mode_evaluates_and_visualises(ntm_run, capsys):
  assert run_main(*TINY_NTM, '--mode=test', '--test_nepisodes=2',
                  f'--checkpoint_dir={ntm_run}') == 0
  log = read_log(ntm_run)
  assert 'Test batch 1' in log and 'loss_avg' in log
  test_dirs = [d for d in os.listdir(ntm_run) if d.startswith('test_')]
  assert len(test_dirs) == 1
  files = os.listdir(os.path.join(ntm_run, test_dirs[0]))
  assert 'batch0_memory.png' in files and 'batch1_output.png' in files


def test_other_configuration_is_refused(ntm_run, capsys):
  assert run_main(*TINY_NTM, '--mem_hei=32', '--max_steps=8',
                  f'--checkpoint_dir={ntm_run}') == 1
  error = capsys.readouterr().err.strip()
  assert error.startswith('error:') and 'MEM_HEI=16' in error and '32' in error
  assert '\n' not in error


def test_test_mode_without_checkpoint_is_an_error(tmp_path, capsys):
  assert run_main(*TINY_NTM, '--mode=test', f'--checkpoint_dir={tmp_path}') == 1
  error = capsys.readouterr().err.strip()
  assert error.startswith('error: no checkpoint') and '\n' not in error


def test_dnc_train_and_visualise(tmp_path):
  assert run_main(*TINY_DNC, '--max_steps=2', '--eval_freq=2', f'--checkpoint_dir={tmp_path}') == 0
  files = os.listdir(os.path.join(tmp_path, '00000002'))
  assert {'usage.png', 'link.png', 'read_weights.png', 'memory.png'} <= set(files)
  assert os.path.exists(os.path.join(tmp_path, 'ckpt-2.index'))


def test_empty_agent_renders_batches(tmp_path, capsys):
  assert run_main('--config=0', '--test_nepisodes=1', f'--checkpoint_dir={tmp_path}') == 0
  assert 'natural T' in capsys.readouterr().out


def _run_subprocess(*flags, cwd):
  return subprocess.run([sys.executable, MAIN, *flags], cwd=cwd, capture_output=True,
                        text=True, timeout=120)


@pytest.mark.parametrize('flag, expected', [
    ('--no_such_flag=1', 'no_such_flag'),
    ('--max_steps=abc', 'max_steps'),
    ('--max_steps=-5', 'max_steps'),
    ('--mode=fly', 'fly'),
    ('--config=7', 'config'),
])
def test_bad_flags_give_one_line_error(flag, expected, tmp_path):
  result = _run_subprocess(flag, f'--checkpoint_dir={tmp_path}', cwd=tmp_path)
  assert result.returncode != 0
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith('error:') and expected in lines[0]
  assert 'Traceback' not in result.stderr


def test_unwritable_checkpoint_dir_is_an_error(tmp_path):
  blocker = tmp_path / 'a_file'
  blocker.write_text('not a directory')
  result = _run_subprocess('--max_steps=1', f'--checkpoint_dir={blocker}/ckpt', cwd=tmp_path)
  assert result.returncode == 1
  lines = result.stderr.strip().splitlines()
  assert lines[-1].startswith('error:') and 'not writable' in lines[-1]
  assert 'Traceback' not in result.stderr


def test_sigint_saves_and_exits_cleanly(tmp_path):
  returncode, output = interrupt_when_training(
      [sys.executable, MAIN, *TINY_NTM, '--max_steps=100000', '--save_vis_interval=0',
       '--eval_freq=100000', f'--checkpoint_dir={tmp_path}'], cwd=tmp_path)
  assert returncode == 0, output
  assert 'Interrupted at step' in output and 'Traceback' not in output
  assert any(name.endswith('.index') for name in os.listdir(tmp_path))
