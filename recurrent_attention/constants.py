"""Every setting of the Recurrent Attention Model port (spec recurrent_attention.md 5).

Edit this file, or override any UPPERCASE name on the command line as
`python main.py --lowercase_name=value`, e.g.
`python main.py --experiment=translated --num_glimpses=6`.

Settings left at 0 (or '') take the default of the chosen EXPERIMENT from
EXPERIMENT_DEFAULTS, which are the original scripts' values (RAM_centered.py,
RAM_translated.py, RAM_cluttered.py, RAM_catch.py). The original's quirks are
switches below, faithful by default; the "beyond the original" options are off.
"""
from common.config import ConfigError

EXPERIMENT = 'centered'         # 'centered', 'translated', 'cluttered' or 'catch'
MODE = 'train'                  # 'train' or 'test'
SEED = 1                        # data (numpy) and policy sampling (TF) RNGs; the original seeds nothing
CHECKPOINT_DIR = 'checkpoints/{EXPERIMENT}_{NUM_GLIMPSES}glimpses'  # {NAMES} filled from these
RESTART = False                 # train from step 0 even if CHECKPOINT_DIR holds checkpoints
                                # (they are moved aside, never deleted)
MNIST_DIR = ''                  # '' = the MNIST_DIR environment variable, else ~/.cache/...
DOWNLOAD_MNIST = True           # fetch missing MNIST files from the public mirrors (sha256-checked)
VERIFY_MNIST = True             # check MNIST files on disk against the known sha256 (False: e.g.
                                # Fashion-MNIST under MNIST's names)
VISUALIZE = True
SAVE_VIS_INTERVAL = 1000        # training batches between visualisation folders (0 = off)
NUM_VIS = 4                     # test digits (classification) or episodes (Catch) drawn
MAX_STEPS = 0                   # cap on training batches (Catch: episode batches); 0 = EPOCHS
MAX_KEEP_CHECKPOINTS = 3
PROG_FREQ = 100                 # batches between progress lines / TensorBoard points

# Task and sensor (0 = the experiment's default).
IMAGE_SIZE = 0                  # canvas side S: centered 28, translated / cluttered 60, Catch 24
GLIMPSE_SIZE = 0                # w: 8, 12, 12, 6
NUM_SCALES = 0                  # K: 1, 3, 3, 3 (each scale doubles the field of view)
NUM_GLIMPSES = 0                # T: 7, 4, 4; Catch: the episode length 23 (fixed by the game)
NUM_CLUTTER = 4                 # cluttered: pieces per canvas
CLUTTER_SIZE = 8                # cluttered: piece side

# Network sizes (the paper's and the original's).
GLIMPSE_HIDDEN = 128            # h_g
LOC_HIDDEN = 128                # h_l
GLIMPSE_OUT = 256               # g
CORE_HIDDEN = 256               # ReLU RNN (classification) or LSTM (Catch)

# Policy, loss and optimiser (0 = the experiment's default).
STD = 0.25                      # location policy std (pre-tanh)
GAMMA = -1.0                    # discount; -1 = the experiment's (1, Catch 0: the original's quirk)
BASELINE_INIT = -1.0            # scalar baseline start; -1 = 0.1 (Catch: first batch's mean reward)
BATCH_SIZE = 0                  # 128; Catch 64 games
LR = 0.0                        # Adam: 1e-3, 1e-4, 1e-4, 1e-4 (eps 1e-8, PyTorch's rule)
LR_DECAY = 0.0                  # lr = LR * LR_DECAY**epoch from epoch 1: 0.95, 0.975, 0.975, 0.99
LR_MIN = -1.0                   # floor of the schedule; -1 = the experiment's (0; Catch 1e-7)
EPOCHS = 0                      # 100, 200, 200; Catch 700 "epochs" of EPISODES_PER_EPOCH batches
EPISODES_PER_EPOCH = 350        # Catch: episode batches per epoch (schedule and report unit)

# Evaluation (classification): the original's single stochastic pass over the test set.
EVAL_MC_SAMPLES = 0             # > 1: also report M-pass Monte-Carlo averaging (not original)
NUM_TRAIN = 0                   # 0 = all 60,000 training images (smaller: quick runs, tests)
NUM_TEST = 0                    # 0 = all 10,000 test images

