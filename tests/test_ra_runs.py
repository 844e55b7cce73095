"""recurrent_attention end to end: the same command gives the same run, a run resumed
inside an epoch equals an uninterrupted one, visualisation does not change
training, results.jsonl never holds a step twice."""
import json
import os

import pytest
from run_testing import assert_same_checkpoint, loss_lines

from recurrent_attention import main as ra_main

TINY = ['--num_train=192', '--num_test=64', '--batch_size=32', '--prog_freq=2',
        '--save_vis_interval=0', '--num_vis=1', '--core_hidden=16', '--glimpse_out=16',
        '--glimpse_hidden=8', '--loc_hidden=8', '--num_glimpses=3']
TINY_CATCH = ['--experiment=catch', '--image_size=10', '--glimpse_size=2', '--batch_size=4',
              '--episodes_per_epoch=4', '--prog_freq=2', '--save_vis_interval=0', '--num_vis=1',
              '--core_hidden=8', '--glimpse_out=8', '--glimpse_hidden=4', '--loc_hidden=4']


def run(directory, *flags):
  return ra_main.main(['main.py', *flags, f'--checkpoint_dir={directory}'])


def results(directory):
  with open(os.path.join(directory, 'results.jsonl')) as handle:
    records = [json.loads(line) for line in handle]
  for record in records:  # timings differ between runs
    for key in ('wall_time', 'eval_images_per_sec'):
      record.pop(key, None)
  return records


@pytest.fixture(scope='module')
def straight(tmp_path_factory):
  """15 steps (2.5 epochs of 6 batches) without a stop."""
  directory = str(tmp_path_factory.mktemp('straight'))
  assert run(directory, *TINY, '--max_steps=15') == 0
  return directory


def test_same_command_gives_the_same_run(straight, tmp_path):
  assert run(tmp_path, *TINY, '--max_steps=15') == 0
  assert_same_checkpoint(os.path.join(straight, 'ckpt-15'), os.path.join(tmp_path, 'ckpt-15'))
  assert results(straight) == results(str(tmp_path))
  assert loss_lines(straight) == loss_lines(str(tmp_path)) and loss_lines(straight)


def test_resumed_inside_an_epoch_equals_uninterrupted(straight, tmp_path):
  assert run(tmp_path, *TINY, '--max_steps=8') == 0  # stops in epoch 2
  assert run(tmp_path, *TINY, '--max_steps=15') == 0
  assert_same_checkpoint(os.path.join(straight, 'ckpt-15'), os.path.join(tmp_path, 'ckpt-15'))
  resumed = results(str(tmp_path))
  assert [(r['epoch'], r['step']) for r in resumed] == [(1, 6), (2, 8), (2, 12), (3, 15)]
  # The epochs that ran whole in both runs have the same training and test figures,
  # and the progress lines after the resume are the uninterrupted run's.
  assert [r for r in resumed if r['step'] in (12, 15)] == [r for r in results(straight)
                                                            if r['step'] in (12, 15)]
  after = lambda d: [l for l in loss_lines(d) if any(f'Step {s}/15' in l for s in (10, 12, 14))]
  assert after(str(tmp_path)) == after(straight) and len(after(straight)) == 3
  assert 'last_test_accuracy' in after(straight)[-1]


def test_visualisation_interval_does_not_change_training(straight, tmp_path):
  assert run(tmp_path, *[f for f in TINY if 'save_vis' not in f], '--save_vis_interval=2',
             '--max_steps=15') == 0
  assert os.path.isdir(os.path.join(tmp_path, '00000002'))
  assert_same_checkpoint(os.path.join(straight, 'ckpt-15'), os.path.join(tmp_path, 'ckpt-15'))
  assert results(straight) == results(str(tmp_path))


def test_results_after_a_lost_save_are_set_aside(tmp_path):
  assert run(tmp_path, *TINY, '--max_steps=6') == 0
  with open(os.path.join(tmp_path, 'results.jsonl'), 'a') as handle:  # as if killed after
    handle.write(json.dumps({'epoch': 2, 'step': 12}) + '\n{"epoch": 3, "st')  # writing it
  assert run(tmp_path, *TINY, '--max_steps=12') == 0
  assert [(r['epoch'], r['step']) for r in results(str(tmp_path))] == [(1, 6), (2, 12)]
  assert os.path.exists(os.path.join(tmp_path, 'results.superseded.jsonl'))


def test_catch_visualisation_does_not_change_training(tmp_path):
  plain, drawn = str(tmp_path / 'plain'), str(tmp_path / 'drawn')
  assert run(plain, *TINY_CATCH, '--max_steps=6') == 0
  assert run(drawn, *[f for f in TINY_CATCH if 'save_vis' not in f], '--save_vis_interval=2',
             '--max_steps=6') == 0
  assert_same_checkpoint(os.path.join(plain, 'ckpt-6'), os.path.join(drawn, 'ckpt-6'))
  gifs = [f for f in os.listdir(os.path.join(drawn, '00000004')) if f.endswith('.gif')]
  assert len(gifs) == 1
  resumed = str(tmp_path / 'resumed')
  assert run(resumed, *TINY_CATCH, '--max_steps=3') == 0  # stops inside epoch 1
  assert run(resumed, *TINY_CATCH, '--max_steps=6') == 0
  assert_same_checkpoint(os.path.join(plain, 'ckpt-6'), os.path.join(resumed, 'ckpt-6'))
  assert results(plain) == [r for r in results(resumed) if r['step'] != 3]


def test_catch_gif_frames_have_a_title(tmp_path):
  import numpy as np
  from PIL import Image
  from recurrent_attention import visualize
  assert visualize.frame_title(2, 23, 7000, True) == 'step 7000 | frame 3/23 | caught'
  assert visualize.frame_title(0, 9, None, False) == 'frame 1/9 | missed'
  frames = np.zeros((3, 10, 10))
  path = visualize.catch_animation(frames, np.zeros((3, 2)), str(tmp_path / 'e.gif'), 2, 2,
                                   step=5, caught=False)
  with Image.open(path) as gif:
    shown = []
    for index in range(gif.n_frames):
      gif.seek(index)
      shown.append(np.array(gif.convert('L')))
  assert shown[0].shape[0] > 100  # a title strip above the 10 x 10 px board
  board_rows = 100
  titles = [frame[:frame.shape[0] - board_rows] for frame in shown]
  assert all((t < 128).any() for t in titles)  # text on each title strip
  assert not np.array_equal(titles[0], titles[1])  # the frame counter moves
  assert all(np.array_equal(f[-board_rows:], shown[0][-board_rows:]) for f in shown)


def test_damaged_mnist_on_disk_is_named(tmp_path, mnist_dir, capsys):
  import gzip
  import shutil
  damaged = tmp_path / 'mnist'
  shutil.copytree(mnist_dir, damaged)
  name = 'train-labels-idx1-ubyte.gz'
  with gzip.open(damaged / name, 'rb') as handle:
    raw = handle.read()
  with gzip.open(damaged / name, 'wb') as handle:
    handle.write(raw[:-5])  # five labels short of what the header says
  assert run(tmp_path / 'run', *TINY, '--max_steps=1', f'--mnist_dir={damaged}') == 1
  error = capsys.readouterr().err.strip()
  assert error.startswith('error: ') and name in error and len(error.splitlines()) == 1
