"""The fast path: a C kernel for whole passes of online SDLM, loaded with ctypes."""

from .binding import FastKernel, fast_available, load_kernel

__all__ = ["FastKernel", "fast_available", "load_kernel"]