# The original's quirks (spec 8.12): faithful default, alternative by flag.
LAST_LOCATION_LOGPI = True      # count the unused last location's log-prob in the REINFORCE sum
CLUTTER_FROM_BATCH = True       # clutter cut from the same minibatch (else random training digits)
FIXED_TEST_SET = False          # translated/cluttered test canvases re-drawn every epoch (else once)

# Beyond the original (off by default; see README): what closes the gap to the paper.
BASELINE = 'scalar'             # 'scalar' (original) or 'network': b_t = Linear(stop_grad(h_t))
ENTROPY_COST = 0.0              # Catch: subtract this x the action policy's entropy from the loss

# Compilation and threads.
JIT_COMPILE = 'auto'            # XLA for the compiled steps: 'true', 'false' or 'auto', the
                                # faster per experiment as measured by benchmark.py (README):
                                # on for translated / cluttered, off for centered and Catch
INTRA_OP_THREADS = 1            # TensorFlow intra-op threads; 0 = TF's default

# Allowed values; checked when flags are parsed. Every int and float has a range
# (tests/test_config.py checks it); an open int range is capped at 2**31 - 1.
CONSTRAINTS = {
    'EXPERIMENT': ('centered', 'translated', 'cluttered', 'catch'),
    'MODE': ('train', 'test'),
    'BASELINE': ('scalar', 'network'),
    'JIT_COMPILE': ('auto', 'true', 'false'),
    'SEED': (0, 2 ** 32 - 1),  # numpy's legacy RandomState / np.random.seed range
    'SAVE_VIS_INTERVAL': (0, None), 'NUM_VIS': (1, 64), 'MAX_STEPS': (0, None),
    'MAX_KEEP_CHECKPOINTS': (1, None), 'PROG_FREQ': (1, None),
    'IMAGE_SIZE': (0, None), 'GLIMPSE_SIZE': (0, None), 'NUM_SCALES': (0, 8),
    'NUM_GLIMPSES': (0, None), 'NUM_CLUTTER': (0, None), 'CLUTTER_SIZE': (1, 28),
    'GLIMPSE_HIDDEN': (1, None), 'LOC_HIDDEN': (1, None), 'GLIMPSE_OUT': (1, None),
    'CORE_HIDDEN': (1, None), 'STD': (1e-6, None), 'GAMMA': (-1.0, 1.0),
    'BASELINE_INIT': (-1.0, None), 'BATCH_SIZE': (0, None), 'LR': (0.0, None),
    'LR_DECAY': (0.0, 1.0), 'LR_MIN': (-1.0, None), 'EPOCHS': (0, None),
    'EPISODES_PER_EPOCH': (1, None), 'EVAL_MC_SAMPLES': (0, 1000), 'NUM_TRAIN': (0, 60000),
    'NUM_TEST': (0, 10000), 'INTRA_OP_THREADS': (0, 256), 'ENTROPY_COST': (0.0, None),
}

# Settings that must agree, (FIRST, SECOND, why): FIRST <= SECOND once the
# experiment's defaults are filled in (common.config checks them).
AT_MOST = (
    ('LR_MIN', 'LR', 'the floor of the learning-rate schedule'),
)

# BASELINE_INIT's marker for "0, then the first batch's mean reward" (spec 2.7);
# private (leading _), so that it is no flag.
_FIRST_BATCH_BASELINE = -2.0

# Flags that only some experiments use (given on the command line for another, they
# are refused rather than ignored).
_CLASSIFICATION = ('centered', 'translated', 'cluttered')
APPLIES_ONLY = {
    **{name: ('EXPERIMENT', _CLASSIFICATION) for name in (
        'MNIST_DIR', 'DOWNLOAD_MNIST', 'VERIFY_MNIST', 'NUM_TRAIN', 'EVAL_MC_SAMPLES',
        'BASELINE')},
    **{name: ('EXPERIMENT', ('cluttered',)) for name in ('NUM_CLUTTER', 'CLUTTER_SIZE',
                                                        'CLUTTER_FROM_BATCH')},
    'FIXED_TEST_SET': ('EXPERIMENT', ('translated', 'cluttered')),  # centered's never changes
    'EPISODES_PER_EPOCH': ('EXPERIMENT', ('catch',)),
}

