"""common.config: constants.py -> typed flags, constraints, templates."""
import types

import pytest

from common import config


def make_constants(**extra):
  module = types.ModuleType('constants')
  module.MAX_STEPS = 100
  module.LR = 1e-4
  module.VISUALIZE = True
  module.MODE = 'train'
  module.NAME = 'run'
  module.CHECKPOINT_DIR = 'checkpoints/{NAME}_{MAX_STEPS}'
  module.TABLE = [('a', 1)]
  module.CONSTRAINTS = {'MODE': ('train', 'test'), 'MAX_STEPS': (0, None), 'LR': (0.0, 1.0)}
  for name, value in extra.items():
    setattr(module, name, value)
  return module


def test_defaults_and_templates():
  args = config.parse(make_constants(), ['prog'])
  assert (args.MAX_STEPS, args.LR, args.VISUALIZE, args.MODE) == (100, 1e-4, True, 'train')
  assert args.CHECKPOINT_DIR == 'checkpoints/run_100'
  assert args.TABLE == [('a', 1)]  # non-scalar constants pass through unchanged


def test_overrides_are_typed_from_defaults():
  args = config.parse(make_constants(), ['prog', '--max_steps=7', '--lr=0.5', '--novisualize',
                                         '--mode=test', '--name=x'])
  assert args.MAX_STEPS == 7 and isinstance(args.MAX_STEPS, int)
  assert args.LR == 0.5 and args.VISUALIZE is False and args.MODE == 'test'
  assert args.CHECKPOINT_DIR == 'checkpoints/x_7'  # templates see the overrides


def test_explicit_template_override_is_kept():
  args = config.parse(make_constants(), ['prog', '--checkpoint_dir=/tmp/d'])
  assert args.CHECKPOINT_DIR == '/tmp/d'


@pytest.mark.parametrize('argv, words', [
    (['--no_such_flag=1'], ['no_such_flag']),
    (['--max_steps=abc'], ['max_steps', 'abc']),
    (['--max_steps=-5'], ['max_steps', '-5', '>= 0']),
    (['--lr=2.0'], ['lr', 'between 0.0 and 1.0']),
    (['--mode=fly'], ['fly', 'train, test']),
    (['stray'], ['positional']),
    (['--checkpoint_dir={NOPE}'], ['checkpoint_dir', 'NOPE']),
])
def test_bad_input_is_one_line_config_error(argv, words):
  with pytest.raises(config.ConfigError) as error:
    config.parse(make_constants(), ['prog'] + argv)
  message = str(error.value)
  assert '\n' not in message
  for word in words:
    assert word in message


def test_parse_or_exit_prints_and_exits(capsys):
  with pytest.raises(SystemExit) as exit_info:
    config.parse_or_exit(make_constants(), ['prog', '--mode=fly'])
  assert exit_info.value.code == 2
  assert capsys.readouterr().err.startswith('error: --mode=')


def test_as_dict_selects_scalars():
  args = config.parse(make_constants(), ['prog'])
  assert config.as_dict(args, ('MAX_STEPS', 'TABLE')) == {'MAX_STEPS': 100}
  assert 'LR' in config.as_dict(args)


def test_every_subproject_constants_module_parses():
  from ntm_dnc import constants
  args = config.parse(constants, ['prog'])
  for name in ('CHECKPOINT_DIR', 'SAVE_VIS_INTERVAL', 'MAX_STEPS', 'SEED', 'MODE'):
    assert hasattr(args, name)
  assert args.CHECKPOINT_DIR == 'checkpoints/daim_17080800'
  from recurrent_attention import constants as ra_constants
  args = config.parse(ra_constants, ['prog'])
  for name in ('CHECKPOINT_DIR', 'SAVE_VIS_INTERVAL', 'MAX_STEPS', 'SEED', 'MODE'):
    assert hasattr(args, name)


@pytest.mark.parametrize('argv, expected', [
    # The spec's section 5 table, per experiment.
    (['prog'], dict(IMAGE_SIZE=28, GLIMPSE_SIZE=8, NUM_SCALES=1, NUM_GLIMPSES=7, LR=1e-3,
                    LR_DECAY=0.95, EPOCHS=100, BATCH_SIZE=128, GAMMA=1.0, BASELINE_INIT=0.1,
                    STD=0.25, CHECKPOINT_DIR='checkpoints/centered_7glimpses')),
    (['prog', '--experiment=translated', '--num_glimpses=6'],
     dict(IMAGE_SIZE=60, GLIMPSE_SIZE=12, NUM_SCALES=3, NUM_GLIMPSES=6, LR=1e-4, LR_DECAY=0.975,
          EPOCHS=200, CHECKPOINT_DIR='checkpoints/translated_6glimpses')),
    (['prog', '--experiment=cluttered'], dict(IMAGE_SIZE=60, NUM_GLIMPSES=4, NUM_CLUTTER=4,
                                              CLUTTER_SIZE=8)),
    (['prog', '--experiment=catch'], dict(IMAGE_SIZE=24, GLIMPSE_SIZE=6, NUM_SCALES=3,
                                          NUM_GLIMPSES=23, GAMMA=0.0, BATCH_SIZE=64, LR=1e-4,
                                          LR_DECAY=0.99, LR_MIN=1e-7, EPOCHS=700)),
    (['prog', '--experiment=catch', '--gamma=1', '--lr=0.01'], dict(GAMMA=1.0, LR=0.01)),
])
def test_recurrent_attention_experiment_defaults(argv, expected):
  from recurrent_attention import constants as ra_constants
  args = config.parse(ra_constants, argv)
  for name, value in expected.items():
    assert getattr(args, name) == pytest.approx(value) if isinstance(value, float) else \
        getattr(args, name) == value, name


def test_derive_defaults_hook_runs_before_templates():
  def derive(values):
    if values['MAX_STEPS'] == 0:
      values['MAX_STEPS'] = 7
    if values['LR'] > 0.5:
      raise config.ConfigError('--lr too large for this MODE')
  module = make_constants(derive_defaults=derive)
  assert config.parse(module, ['prog', '--max_steps=0']).CHECKPOINT_DIR == 'checkpoints/run_7'
  with pytest.raises(config.ConfigError, match='too large'):
    config.parse(module, ['prog', '--lr=0.9'])


def test_help_lists_flags_and_exits_zero(capsys):
  with pytest.raises(SystemExit) as exit_info:
    config.parse(make_constants(), ['prog', '--helpfull'])
  assert exit_info.value.code == 0
  out = capsys.readouterr().out
  assert '--max_steps=100' in out and "allowed: ('train', 'test')" in out


def test_set_intra_op_threads_is_safe_after_tensorflow_started():
  import tensorflow as tf
  tf.constant(1.0) + 1.0  # TF has started: the thread count can no longer change
  before = tf.config.threading.get_intra_op_parallelism_threads()
  config.set_intra_op_threads(0)  # 0 keeps TF's setting
  config.set_intra_op_threads(before + 3)  # too late: ignored, no error
  assert tf.config.threading.get_intra_op_parallelism_threads() == before
