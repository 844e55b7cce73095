"""multigrid_memory/mapping_localization end to end at tiny sizes (a 7 x 7 world: 25-step
episodes in chunks of 4 + 1 steps): a run prints the parameter count, logs loss and
localisation quality, writes checkpoints, frames and animations; one trace per chunk
length; resumed equals uninterrupted, mid-episode, after a lost checkpoint too; test
mode; divergence; bad input ends with one line."""
import glob
import os

import numpy as np
import pytest
from run_testing import assert_same_checkpoint, checkpoint_tensors

from multigrid_memory.mapping_localization import main as mapping_main

TINY = ['--batch_size=2', '--local_t_max=4', '--map_size=7', '--generic_map_size=14',
        '--save_interval=8']


def run(directory, *flags):
  return mapping_main.main(['main.py', *TINY, *flags, f'--checkpoint_dir={directory}'])


def read_log(directory):
  with open(os.path.join(directory, 'log.txt')) as handle:
    return handle.read()


@pytest.fixture(scope='module')
def straight(tmp_path_factory):
  directory = str(tmp_path_factory.mktemp('mapping'))
  assert run(directory, '--max_time_step=24', '--log_interval=24', '--eval_batch_size=1',
             '--save_vis_interval=16', '--vis_steps=3', '--num_vis_envs=2') == 0
  return directory


def test_run_logs_checkpoints_frames_and_traces(straight):
  from PIL import Image
  log = read_log(straight)
  assert 'NUMBER OF PARAMETERS = 650225' in log
  assert 'Step 0: loss = ' in log and 'Step 24: loss = ' in log
  assert 'precision' in log and 'top-1' in log and 'fresh episode (1 mazes)' in log
  assert 'traced 2 time(s)' in log                      # chunks of 4 steps, then 1
  for step in (8, 16, 24, 25):
    assert os.path.exists(os.path.join(straight, f'ckpt-{step}.index'))
  tensors = checkpoint_tensors(os.path.join(straight, 'ckpt-8'))
  memory = [k for k in tensors if k.startswith('memory/')]
  assert len(memory) == 46 and all(np.abs(tensors[k]).sum() > 0 for k in memory)  # mid-episode
  folder = os.path.join(straight, '00000016')
  assert sorted(os.listdir(folder)) == ['00.gif', '00_0000.png', '00_0001.png', '00_0002.png',
                                        '01.gif', '01_0000.png', '01_0001.png', '01_0002.png']
  with Image.open(os.path.join(folder, '01.gif')) as gif:
    assert gif.n_frames == 3


def test_resumed_run_equals_uninterrupted_also_after_a_lost_checkpoint(straight, tmp_path):
  assert run(tmp_path, '--max_time_step=8', '--eval_batch_size=0') == 0   # stops at 12
  assert run(tmp_path, '--max_time_step=24', '--eval_batch_size=0') == 0
  log = read_log(tmp_path)
  assert 'Resumed at time step 12' in log and 'continuing with episode 1 at its step 12' in log
  assert_same_checkpoint(os.path.join(straight, 'ckpt-25'), os.path.join(tmp_path, 'ckpt-25'),
                         ignore=('run_config',))
  for path in glob.glob(os.path.join(tmp_path, 'ckpt-2[045].*')):   # as kill -9 would lose them
    os.remove(path)
  assert run(tmp_path, '--max_time_step=24', '--eval_batch_size=0') == 0
  assert read_log(tmp_path).count('Resumed at time step 12') == 2   # from ckpt-12 again
  assert_same_checkpoint(os.path.join(straight, 'ckpt-25'), os.path.join(tmp_path, 'ckpt-25'),
                         ignore=('run_config',))


def test_test_mode(straight):
  flags = [*TINY, '--mode=test', '--vis_steps=2', '--num_vis_envs=1', '--vis_uint8_wrap',
           '--eval_batch_size=1']
  flags.remove('--save_interval=8')
  assert mapping_main.main(['main.py', *flags, f'--checkpoint_dir={straight}']) == 0
  assert 'Test at time step 25: one fresh episode' in read_log(straight)
  assert sorted(os.listdir(os.path.join(straight, 'test_00000025'))) == [
      '00.gif', '00_0000.png', '00_0001.png']


