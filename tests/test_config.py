"""common.config: constants.py -> typed flags, constraints, templates, settings that
must agree, the memory check and the help."""
import fcntl
import importlib.util
import math
import os
import subprocess
import sys
import types

import pytest

from common import config
from dnd_lstm import constants as dnd_constants
from multigrid_memory.mapping_localization import constants as mapping_constants
from multigrid_memory.mnist_recall import constants as recall_constants
from ntm_dnc import constants as ntm_constants
from recurrent_attention import constants as ra_constants

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GIB = 2 ** 30
SUBPROJECTS = [ntm_constants, ra_constants, dnd_constants, recall_constants, mapping_constants]


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
  assert args.CHECKPOINT_DIR == 'checkpoints/daim_17080800_config1'
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
  assert '--max_steps=100  (int; 0 to 2147483647)' in out
  assert "--mode='train'  (str; one of: train, test)" in out


def test_set_intra_op_threads_is_safe_after_tensorflow_started():
  import tensorflow as tf
  tf.constant(1.0) + 1.0  # TF has started: the thread count can no longer change
  before = tf.config.threading.get_intra_op_parallelism_threads()
  config.set_intra_op_threads(0)  # 0 keeps TF's setting
  config.set_intra_op_threads(before + 3)  # too late: ignored, no error
  assert tf.config.threading.get_intra_op_parallelism_threads() == before


# -- non-finite floats -------------------------------------------------------------------------
@pytest.mark.parametrize('text', ['nan', 'inf', '-inf', 'NaN'])
def test_non_finite_floats_are_rejected(text):
  module = make_constants(RATIO=2.0)  # RATIO: no range, still checked
  for flag in ('lr', 'ratio'):
    with pytest.raises(config.ConfigError) as error:
      config.parse(module, ['prog', f'--{flag}={text}'])
    message = str(error.value)
    assert message.startswith(f'--{flag}=') and 'is not a finite number; give a finite value' \
        in message and '\n' not in message


def test_allow_nonfinite_lets_the_listed_floats_through():
  module = make_constants(RATIO=2.0, ALLOW_NONFINITE=('LR', 'RATIO'))
  assert math.isnan(config.parse(module, ['prog', '--lr=nan']).LR)  # nan: a marker, no order
  assert config.parse(module, ['prog', '--ratio=inf']).RATIO == math.inf
  with pytest.raises(config.ConfigError, match='between 0.0 and 1.0'):
    config.parse(module, ['prog', '--lr=inf'])  # its range still applies
  with pytest.raises(config.ConfigError, match='not a finite'):
    config.parse(make_constants(RATIO=2.0, ALLOW_NONFINITE=('RATIO',)), ['prog', '--lr=nan'])


def test_range_check_rejects_nan():
  for allowed in ((0.0, 1.0), (0.0, None), (None, 1.0)):
    with pytest.raises(config.ConfigError, match='out of range'):
      config.check_constraints({'LR': math.nan}, {'LR': allowed})


@pytest.mark.parametrize('module', SUBPROJECTS, ids=lambda m: m.__name__)
def test_subprojects_reject_nan_and_inf(module):
  rate = next(name.lower() for name in ('LEARNING_RATE', 'INITIAL_ALPHA', 'LR')
              if hasattr(module, name))
  for flag in (f'--{rate}=nan', f'--{rate}=inf', f'--{rate}=-inf'):
    with pytest.raises(config.ConfigError, match='not a finite number'):
      config.parse(module, ['prog', flag])


# -- ranges --------------------------------------------------------------------------------------
@pytest.mark.parametrize('module', SUBPROJECTS, ids=lambda m: m.__name__)
def test_every_numeric_constant_has_a_range(module):
  """A new int or float constant without a CONSTRAINTS range fails here."""
  constraints = module.CONSTRAINTS
  numeric = [name for name, value in vars(module).items()
             if name.isupper() and not name.startswith('_') and isinstance(value, (int, float))
             and not isinstance(value, bool)]
  assert 'SEED' in numeric and len(numeric) > 10
  missing = [name for name in numeric if name not in constraints]
  assert not missing, f'no range in CONSTRAINTS for {missing}'
  for name in numeric:
    low, high = constraints[name]
    assert all(bound is None or isinstance(bound, (int, float)) for bound in (low, high)), name
    config.check_constraints({name: getattr(module, name)}, {name: (low, high)})  # default fits