# Per-experiment defaults (spec section 5), used where a constant above is 0 / -1.
EXPERIMENT_DEFAULTS = {
    'centered': dict(IMAGE_SIZE=28, GLIMPSE_SIZE=8, NUM_SCALES=1, NUM_GLIMPSES=7, GAMMA=1.0,
                     BASELINE_INIT=0.1, BATCH_SIZE=128, LR=1e-3, LR_DECAY=0.95, LR_MIN=0.0,
                     EPOCHS=100, JIT_COMPILE=False),
    'translated': dict(IMAGE_SIZE=60, GLIMPSE_SIZE=12, NUM_SCALES=3, NUM_GLIMPSES=4, GAMMA=1.0,
                       BASELINE_INIT=0.1, BATCH_SIZE=128, LR=1e-4, LR_DECAY=0.975, LR_MIN=0.0,
                       EPOCHS=200, JIT_COMPILE=True),
    'cluttered': dict(IMAGE_SIZE=60, GLIMPSE_SIZE=12, NUM_SCALES=3, NUM_GLIMPSES=4, GAMMA=1.0,
                      BASELINE_INIT=0.1, BATCH_SIZE=128, LR=1e-4, LR_DECAY=0.975, LR_MIN=0.0,
                      EPOCHS=200, JIT_COMPILE=True),
    # Catch: NUM_GLIMPSES is the episode length, IMAGE_SIZE - 1 (23).
    'catch': dict(IMAGE_SIZE=24, GLIMPSE_SIZE=6, NUM_SCALES=3, GAMMA=0.0,
                  BASELINE_INIT=_FIRST_BATCH_BASELINE, BATCH_SIZE=64, LR=1e-4, LR_DECAY=0.99,
                  LR_MIN=1e-7, EPOCHS=700, JIT_COMPILE=False),
}

# Constants that define the model and its data; a checkpoint made with other
# values is refused rather than partially restored.
ARCHITECTURE_KEYS = (
    'EXPERIMENT', 'IMAGE_SIZE', 'GLIMPSE_SIZE', 'NUM_SCALES', 'NUM_GLIMPSES', 'NUM_CLUTTER',
    'CLUTTER_SIZE', 'GLIMPSE_HIDDEN', 'LOC_HIDDEN', 'GLIMPSE_OUT', 'CORE_HIDDEN', 'BASELINE',
    'BATCH_SIZE', 'NUM_TRAIN', 'SEED',
)
_UNSET = {'GAMMA': -1.0, 'BASELINE_INIT': -1.0, 'LR_MIN': -1.0, 'JIT_COMPILE': 'auto'}


def derive_defaults(values):
  """Fills the chosen experiment's defaults and checks settings that depend on each other."""
  experiment = values['EXPERIMENT']
  for name, default in values['EXPERIMENT_DEFAULTS'][experiment].items():
    if values[name] == _UNSET.get(name, 0):
      values[name] = default
  if experiment == 'catch' and not values['NUM_GLIMPSES']:
    values['NUM_GLIMPSES'] = values['IMAGE_SIZE'] - 1
  if isinstance(values['JIT_COMPILE'], str):  # 'true' / 'false' given explicitly
    values['JIT_COMPILE'] = values['JIT_COMPILE'] == 'true'
  side, size = values['IMAGE_SIZE'], values['GLIMPSE_SIZE']
  if size % 2 or size < 2:
    raise ConfigError(f'--glimpse_size={size} must be an even number >= 2 (a glimpse covers '
                      '[p - w/2, p + w/2))')
  if size > side:
    raise ConfigError(f'--glimpse_size={size} is larger than the {side}x{side} image; '
                      f'choose a glimpse of at most {side} pixels')
  if experiment == 'catch' and values['NUM_GLIMPSES'] != side - 1:
    raise ConfigError(f'--num_glimpses={values["NUM_GLIMPSES"]}: a Catch episode on a '
                      f'{side}x{side} board has exactly {side - 1} steps, one glimpse each; '
                      f'leave it at 0 or {side - 1}')
  if experiment == 'catch' and side < 3:
    raise ConfigError(f'--image_size={side}: the Catch board needs at least 3 rows')
  if experiment in ('translated', 'cluttered') and side < 28:
    raise ConfigError(f'--image_size={side} is smaller than the 28x28 digit; use >= 28')
  if experiment == 'centered' and side != 28:
    raise ConfigError(f'--image_size={side}: centered MNIST is 28x28; use --experiment='
                      'translated for larger canvases')
  if values['ENTROPY_COST'] and experiment != 'catch':
    raise ConfigError(f'--entropy_cost={values["ENTROPY_COST"]} applies to Catch\'s action '
                      f'policy only; --experiment={experiment} has none (leave it at 0)')
  if values['NUM_GLIMPSES'] < 1:
    raise ConfigError(f'--num_glimpses={values["NUM_GLIMPSES"]} must be >= 1')
  batch, num_test = values['BATCH_SIZE'], values['NUM_TEST']
  if experiment == 'catch' and num_test % batch:
    # agent.CatchAgent.test_model plays NUM_TEST // BATCH_SIZE whole batches.
    raise ConfigError(f'--num_test={num_test}: Catch is tested in whole batches of '
                      f'--batch_size={batch} games; give a multiple of {batch} (0 = 20 batches)')
  if experiment != 'catch' and num_test and values['NUM_VIS'] > num_test:
    raise ConfigError(f'--num_vis={values["NUM_VIS"]} must be at most --num_test={num_test} '
                      '(the digits drawn are test digits)')
  num_train = values['NUM_TRAIN']
  if experiment != 'catch' and num_train and batch > num_train:
    raise ConfigError(f'--batch_size={batch} is larger than --num_train={num_train}; every '
                      f'batch would be the {num_train} images (give at most {num_train})')


