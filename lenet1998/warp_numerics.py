"""The version of the distortion warp's arithmetic (lenet1998/distortions.py, and its C twin in the
kernel): bump it when a change alters any bit of a warped image. Its own module so that the warp
(distortions.py) and the build id that records it (fast/build.py `numeric_build_id`) both import it
from here, and neither imports the other for it."""

WARP_NUMERICS = 1