def test_divergence_stops_without_saving_the_diverged_weights(tmp_path, capsys):
  code = run(tmp_path, '--max_time_step=20', '--initial_alpha=1e30', '--end_alpha=1e30',
             '--grad_norm_clip=1e30', '--eval_batch_size=0', '--log_interval=4')
  err = capsys.readouterr().err.strip()
  assert code == 1 and len(err.splitlines()) == 1 and 'became' in err and 'kept' in err, err
  for index in glob.glob(os.path.join(tmp_path, 'ckpt-*.index')):
    tensors = checkpoint_tensors(index[:-len('.index')])
    assert all(np.isfinite(v).all() for k, v in tensors.items() if k.startswith('model/'))


@pytest.mark.parametrize('flags, message', [
    (['--input_size=5'], '--input_size=5'),
    (['--map_size=8'], '--map_size=8: use an odd size'),
    (['--map_size=41', '--generic_map_size=82'], 'the output map is 48 x 48'),
    (['--grids=3', '--map_size=9', '--generic_map_size=18'],
     'the output map is 12 x 12 (--grids=3) and the display map 18 x 18; use --map_size <= 7'),
    (['--grids=2'], '--grids=2'),
    (['--local_t_max=0'], '--local_t_max=0'),
    (['--distribute=ring'], "--distribute='ring'"),
])
def test_bad_settings_end_with_one_line(tmp_path, capsys, flags, message):
  with pytest.raises(SystemExit):
    run(tmp_path, *flags)
  err = capsys.readouterr().err.strip()
  assert len(err.splitlines()) == 1 and message in err, err


def test_an_incompatible_checkpoint_is_refused(straight, capsys):
  code = run(straight, '--max_time_step=30', '--map_size=9', '--generic_map_size=18')
  err = capsys.readouterr().err.strip()
  assert code == 1 and len(err.splitlines()) == 1 and 'map_size' in err.lower(), err


def test_chance_top1_of_a_random_visited_cell():
  from multigrid_memory.mapping_localization.trainer import chance_top1
  # Two mazes, steps 3 and 4 of an episode of 5 (time-major rows).
  targets = np.zeros((4, 9))
  targets[0, :2] = targets[1, :1] = targets[2, :3] = targets[3, :5] = 1
  # With the leak: 5 visited cells at step 3, then 5 (the capped last step).
  assert chance_top1(targets, 3, 2, True, 5) == pytest.approx(2 / 5 + 1 / 5 + 3 / 5 + 5 / 5)
  assert chance_top1(targets, 3, 2, False, 5) == pytest.approx(2 / 4 + 1 / 4 + 3 / 5 + 5 / 5)


def test_reduced_model_on_three_grids(tmp_path):
  assert run(tmp_path, '--grids=3', '--max_time_step=8', '--log_interval=4',
             '--eval_batch_size=2', '--save_vis_interval=8', '--vis_steps=2',
             '--num_vis_envs=1') == 0
  log = read_log(tmp_path)
  assert 'NUMBER OF PARAMETERS = 481681' in log and 'a random visited cell: ' in log
  assert sorted(os.listdir(os.path.join(tmp_path, '00000008'))) == ['00.gif', '00_0000.png',
                                                                    '00_0001.png']
  flags = [*TINY, '--grids=3', '--mode=test', '--eval_batch_size=1', '--num_vis_envs=1',
           '--vis_steps=1']
  flags.remove('--save_interval=8')
  assert mapping_main.main(['main.py', *flags, f'--checkpoint_dir={tmp_path}']) == 0
  assert 'Test at time step 12' in read_log(tmp_path)
  assert 'a random visited cell: ' in read_log(tmp_path).splitlines()[-1]
