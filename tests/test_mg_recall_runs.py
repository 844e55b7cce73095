"""multigrid_memory/mnist_recall end to end at tiny sizes: a run prints the parameter
count, logs loss and accuracy and writes checkpoints; resumed equals uninterrupted
(after a lost checkpoint too); the quirk switches; test mode; figures and memory
panels; divergence; bad input ends with one line."""
import glob
import os

import pytest
from run_testing import assert_same_checkpoint

from multigrid_memory.mnist_recall import main as recall_main

TINY = ['--batch_size=2', '--local_t_max=3', '--log_interval=6', '--save_model_interval=6',
        '--test_batches=1']


def run(directory, *flags):
  return recall_main.main(['main.py', *TINY, *flags, f'--checkpoint_dir={directory}'])


def read_log(directory):
  with open(os.path.join(directory, 'log.txt')) as handle:
    return handle.read()


@pytest.fixture(scope='module')
def straight(tmp_path_factory):
  directory = str(tmp_path_factory.mktemp('recall'))
  assert run(directory, '--max_time_step=12') == 0
  return directory


def test_run_logs_and_checkpoints(straight, capfd):
  log = read_log(straight)
  assert 'Step 0: loss = ' in log and 'Step 6: loss = ' in log and 'recall accuracy' in log
  for step in (6, 12, 15):
    assert os.path.exists(os.path.join(straight, f'ckpt-{step}.index'))


def test_parameter_count_is_printed(tmp_path, capfd):
  assert run(tmp_path, '--max_time_step=0') == 0
  assert 'NUMBER OF PARAMETERS = 211408' in capfd.readouterr().out


def test_resumed_run_equals_uninterrupted(straight, tmp_path):
  assert run(tmp_path, '--max_time_step=6') == 0        # stops at time step 9
  assert run(tmp_path, '--max_time_step=12') == 0
  assert 'Resumed at time step 9' in read_log(tmp_path)
  # The weights, the optimiser's slots and the step; the test stream's position depends
  # on when the logs fell, and the recorded settings differ on purpose.
  assert_same_checkpoint(os.path.join(straight, 'ckpt-15'), os.path.join(tmp_path, 'ckpt-15'),
                         ignore=('run_config', 'streams'))


def test_test_mode(straight):
  flags = ['--batch_size=2', '--local_t_max=3', '--test_batches=1', '--mode=test']
  assert recall_main.main(['main.py', *flags, f'--checkpoint_dir={straight}']) == 0
  assert 'Test at time step 15: recall accuracy' in read_log(straight)


@pytest.mark.parametrize('flags, message', [
    (['--batch_size=0'], '--batch_size=0'),
    (['--local_t_max=1'], '--local_t_max=1'),
    (['--input_size=32'], '--input_size=32'),
])
def test_bad_settings_end_with_one_line(tmp_path, capsys, flags, message):
  with pytest.raises(SystemExit):
    run(tmp_path, *flags)
  err = capsys.readouterr().err.strip()
  assert len(err.splitlines()) == 1 and message in err, err


def test_missing_mnist_ends_with_one_line(tmp_path, capsys):
  missing = tmp_path / 'nothing'
  missing.mkdir()
  code = run(tmp_path / 'ckpt', f'--mnist_dir={missing}', '--download_mnist=false')
  err = capsys.readouterr().err.strip()
  assert code == 1 and len(err.splitlines()) == 1 and 'nothing' in err, err


def test_figures_in_training_and_test_mode(tmp_path):
  import cv2
  assert run(tmp_path, '--max_time_step=6', '--save_vis_interval=3', '--num_vis=2') == 0
  folders = sorted(d for d in os.listdir(tmp_path) if d.isdigit())
  assert folders == ['00000003', '00000006']
  image = cv2.imread(os.path.join(tmp_path, '00000003', '00_01.png'))
  assert image.shape == (610, 33 * 2 * 10 + 280, 3)     # T = 3 digits in a row, x10
  memory = sorted(f for f in os.listdir(os.path.join(tmp_path, '00000003')) if 'memory' in f)
  assert memory == [f'memory_{i:02d}{end}' for i in (0, 1)
                    for end in ('.gif', '_t00.png', '_t01.png', '_t02.png')]
  from PIL import Image
  with Image.open(os.path.join(tmp_path, '00000003', 'memory_01.gif')) as gif:
    assert gif.n_frames == 3
  flags = ['--batch_size=2', '--local_t_max=3', '--test_batches=1', '--mode=test', '--num_vis=1',
           '--vis_uint8_wrap']
  assert recall_main.main(['main.py', *flags, f'--checkpoint_dir={tmp_path}']) == 0
  assert sorted(os.listdir(os.path.join(tmp_path, 'test_00000009'))) == [
      '00_00.png', 'memory_00.gif', 'memory_00_t00.png', 'memory_00_t01.png', 'memory_00_t02.png']


