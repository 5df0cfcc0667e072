"""The two alternative input versions of MNIST (Sec. III-A): "[deslant]" (deslanted by the second
moments of inertia and cropped to 20x20) and "[16x16]" (reduced to 16x16; for LeNet-1 centred in
28x28, Sec. III-C.7).

    from lenet1998.inputs import deslant, to_16x16, centered_in_28
    x20 = deslant(images)                  # uint8 (N, 28, 28) -> float32 (N, 20, 20)
    x28 = centered_in_28(to_16x16(images))  # uint8 (N, 28, 28) -> float32 (N, 28, 28)
"""

from .deslant import Moments, crop_to_ink, deslant, moments, shear_factor, sheared_moments
from .sixteen import centered_in_28, resampling_matrix, to_16x16

__all__ = ["Moments", "centered_in_28", "crop_to_ink", "deslant", "moments", "resampling_matrix",
           "shear_factor", "sheared_moments", "to_16x16"]
