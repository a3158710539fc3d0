"""Old home of chapter 3's helpers, kept only until notebook 03 imports the modules they moved to:
:mod:`course_utils.convolution` (by hand), :mod:`course_utils.training` (``TimeBudget``,
``CosineToBudget``), :mod:`course_utils.augmentation` (``RandomShift``), :mod:`course_utils.deploy`
(``predict_image``) and :func:`course_utils.data.load_image_dataset` (was ``load_dataset``)."""
from .augmentation import RandomShift  # noqa: F401
from .convolution import conv2d, conv2d_grads, max_pool2d, output_size  # noqa: F401
from .data import load_image_dataset as load_dataset  # noqa: F401
from .deploy import predict_image  # noqa: F401
from .training import CosineToBudget, TimeBudget  # noqa: F401