def test_memory_panel_scales_and_the_original_wrap():
  import numpy as np
  from common import visualize
  from multigrid_memory import lstm_panel
  rng = np.random.default_rng(0)
  trace = {'W1_0/c': rng.normal(size=(2, 1, 3, 3, 4)) * 3, 'W1_0/h': rng.normal(size=(2, 1, 3, 3, 4))}
  statistics = lstm_panel.channel_statistics(trace, ['W1_0'], 0)
  np.testing.assert_allclose(statistics['W1_0'][1, 1], trace['W1_0/c'][1, 0].var(-1))
  scales = lstm_panel.scales(statistics)
  assert scales[0] == (statistics['W1_0'][:, 0].min(), statistics['W1_0'][:, 0].max())
  grey = visualize.wrapped_grey_tile(np.array([[-1.0, 0.0], [1.0, 2.0]]), 2)[..., 0]
  assert grey.tolist() == [[0, 127], [255, 126]]          # 2 -> 382.5 -> 382 mod 256
  image = lstm_panel.panel(statistics, [['W1_0']], ['W1'], 1, scales)
  assert image.ndim == 3 and image.shape[1] > 4 * 84


def test_a_lost_checkpoint_resumes_from_the_one_before(straight, tmp_path):
  """kill -9 before a save loses at most that save interval: the run resumes from
  the previous checkpoint and ends where an uninterrupted one does."""
  assert run(tmp_path, '--max_time_step=12') == 0
  for path in glob.glob(os.path.join(tmp_path, 'ckpt-1[25].*')):
    os.remove(path)
  os.remove(os.path.join(tmp_path, 'checkpoint'))
  assert run(tmp_path, '--max_time_step=12') == 0
  assert 'Resumed at time step 6' in read_log(tmp_path)
  assert_same_checkpoint(os.path.join(straight, 'ckpt-15'), os.path.join(tmp_path, 'ckpt-15'),
                         ignore=('run_config', 'streams'))


def test_restart_rmsprop_on_resume_is_the_original_resume(straight, tmp_path):
  assert run(tmp_path, '--max_time_step=6') == 0
  assert run(tmp_path, '--max_time_step=12', '--restart_rmsprop_on_resume') == 0
  assert 'RMSProp starts again (ms = 1)' in read_log(tmp_path)
  import numpy as np
  from run_testing import checkpoint_tensors
  ours = checkpoint_tensors(os.path.join(tmp_path, 'ckpt-15'))
  theirs = checkpoint_tensors(os.path.join(straight, 'ckpt-15'))
  weights = [k for k in ours if k.startswith('model/') and 'kernel' in k]
  assert weights and any(not np.array_equal(ours[k], theirs[k]) for k in weights)


def test_shuffle_first_epoch_and_moving_statistics_switches(tmp_path):
  assert run(tmp_path, '--max_time_step=3', '--shuffle_first_epoch', '--bn_moving_stats') == 0
  from run_testing import checkpoint_tensors
  names = checkpoint_tensors(os.path.join(tmp_path, 'ckpt-6'))
  assert any(k.startswith('model/moving/') for k in names)
  # A checkpoint of another data stream or model is refused with one line.
  code = run(tmp_path, '--max_time_step=6')
  assert code == 1


def test_divergence_stops_without_saving_the_diverged_weights(tmp_path, capsys):
  code = run(tmp_path, '--max_time_step=12', '--initial_alpha=1e30', '--end_alpha=1e30')
  err = capsys.readouterr().err.strip()
  assert code == 1 and len(err.splitlines()) == 1 and 'became' in err and 'kept' in err, err
  import numpy as np
  from run_testing import checkpoint_tensors
  for index in glob.glob(os.path.join(tmp_path, 'ckpt-*.index')):
    tensors = checkpoint_tensors(index[:-len('.index')])
    assert all(np.isfinite(v).all() for k, v in tensors.items() if k.startswith('model/'))


def test_recall_figure_layout():
  import numpy as np
  from multigrid_memory.mnist_recall.visualize import recall_figure
  digits = np.zeros((10, 28, 28))
  digits[3] = 255
  right = recall_figure(digits, 3, predicted=9, target=9)
  assert right.shape == (610, 3250, 3)
  assert (right[:280, 990:1270] == 255).all()             # digit 3 on the top row at x = 33 * 3
  assert (right[330:610, 990:1270] == 255).all()          # and as the query below it
  text = right[300:600, 1320:1700]
  green = (text[..., 1] == 255) & (text[..., 2] == 0)
  wrong = recall_figure(digits, 3, predicted=4, target=9)[300:600, 1320:1700]
  red = (wrong[..., 2] == 255) & (wrong[..., 1] == 0)
  assert green.sum() > 100 and red.sum() > 100