@pytest.mark.parametrize('module', SUBPROJECTS, ids=lambda m: m.__name__)
def test_seed_is_within_numpys_legacy_range(module):
  for seed in (-1, 2 ** 32, 99999999999):
    with pytest.raises(config.ConfigError) as error:
      config.parse(module, ['prog', f'--seed={seed}'])
    assert f'--seed={seed}' in str(error.value) and '4294967295' in str(error.value)
  assert config.parse(module, ['prog', f'--seed={2 ** 32 - 1}']).SEED == 2 ** 32 - 1


def test_open_int_ranges_and_unconstrained_ints_are_capped():
  module = make_constants(COUNT=3)  # COUNT has no range at all
  for flag in ('--max_steps', '--count'):
    with pytest.raises(config.ConfigError) as error:
      config.parse(module, ['prog', f'{flag}=99999999999'])
    assert f'{flag}=99999999999' in str(error.value) and str(config.INT_CAP) in str(error.value)
    assert config.parse(module, ['prog', f'{flag}={config.INT_CAP}'])
  with pytest.raises(config.ConfigError, match='out of range'):
    config.parse(module, ['prog', f'--count={-config.INT_CAP - 2}'])
  # An explicit high beyond the cap wins (SEED's 2**32 - 1).
  config.check_constraints({'SEED': 2 ** 32 - 1}, {'SEED': (0, 2 ** 32 - 1)})


# -- settings that must agree ----------------------------------------------------------------------
def test_at_most_is_checked_after_derive_defaults():
  def derive(values):
    if values['HIGH'] == 0:
      values['HIGH'] = 5  # "0 = the default", as the subprojects' constants
  module = make_constants(LOW=1, HIGH=0, derive_defaults=derive,
                          AT_MOST=(('LOW', 'HIGH', 'a range'),))
  assert config.parse(module, ['prog', '--low=3']).HIGH == 5  # 3 <= 5 once HIGH is filled in
  with pytest.raises(config.ConfigError) as error:
    config.parse(module, ['prog', '--low=7'])
  assert str(error.value) == '--low=7 must be at most --high=5 (a range)'
  assert config.parse(module, ['prog', '--high=2', '--low=2']).LOW == 2  # equal is fine
  with pytest.raises(config.ConfigError, match='--low=3 must be at most --high=2$'):
    config.check_at_most({'LOW': 3, 'HIGH': 2}, [('LOW', 'HIGH')])  # no reason: none shown


@pytest.mark.parametrize('module, argv, words', [
    (ntm_constants, ['--config=1', '--min_num_words=7', '--max_num_words=5'],
     ['--min_num_words=7 must be at most --max_num_words=5']),
    (ntm_constants, ['--config=1', '--min_num_words=12'],  # copy's default max is 10
     ['--min_num_words=12 must be at most --max_num_words=10']),
    (ntm_constants, ['--config=2', '--min_num_words=3'], ['--max_num_words=2']),
    (ntm_constants, ['--config=2', '--min_repeats=3'],
     ['--min_repeats=3 must be at most --max_repeats=2']),
    (ra_constants, ['--lr_min=0.01'],
     ['--lr_min=0.01 must be at most --lr=0.001 (the floor of the learning-rate schedule)']),
    (ra_constants, ['--experiment=catch', '--lr=1e-8'], ['--lr_min=1e-07', '--lr=1e-08']),
    (ra_constants, ['--experiment=catch', '--num_test=100'],
     ['--num_test=100', '--batch_size=64', 'multiple of 64']),
    (ra_constants, ['--num_test=2'], ['--num_vis=4 must be at most --num_test=2']),
])
def test_subproject_settings_must_agree(module, argv, words):
  with pytest.raises(config.ConfigError) as error:
    config.parse(module, ['prog'] + argv)
  for word in words:
    assert word in str(error.value)
  assert '\n' not in str(error.value)


@pytest.mark.parametrize('module, argv', [
    (ra_constants, ['--lr_min=0.0001']), (ra_constants, ['--experiment=catch', '--num_test=128']),
    (ra_constants, ['--num_test=4']), (ntm_constants, ['--config=2', '--min_repeats=2']),
    (ntm_constants, ['--config=1', '--min_num_words=10']),
])
def test_subproject_settings_that_agree_pass(module, argv):
  config.parse(module, ['prog'] + argv)


