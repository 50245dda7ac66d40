"""Device selection and CPU inference layout (``levelsets.devices``)."""

from __future__ import annotations

import pytest
import torch

from levelsets.devices import (
    CPU_FORWARD_BATCH,
    forward_batch_size,
    prepare_for_inference,
    resolve_device,
)
from levelsets.errors import LevelsetsError


@pytest.mark.parametrize("cuda", [True, False])
def test_auto_picks_cuda_only_when_present(monkeypatch, cuda):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    expected = torch.device("cuda" if cuda else "cpu")
    assert resolve_device("auto") == expected and resolve_device(None) == expected


def test_explicit_devices_and_user_errors(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(LevelsetsError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(LevelsetsError, match="CUDA is not available"):
        resolve_device("cuda:1")


def test_prepare_for_inference_on_cpu_is_eval_and_channels_last():
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Dropout(0.5))
    assert module.training
    out = prepare_for_inference(module, torch.device("cpu"))
    assert not out.training
    weight = out[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
    x = torch.rand(2, 3, 8, 8)
    torch.testing.assert_close(out(x), out(x))  # eval: dropout off, deterministic


def test_forward_batch_size_chunks_on_cpu_only():
    assert forward_batch_size(torch.device("cpu")) == CPU_FORWARD_BATCH
    assert forward_batch_size(torch.device("cuda")) is None