def estimate_memory(values):
  """The main memory consumers of a training run, {description: bytes}, from
  agent.py, ram.py, ram_catch.py and common/data (within ~2x).

  MNIST is held whole (70,000 28x28 uint8 digits, file bytes and arrays);
  canvases are made per batch (uint8, then float32, then a tensor; evaluation
  tiles the batch EVAL_MC_SAMPLES times). The T-step unroll keeps each step's
  activations for backprop ([B, K*w*w] retina output and the layers' outputs);
  the glimpse sensor gathers a [B, w*2**(K-1)] square per step, not kept.
  Parameters count 4 times (weights, gradients, Adam's two moments).
  """
  catch = values['EXPERIMENT'] == 'catch'
  b, t, side = values['BATCH_SIZE'], values['NUM_GLIMPSES'], values['IMAGE_SIZE']
  w, k = values['GLIMPSE_SIZE'], values['NUM_SCALES']
  hg, hl, g, c = (values['GLIMPSE_HIDDEN'], values['LOC_HIDDEN'], values['GLIMPSE_OUT'],
                  values['CORE_HIDDEN'])
  retina = k * w * w
  sizes = {}
  if not catch:
    sizes['MNIST digits: 70000 x 28 x 28 bytes x 2 (file and arrays)'] = 70000 * 28 * 28 * 2
    sizes[f'canvases of a batch: --batch_size={b} x --image_size={side}^2 x 9 bytes'] = (
        b * side * side * 9)
    samples = max(values['EVAL_MC_SAMPLES'], 1)
    if samples > 1:
      sizes[f'evaluation batch: --batch_size={b} x --eval_mc_samples={samples} x '
            f'--image_size={side}^2 x 4 bytes x 2'] = b * samples * side * side * 8
    if values['EXPERIMENT'] == 'cluttered':
      piece = values['CLUTTER_SIZE']
      sizes[f'clutter pieces: --batch_size={b} x --num_clutter={values["NUM_CLUTTER"]} x '
            f'(--clutter_size={piece}^2 + 64) bytes'] = b * values['NUM_CLUTTER'] * (
                piece * piece + 64)
  else:
    sizes[f'boards: --batch_size={b} x --image_size={side}^2 x 4 bytes x 4'] = (
        b * side * side * 16)
  field = w * 2 ** (k - 1)
  sizes[f'glimpse sensor: --batch_size={b} x (--glimpse_size={w} x 2^(--num_scales={k} - 1))^2 '
        'x 4 bytes x 3'] = b * field * field * 12
  core = 12 * c if catch else 4 * c  # LSTM gates and states, or the ReLU RNN's sums
  per_step = retina + 2 * hg + 2 * hl + 3 * g + core + 16
  sizes[f'activations kept for backprop: --batch_size={b} x T={t} (--num_glimpses) x '
        f'{per_step} floats (--core_hidden={c}, --glimpse_out={g}, retina {retina}) x 4 bytes'] = (
            b * t * per_step * 4)
  core_weights = (g + c + 2) * (4 * c if catch else c)
  parameters = ((retina + 1) * hg + 3 * hl + (hg + hl + 2) * g + core_weights
                + (c + 1) * (2 + 10 + 1))
  sizes[f'parameters: 4 x {parameters} (--core_hidden={c}^2, --glimpse_out={g} x '
        f'--glimpse_hidden={hg}, ...) x 4 bytes (weights, gradients, Adam)'] = 4 * parameters * 4
  return sizes