def test_ntm_dnc_env_and_circuit_defaults_are_filled_at_parse_time():
  names = ('LEN_WORD', 'MIN_NUM_WORDS', 'MAX_NUM_WORDS', 'HIDDEN_DIM', 'NUM_WRITE_HEADS',
           'NUM_READ_HEADS', 'MEM_HEI', 'MEM_WID')
  values = lambda *argv: tuple(getattr(config.parse(ntm_constants, ['prog', *argv]), name)
                               for name in names)
  assert values('--config=1') == (8, 5, 10, 100, 1, 1, 128, 20)
  assert values('--config=2') == (4, 1, 2, 64, 1, 4, 16, 16)
  assert values('--config=3') == (8, 5, 10, 64, 1, 4, 16, 16)
  assert values('--config=0') == (4, 1, 2, 0, 0, 0, 0, 0)  # no circuit
  assert values('--config=1', '--len_word=5', '--mem_hei=7') == (5, 5, 10, 100, 1, 1, 7, 20)


# -- memory check ----------------------------------------------------------------------------------
def test_memory_check_message_and_threshold(monkeypatch):
  def estimate(values):
    return {f'activations kept for backprop: --batch_size={values["MAX_STEPS"]} x 8': int(
        values['MAX_STEPS'] * GIB), 'parameters: 2 x 3': GIB // 2, 'nothing': 0}
  module = make_constants(estimate_memory=estimate)
  monkeypatch.setattr(config, 'available_memory_bytes', lambda: 20 * GIB)
  assert config.parse(module, ['prog', '--max_steps=19']).MAX_STEPS == 19
  with pytest.raises(config.ConfigError) as error:
    config.parse(module, ['prog', '--max_steps=40'])
  assert str(error.value) == (
      'these settings need about 40.5 GiB (activations kept for backprop 40.0 GiB: '
      '--batch_size=40 x 8; parameters 512.0 MiB: 2 x 3) but about 20.0 GiB is available; '
      'reduce --batch_size')
  monkeypatch.setattr(config, 'available_memory_bytes', lambda: None)  # unknown: no check
  assert config.parse(module, ['prog', '--max_steps=40'])


def test_available_memory_is_read():
  available = config.available_memory_bytes()
  assert isinstance(available, int) and available > 2 ** 20


TINY_SETTINGS = [
    (ntm_constants, []), (ntm_constants, ['--config=2']), (ntm_constants, ['--config=0']),
    (ntm_constants, ['--config=3']),
    (ntm_constants, ['--config=1', '--min_num_words=1', '--max_num_words=20', '--time_bucket=6']),
    (ntm_constants, ['--config=1', '--mem_hei=16', '--hidden_dim=16', '--min_num_words=1',
                     '--max_num_words=2']),
    (ra_constants, []), (ra_constants, ['--experiment=translated']),
    (ra_constants, ['--experiment=cluttered', '--eval_mc_samples=10']),
    (ra_constants, ['--experiment=catch']),
    (ra_constants, ['--num_train=192', '--num_test=96', '--batch_size=64', '--core_hidden=32']),
    (ra_constants, ['--experiment=catch', '--image_size=12', '--glimpse_size=2', '--batch_size=4',
                    '--num_test=8']),
]


@pytest.mark.parametrize('module, argv', TINY_SETTINGS)
def test_memory_check_passes_defaults_and_tiny_settings(module, argv, monkeypatch):
  monkeypatch.setattr(config, 'available_memory_bytes', lambda: 2 * GIB)  # a small machine
  values = vars(config.parse(module, ['prog'] + argv))
  assert 0 < sum(module.estimate_memory(values).values()) < GIB


HUGE_SETTINGS = [
    (ntm_constants, [flag, *extra]) for flag in (
        '--batch_size=100000000', '--mem_hei=10000000', '--hidden_dim=1000000',
        '--max_num_words=100000000') for extra in ([], ['--config=2'])
] + [(ra_constants, [flag, *extra]) for flag in ('--batch_size=100000000',
                                                 '--core_hidden=10000000')
     for extra in ([], ['--experiment=catch'])]


@pytest.mark.parametrize('module, argv', HUGE_SETTINGS)
def test_memory_check_refuses_huge_settings(module, argv, monkeypatch):
  monkeypatch.setattr(config, 'available_memory_bytes', lambda: 64 * GIB)
  with pytest.raises(config.ConfigError) as error:
    config.parse(module, ['prog', *argv])
  message = str(error.value)
  assert message.startswith('these settings need about ') and '64.0 GiB is available' in message
  assert argv[0].split('=')[0] in message.split('; reduce ')[-1] and '\n' not in message


def test_parsing_never_imports_tensorflow():
  code = ('import sys; from common import config; from ntm_dnc import constants as a; '
          'from recurrent_attention import constants as b; config.parse(a, ["p", "--config=2"]); '
          'config.parse(b, ["p", "--experiment=catch"]); assert "tensorflow" not in sys.modules')
  done = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True,
                        timeout=60)
  assert done.returncode == 0, done.stderr


