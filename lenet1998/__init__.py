"""LeNet-5 as published in LeCun, Bottou, Bengio & Haffner, "Gradient-Based Learning Applied to
Document Recognition", Proc. IEEE 86(11), 1998: the network of Sec. II-B, the losses of Sec. II-C,
the initialisation of App. A, SDLM training of App. C, and the distortions of Sec. III-C.

    from lenet1998 import LeNet5, LeNet5Config, input_transform, pretrained
    model = pretrained("lenet5")
    digits = model.predict(input_transform(images))  # MNIST's uint8 (N, 28, 28) -> 32x32, scaled (Sec. II-B)
"""

from .config import FAITHFUL, LeNet5Config
from .model import PAPER_CONNECTIONS, PAPER_COUNTS, PAPER_PARAMETERS, LeNet5
from .pretrained import input_transform, pretrained

__all__ = ["FAITHFUL", "LeNet5", "LeNet5Config", "PAPER_CONNECTIONS", "PAPER_COUNTS", "PAPER_PARAMETERS",
           "input_transform", "pretrained"]
