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
MNIST_DIR = ''                  # '' = the MNIST_DIR environment variable, else ~/.cache/...
DOWNLOAD_MNIST = True           # fetch missing MNIST files from the public mirrors (sha256-checked)
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
LR_MIN = -1.0                   # floor of the schedule; -1 = none (Catch 1e-7)
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

CONSTRAINTS = {
    'EXPERIMENT': ('centered', 'translated', 'cluttered', 'catch'),
    'MODE': ('train', 'test'),
    'BASELINE': ('scalar', 'network'),
    'JIT_COMPILE': ('auto', 'true', 'false'),
    'SAVE_VIS_INTERVAL': (0, None), 'NUM_VIS': (1, 64), 'MAX_STEPS': (0, None),
    'MAX_KEEP_CHECKPOINTS': (1, None), 'PROG_FREQ': (1, None),
    'IMAGE_SIZE': (0, None), 'GLIMPSE_SIZE': (0, None), 'NUM_SCALES': (0, 8),
    'NUM_GLIMPSES': (0, None), 'NUM_CLUTTER': (0, None), 'CLUTTER_SIZE': (1, 28),
    'GLIMPSE_HIDDEN': (1, None), 'LOC_HIDDEN': (1, None), 'GLIMPSE_OUT': (1, None),
    'CORE_HIDDEN': (1, None), 'STD': (1e-6, None), 'GAMMA': (-1.0, 1.0),
    'BASELINE_INIT': (-1.0, None), 'BATCH_SIZE': (0, None), 'LR': (0.0, None),
    'LR_DECAY': (0.0, 1.0), 'LR_MIN': (-1.0, None), 'EPOCHS': (0, None),
    'EPISODES_PER_EPOCH': (1, None), 'EVAL_MC_SAMPLES': (0, 1000), 'NUM_TRAIN': (0, 60000),
    'NUM_TEST': (0, 10000), 'INTRA_OP_THREADS': (0, None), 'ENTROPY_COST': (0.0, None),
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
    # BASELINE_INIT -2 marks "0, then the first batch's mean reward" (spec 2.7).
    # Catch: NUM_GLIMPSES is the episode length, IMAGE_SIZE - 1 (23).
    'catch': dict(IMAGE_SIZE=24, GLIMPSE_SIZE=6, NUM_SCALES=3, GAMMA=0.0,
                  BASELINE_INIT=-2.0, BATCH_SIZE=64, LR=1e-4, LR_DECAY=0.99, LR_MIN=1e-7,
                  EPOCHS=700, JIT_COMPILE=False),
}
FIRST_BATCH_BASELINE = -2.0

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
