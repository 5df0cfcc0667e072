"""Named 1998 recipes for `lenet train` (anything else is a textbook recipe in `modern`)."""

from __future__ import annotations

from .config import FAITHFUL, LeNet5Config

# LeCun's own later demo, gblearn2/demos/lenet5.lsh (Lush, 2002), as QMNIST re-ran it on all of MNIST
# (facebookresearch/qmnist, making_qmnist/lenet5.lsh.patch: 60,000 / 10,000 digits, three sets of 10
# passes at 1e-4, 1e-5, 1e-6, the curvature re-estimated on the first 1,000 training digits before each
# set; 0.82 % +- 0.2 (two sigma) on the MNIST test set). Its network is the paper's without the RBF
# layer: C5 feeds 10 squashed units trained by squared error to fixed +-1 1-of-N targets -- here an F6
# of 10 units whose "place code" RBF penalties are exactly those squared distances (argmin penalty =
# argmax output). Lush's conventions: 2x2 windows summed, coefficients 0.5 and biases 0, weights
# U(+-1/sqrt(F)) (`forget 1 2`), inputs pixel x 0.01 padded with 0, MNIST's own order, curvature of
# the loss 1 per output, the coefficient's curvature (sum x)^2, h_kk the plain mean, eps = eta/(h + mu).
LUSH_DEMO = FAITHFUL.replace(
    f6_units=10, rbf_codes="place", loss="lush-edist", hkk_output_curvature=1.0,
    init="lush", bias_init="zero", subsampling="sum", subsampling_start="lush",
    subsampling_curvature="square-of-sum", input_scaling="lush",
    passes=30, schedule=(1e-4,) * 10 + (1e-5,) * 10 + (1e-6,) * 10, mu=0.02,
    hkk_patterns=1000, hkk_sampling="consecutive", hkk_every=10, pattern_order="file")

LENET1998_RECIPES: dict[str, LeNet5Config] = {
    "lenet5-1998": FAITHFUL,
    "lenet5-1998-distortions": FAITHFUL.replace(distortions=True),
    "lenet5-lush-demo": LUSH_DEMO,
}

# one line each, for `lenet train --help` and `lenet train lenet5-1998 --help`
RECIPE_DESCRIPTIONS: dict[str, str] = {
    "lenet5-1998": "LeNet-5 as the paper trains it (Sec. II-B, App. A and C: lenet1998/config.py's defaults); "
                   "the paper: 0.95 %",
    "lenet5-1998-distortions": "the same on the training digits + 540,000 distorted copies (Sec. III-C); "
                               "the paper: 0.8 %",
    "lenet5-lush-demo": "LeCun's Lush demo (gblearn2/demos/lenet5.lsh) as QMNIST re-ran it on all of MNIST: "
                        "0.82 % +- 0.2",
}


def is_lenet1998_recipe(name: str) -> bool:
    return name in LENET1998_RECIPES