# -- help ------------------------------------------------------------------------------------------
HELP_SOURCE = '''"""Constants for the help test."""
STEPS = 100                     # steps to train; 0 = none
                                # and the rest of the sentence
RATE = 0.5  # a rate
NAME = 'x'
                                # not a continuation (NAME has no comment)
TABLE = [1,  # inside a table: not a comment of a scalar
         2]
LABEL = 'y'  # a label
# a comment of its own, not LABEL's
CONSTRAINTS = {'STEPS': (0, 1000), 'RATE': (0.0, 1.0), 'LABEL': ('x', 'y')}
'''


def load_source_module(tmp_path, source=HELP_SOURCE, name='help_constants'):
  path = tmp_path / f'{name}.py'
  path.write_text(source)
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_constant_comments_are_read_from_the_source(tmp_path):
  module = load_source_module(tmp_path)
  assert config.constant_comments(module) == {
      'STEPS': 'steps to train; 0 = none and the rest of the sentence', 'RATE': 'a rate',
      'LABEL': 'a label'}
  assert config.constant_comments(make_constants()) == {}  # no source: no comments
  comments = config.constant_comments(ntm_constants)
  assert comments['TIME_BUCKET'] == ("0: pad every batch to the env's longest T (one trace); "
                                     'k > 0: pad T up to a multiple of k (few traces)')
  assert comments['RESTART'] == ('train from step 0 even if CHECKPOINT_DIR holds checkpoints '
                                 '(they are moved aside, never deleted)')


@pytest.mark.parametrize('help_flag', ['--help', '--helpfull', '--helpshort', '-h'])
def test_help_shows_comment_range_and_default(tmp_path, capsys, help_flag):
  module = load_source_module(tmp_path)
  with pytest.raises(SystemExit) as exit_info:
    config.parse(module, ['prog', help_flag])
  assert exit_info.value.code == 0
  out = capsys.readouterr().out
  assert '--steps=100  (int; 0 to 1000)\n      steps to train; 0 = none and the rest of the ' \
      'sentence' in out
  assert '--rate=0.5  (float; 0.0 to 1.0)\n      a rate' in out
  assert "--name='x'  (str)\n" in out and "--label='y'  (str; one of: x, y)" in out


def test_comments_are_the_absl_help_strings(tmp_path):
  module = load_source_module(tmp_path)
  flag_values = config.flags.FlagValues()
  config._define_flags(config._scalar_constants(module), flag_values,
                       config.constant_comments(module))
  assert flag_values['steps'].help == 'steps to train; 0 = none and the rest of the sentence'
  assert flag_values['name'].help == 'overrides NAME'


def test_subproject_help_lists_every_flag(capsys):
  for module in SUBPROJECTS:
    with pytest.raises(SystemExit):
      config.parse(module, ['prog', '--helpfull'])
    out = capsys.readouterr().out
    for name, value in vars(module).items():
      if name.isupper() and not name.startswith('_') and isinstance(value, (bool, int, float,
                                                                            str)):
        assert f'--{name.lower()}={value!r}' in out
    assert f'--seed={module.SEED}  (int; 0 to {2 ** 32 - 1})' in out


def test_help_into_a_closed_pipe_has_no_traceback():
  """`main.py --helpfull | head -1`: the reader leaves while the help is being written."""
  read_end, write_end = os.pipe()
  fcntl.fcntl(read_end, fcntl.F_SETPIPE_SZ, 4096)
  # A full pipe (one page), so the help cannot be written before the reader has gone,
  # however short it is.
  os.write(write_end, b'x' * 63 + b'\n' + b'y' * (fcntl.fcntl(read_end, fcntl.F_GETPIPE_SZ) - 64))
  process = subprocess.Popen([sys.executable, os.path.join(REPO, 'ntm_dnc', 'main.py'),
                              '--helpfull'], cwd=REPO, stdout=write_end, stderr=subprocess.PIPE)
  os.close(write_end)
  assert os.read(read_end, 64) == b'x' * 63 + b'\n'  # one line, then the reader leaves
  os.close(read_end)
  _, stderr = process.communicate(timeout=60)
  assert b'Traceback' not in stderr and b'BrokenPipeError' not in stderr, stderr.decode()
  assert process.returncode == 0


