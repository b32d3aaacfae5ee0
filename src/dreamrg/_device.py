"""The torch device of the torch paths (``--device``): names, the availability check, the cache tag.

The torch paths -- AdamW training with the torch engine, the torch reference sampler --
run on ``"cpu"`` (the default), ``"cuda"`` (or ``"cuda:N"``) or ``"mps"``. A device
this machine does not have is refused by :func:`resolve_device` with one error naming
what was asked and what is available, before any work.

Reproducibility across devices
------------------------------
Random numbers never come from the device: training batches, permutations and
majority-rule tie-breaks are drawn with numpy from ``SeedSequence`` streams, the
initial weights with torch's CPU generator, and the torch sampler draws its
uniforms on the generator's device (the CPU for the generators dreamrg makes) and
moves them to the model's device. What differs on a GPU is the floating-point
arithmetic (other convolution algorithms and summation orders), so results are
close to the CPU's but not bit-identical. Hence :func:`device_tag`: it is None on
the CPU, so CPU cache keys and metadata are what they were before devices existed,
and the device type (``"cuda"``, ``"mps"``) otherwise, which enters the cache key of
the result and is recorded in its metadata.
"""

from __future__ import annotations

import re

import torch

#: the device types accepted (``"cuda:N"`` names one GPU of several)
DEVICES = ("cpu", "cuda", "mps")

_NAME = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")


class DeviceUnavailable(ValueError):
    """A torch device that this machine (or this build of torch) does not have."""


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """The device names usable here: ``"cpu"``, then ``"cuda"`` and ``"cuda:N"`` per GPU, then ``"mps"``."""
    out = ["cpu"]
    if torch.cuda.is_available():
        out += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        out.append("mps")
    return out


def _why_not(kind: str) -> str:
    if kind == "cuda":
        if torch.version.cuda is None:
            return f"this torch ({torch.__version__}) was built without CUDA"
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return f"torch sees {n} CUDA device{'s' if n != 1 else ''}" if n else "no CUDA GPU was found"
    if not torch.backends.mps.is_built():
        return f"this torch ({torch.__version__}) was built without MPS (Apple GPUs)"
    return "no MPS device (Apple GPU with macOS 12.3 or later) was found"


def resolve_device(device: str | torch.device | None = "cpu") -> torch.device:
    """The :class:`torch.device` for ``device`` after checking that this machine has it.

    Parameters
    ----------
    device : str, torch.device or None
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"`` (None means ``"cpu"``).

    Raises
    ------
    DeviceUnavailable
        (a ValueError) for a name that is not a device, or a device this machine does not
        have; the message names what was asked and what is available.
    """
    if device is None:
        device = "cpu"
    name = str(device) if isinstance(device, torch.device) else device
    if not isinstance(name, str) or not _NAME.match(name):
        raise DeviceUnavailable(f"device must be one of cpu, cuda, cuda:N, mps; got {device!r}")
    dev = torch.device(name)
    if dev.type == "cpu":
        return dev
    have = available_devices()
    if name not in have:
        raise DeviceUnavailable(f"device {name!r} is not available here ({_why_not(dev.type)}); "
                                f"available: {', '.join(have)}")
    return dev


def device_tag(device: str | torch.device | None) -> str | None:
    """None for the CPU (its results are the reference), else the device type (``"cuda"``, ``"mps"``).

    The tag enters cache keys and metadata only when it is not None, so CPU results keep
    the keys they had before the device option existed.
    """
    dev = resolve_device(device)
    return None if dev.type == "cpu" else dev.type
