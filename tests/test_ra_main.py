"""End-to-end runs of recurrent_attention/main.py with tiny settings: each of the
four experiments trains, writes a checkpoint, visualisations and per-epoch
results; runs resume; test mode evaluates; bad input ends with a one-line error."""
import json
import os
import subprocess
import sys

import pytest
from PIL import Image
from process_testing import interrupt_when_training

from recurrent_attention import main as ra_main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(REPO, 'recurrent_attention', 'main.py')
TINY = ['--num_train=192', '--num_test=96', '--batch_size=64', '--prog_freq=2',
        '--save_vis_interval=2', '--num_vis=2', '--core_hidden=32', '--glimpse_out=32',
        '--glimpse_hidden=16', '--loc_hidden=16']
TINY_CATCH = ['--experiment=catch', '--image_size=12', '--glimpse_size=2', '--batch_size=4', '--episodes_per_epoch=3', '--prog_freq=2',
              '--save_vis_interval=2', '--num_vis=2', '--core_hidden=16', '--glimpse_out=16',
              '--glimpse_hidden=8', '--loc_hidden=8', '--num_test=8']


def run_main(*flags):
  return ra_main.main(['main.py', *flags])


def read_log(directory):
  with open(os.path.join(directory, 'log.txt')) as handle:
    return handle.read()


def results(directory):
  with open(os.path.join(directory, 'results.jsonl')) as handle:
    return [json.loads(line) for line in handle]


@pytest.fixture(scope='module')
def centered_run(tmp_path_factory):
  directory = str(tmp_path_factory.mktemp('centered'))
  assert run_main(*TINY, '--max_steps=4', '--eval_mc_samples=3', f'--checkpoint_dir={directory}') == 0
  return directory


def test_centered_trains_evaluates_and_visualises(centered_run):
  for step in ('00000002', '00000004'):
    assert sorted(os.listdir(os.path.join(centered_run, step))) == ['glimpses_0.png',
                                                                     'glimpses_1.png']
  assert os.path.exists(os.path.join(centered_run, 'ckpt-4.index'))
  assert os.listdir(os.path.join(centered_run, 'tensorboard'))
  log = read_log(centered_run)
  assert 'Parameters: ' in log and 'Step 4/4' in log and 'images/s' in log and 'ETA' in log
  records = results(centered_run)
  # 192 images in batches of 64: epoch 1 ends at step 3, then a partial epoch 2.
  assert [(r['epoch'], r['step'], r['complete_epoch']) for r in records] == [
      (1, 3, True), (2, 4, False)]
  for record in records:
    assert 0 <= record['test_accuracy'] <= 100 and 0 <= record['test_accuracy_mc'] <= 100
    assert record['lr'] == pytest.approx(1e-3 * 0.95 ** record['epoch'])
  assert 'test:' in log and '3-sample MC accuracy' in log


def test_resume_continues_at_saved_step(centered_run):
  assert run_main(*TINY, '--max_steps=6', '--eval_mc_samples=3',
                  f'--checkpoint_dir={centered_run}') == 0
  log = read_log(centered_run)
  assert 'Resumed from step 4' in log and 'Step 6/6' in log
  assert os.path.exists(os.path.join(centered_run, 'ckpt-6.index'))
  # Epoch 2 finishes at step 6, on the batches it would have had without the stop.
  assert (results(centered_run)[-1]['epoch'], results(centered_run)[-1]['step']) == (2, 6)


def test_test_mode_evaluates_and_visualises(centered_run):
  assert run_main(*TINY, '--mode=test', '--eval_mc_samples=3',
                  f'--checkpoint_dir={centered_run}') == 0
  assert 'Test accuracy' in read_log(centered_run)
  assert len(os.listdir(os.path.join(centered_run, 'test_00000006'))) == 2


def test_incompatible_checkpoint_is_refused(centered_run, capsys):
  assert run_main(*TINY, '--glimpse_size=4', '--max_steps=8',
                  f'--checkpoint_dir={centered_run}') == 1
  error = capsys.readouterr().err.strip()
  assert error.startswith('error: ') and 'GLIMPSE_SIZE=8' in error and len(error.splitlines()) == 1


@pytest.mark.parametrize('experiment, extra', [('translated', ['--num_glimpses=2']),
                                               ('cluttered', ['--jit_compile=false'])])
def test_translated_and_cluttered_run(tmp_path, experiment, extra):
  directory = str(tmp_path)
  assert run_main(*TINY, f'--experiment={experiment}', '--max_steps=2', *extra,
                  f'--checkpoint_dir={directory}') == 0
  assert os.path.exists(os.path.join(directory, 'ckpt-2.index'))
  assert len(os.listdir(os.path.join(directory, '00000002'))) == 2
  log = read_log(directory)
  assert f'Run: {experiment}' in log and 'on 60x60' in log