# -- constants the other parts of the code read ----------------------------------------------------
def test_new_constants_and_checkpoint_dir_per_config():
  args = config.parse(ntm_constants, ['prog'])
  assert (args.RESTART, args.SAVE_INTERVAL, args.SAVE_INTERVAL_MINUTES) == (False, 0, 0.0)
  args = config.parse(ntm_constants, ['prog', '--restart', '--save_interval=5',
                                      '--save_interval_minutes=1.5', '--config=2'])
  assert (args.RESTART, args.SAVE_INTERVAL, args.SAVE_INTERVAL_MINUTES) == (True, 5, 1.5)
  assert args.CHECKPOINT_DIR == 'checkpoints/daim_17080800_config2'
  with pytest.raises(config.ConfigError, match='save_interval_minutes'):
    config.parse(ntm_constants, ['prog', '--save_interval_minutes=-1'])
  args = config.parse(ra_constants, ['prog'])
  assert (args.RESTART, args.VERIFY_MNIST) == (False, True)
  args = config.parse(ra_constants, ['prog', '--restart', '--noverify_mnist'])
  assert (args.RESTART, args.VERIFY_MNIST) == (True, False)


def test_new_constants_carry_their_comments():
  ntm, ra = config.constant_comments(ntm_constants), config.constant_comments(ra_constants)
  assert ntm['SAVE_INTERVAL'] == ('steps between checkpoints; 0 = at every evaluation, as the '
                                  'original')
  assert ntm['SAVE_INTERVAL_MINUTES'] == ('also save once this many minutes passed since the '
                                          'last save; 0 = off')
  assert ra['RESTART'] == ntm['RESTART']
  assert ra['VERIFY_MNIST'] == ('check MNIST files on disk against the known sha256 (False: e.g. '
                                "Fashion-MNIST under MNIST's names)")


def test_restart_with_test_mode_is_refused():
  from ntm_dnc import constants
  with pytest.raises(config.ConfigError, match='--restart'):
    config.parse(constants, ['prog', '--restart', '--mode=test'])
  assert config.parse(constants, ['prog', '--restart']).RESTART is True


@pytest.mark.parametrize('module_name, argv, words', [
    ('ntm_dnc', ['--config=0', '--lr=0.1'], ['--lr', '--config=1, 2 or 3', '--config=0']),
    ('ntm_dnc', ['--config=1', '--max_repeats=3'], ['--max_repeats', '--config=0 or 2']),
    ('ntm_dnc', ['--config=2', '--sharpen_epsilon=0.1'], ['--sharpen_epsilon', '--config=1']),
    ('ntm_dnc', ['--machine='], ['--machine', 'non-empty']),
    ('ntm_dnc', ['--timestamp=a/b'], ['--timestamp']),
    ('ntm_dnc', ['--intra_op_threads=100000'], ['--intra_op_threads=100000', '256']),
    ('recurrent_attention', ['--experiment=catch', '--num_train=5'], ['--num_train', 'catch']),
    ('recurrent_attention', ['--num_clutter=3'], ['--num_clutter', '--experiment=cluttered']),
    ('recurrent_attention', ['--experiment=catch', '--mnist_dir=/x'], ['--mnist_dir']),
    ('recurrent_attention', ['--fixed_test_set'], ['--fixed_test_set', 'translated or cluttered']),
    ('recurrent_attention', ['--batch_size=256', '--num_train=192'], ['--batch_size=256', '192']),
])
def test_ignored_or_inconsistent_flags_are_refused(module_name, argv, words):
  import importlib
  module = importlib.import_module(f'{module_name}.constants')
  with pytest.raises(config.ConfigError) as error:
    config.parse(module, ['prog'] + argv)
  message = str(error.value)
  assert '\n' not in message
  for word in words:
    assert word in message, (word, message)


def test_applies_only_checks_given_flags_not_defaults():
  from ntm_dnc import constants
  assert config.parse(constants, ['prog', '--config=0']).CONFIG == 0  # defaults are fine
  from recurrent_attention import constants as ra_constants
  args = config.parse(ra_constants, ['prog', '--experiment=cluttered', '--num_clutter=3',
                                     '--fixed_test_set'])
  assert args.NUM_CLUTTER == 3 and args.FIXED_TEST_SET
