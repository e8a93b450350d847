"""``pos-agent devices``: what is attached, and what the config would use.

:func:`describe_devices` reads the system (serial ports from pyserial's ``list_ports``, input
devices from evdev when readable) unless it is handed those lists, and resolves each configured
device the way its reader would, so a wrong VID:PID or a missing by-id link shows up here
before the first customer does.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import partial

from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from pos_agent.readers.base import usb_id
from pos_agent.readers.config import DeviceConfig, SerialDeviceConfig
from pos_agent.readers.hid_reader import InputDeviceInfo, list_input_devices, match_input_device
from pos_agent.readers.serial_reader import find_serial_port


def describe_devices(
    configs: list[DeviceConfig],
    *,
    serial_ports: Iterable[ListPortInfo] | None = None,
    input_devices: Iterable[InputDeviceInfo] | None = None,
) -> list[str]:
    """Lines for ``pos-agent devices``: attached serial ports, input devices, configured use."""
    ports = list(list_ports.comports() if serial_ports is None else serial_ports)
    inputs_error = None
    if input_devices is None:
        try:
            inputs = list_input_devices()
        except OSError as exc:  # no /dev/input at all (containers), or not allowed
            inputs, inputs_error = [], str(exc)
    else:
        inputs = list(input_devices)

    lines = ["serial ports attached:"]
    lines += [f"  {_describe_port(p)}" for p in sorted(ports, key=lambda p: p.device)] or [
        "  (none)"
    ]
    lines.append("input devices attached (keyboards):")
    keyboards = sorted((d for d in inputs if d.has_enter), key=lambda d: d.path)
    lines += [f"  {_describe_input(d)}" for d in keyboards] or [
        f"  (none readable: {inputs_error})" if inputs_error else "  (none readable)"
    ]
    lines.append("configured devices:")
    lines += [f"  {_describe_config(c, ports, inputs)}" for c in configs] or ["  (none)"]
    return lines


def _usb(vid: int | None, pid: int | None) -> str:
    return usb_id(vid, pid) if vid is not None and pid is not None else "no usb id"


def _describe_port(port: ListPortInfo) -> str:
    parts = [port.device, _usb(port.vid, port.pid)]
    if port.serial_number:
        parts.append(f"serial {port.serial_number}")
    if port.description and port.description != "n/a":
        parts.append(port.description)
    return "  ".join(parts)


def _describe_input(device: InputDeviceInfo) -> str:
    parts = [device.path, _usb(device.vendor, device.product)]
    if device.uniq:
        parts.append(f"serial {device.uniq}")
    parts.append(repr(device.name))
    return "  ".join(parts)


def _describe_config(
    config: DeviceConfig, ports: list[ListPortInfo], inputs: list[InputDeviceInfo]
) -> str:
    head = f"{config.name} ({config.kind}, {config.where()})"
    return f"{head} -> {_resolve(config, ports, inputs)}"


def _resolve(config: DeviceConfig, ports: list[ListPortInfo], inputs: list[InputDeviceInfo]) -> str:
    if isinstance(config, SerialDeviceConfig):
        if config.url is not None:
            if "://" in config.url:
                return "pyserial URL, opened when the agent runs"
            return _path_state(config.url)
        find = partial(find_serial_port, ports)
    else:
        if config.path is not None:
            return _path_state(config.path, os.R_OK)
        find = partial(match_input_device, inputs)
    assert config.vid is not None and config.pid is not None
    try:
        return find(config.vid, config.pid, config.serial_number)
    except LookupError as exc:
        return f"NOT FOUND: {exc}"


def _path_state(path: str, mode: int = os.R_OK | os.W_OK) -> str:
    if not os.path.exists(path):
        return "NOT FOUND: no such device"
    real = os.path.realpath(path)
    state = "present" if os.access(real, mode) else "present, NOT ACCESSIBLE"
    return f"{real} ({state})" if real != path else state