def test_catch_trains_animates_resumes_and_tests(tmp_path):
  directory = str(tmp_path)
  assert run_main(*TINY_CATCH, '--max_steps=4', f'--checkpoint_dir={directory}') == 0
  files = sorted(os.listdir(os.path.join(directory, '00000004')))
  gifs = [f for f in files if f.endswith('.gif')]
  assert len(gifs) == 2 and len([f for f in files if f.endswith('_gaze.png')]) == 2
  with Image.open(os.path.join(directory, '00000004', gifs[0])) as gif:
    assert gif.n_frames == 11  # a 12x12 board: 11 steps
  records = results(directory)
  assert [(r['epoch'], r['step']) for r in records] == [(1, 3), (2, 4)]
  assert 0 <= records[0]['catch_rate'] <= 100
  assert run_main(*TINY_CATCH, '--max_steps=5', f'--checkpoint_dir={directory}') == 0
  assert 'Resumed from step 4' in read_log(directory)
  assert run_main(*TINY_CATCH, '--mode=test', f'--checkpoint_dir={directory}') == 0
  log = read_log(directory)
  assert 'Catch rate' in log and 'Policy: moves left' in log and 'pinned to the board edge' in log
  assert all(f'{policy} ' in log.split('Reference catch rates: ')[1]
             for policy in ('random', 'left', 'stay', 'right'))
  assert len(os.listdir(os.path.join(directory, 'test_00000005'))) == 4


def test_test_mode_without_checkpoint_is_an_error(tmp_path, capsys):
  assert run_main(*TINY, '--mode=test', f'--checkpoint_dir={tmp_path}') == 1
  assert 'no checkpoint' in capsys.readouterr().err


def test_missing_mnist_is_a_clear_error(tmp_path, capsys):
  assert run_main(*TINY, f'--mnist_dir={tmp_path}/nowhere', '--download_mnist=false',
                  f'--checkpoint_dir={tmp_path}/run') == 1
  error = capsys.readouterr().err.strip()
  assert error.startswith('error: ') and 'nowhere' in error and len(error.splitlines()) == 1


@pytest.mark.parametrize('flags, words', [
    (['--experiment=mnist'], ['--experiment', 'centered, translated, cluttered, catch']),
    (['--glimpse_size=30'], ['--glimpse_size=30', 'larger than the 28x28 image']),
    (['--experiment=translated', '--glimpse_size=62'], ['larger than the 60x60']),
    (['--glimpse_size=7'], ['--glimpse_size=7', 'even']),
    (['--experiment=catch', '--num_glimpses=5'], ['--num_glimpses=5', '23']),
    (['--num_glimpses=abc'], ['num_glimpses', 'abc']),
    (['--max_steps=-5'], ['--max_steps=-5', '>= 0']),
    (['--mode=fly'], ['--mode', 'train, test']),
    (['--no_such_flag=1'], ['no_such_flag']),
    (['--entropy_cost=0.01'], ['--entropy_cost=0.01', 'Catch']),
])
def test_bad_flags_end_with_one_line_error(flags, words):
  done = subprocess.run([sys.executable, MAIN, *flags], capture_output=True, text=True,
                        cwd=os.path.dirname(MAIN), timeout=60)
  assert done.returncode == 2
  error = done.stderr.strip()
  assert error.startswith('error: ') and len(error.splitlines()) == 1, error
  assert 'Traceback' not in done.stderr
  for word in words:
    assert word in error, (word, error)


def test_unwritable_checkpoint_dir_is_a_clear_error(tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('not a directory')
  done = subprocess.run([sys.executable, MAIN, f'--checkpoint_dir={blocker}/run'],
                        capture_output=True, text=True, cwd=os.path.dirname(MAIN), timeout=120)
  assert done.returncode == 1
  # The last line is ours; lines before it are TensorFlow's C++ start-up log.
  assert done.stderr.strip().splitlines()[-1].startswith('error: checkpoint directory')
  assert 'Traceback' not in done.stderr


def test_sigint_saves_and_exits_cleanly(tmp_path):
  returncode, output = interrupt_when_training(
      [sys.executable, MAIN, *TINY, '--max_steps=100000', '--save_vis_interval=0',
       f'--checkpoint_dir={tmp_path}'], cwd=os.path.dirname(MAIN))
  assert returncode == 0, output
  assert 'Interrupted at step' in output and 'Traceback' not in output
  step = int(output.split('Interrupted at step ')[1].split(';')[0])
  assert os.path.exists(os.path.join(tmp_path, f'ckpt-{step}.index'))
