"""Bits per weight on the Hub follow the library's rule: tensor data bytes x 8 / parameters."""

from __future__ import annotations

import pytest

from app.core.gguf.info import inspect_model_headers
from app.core.gguf.quants import bits_per_weight
from app.core.hub.client import Hub
from app.core.hub.connection import configure
from app.core.hub.files import HubFile, QuantGroup
from app.core.hub.fit import reference_shape
from tests.hub_server import GEMMA_REPO, QUANTS_REPO, SMOL_REPO


@pytest.fixture
def hub(hub_server) -> Hub:
    configure()
    return Hub(hub_server.state.token, hub_server.url)  # the token: Gemma's header is gated


def library_figure(path) -> float:
    info, headers = inspect_model_headers(path)
    tensors = [t for h in headers for t in h.tensors]
    # The library's figure is the one rule applied to the header's tensor table.
    assert info.bits_per_weight == bits_per_weight(
        sum(t.n_bytes for t in tensors), sum(t.n_elements for t in tensors)
    )
    return info.bits_per_weight


@pytest.mark.parametrize(
    ("repo", "model"), [(SMOL_REPO, "smollm_path"), (GEMMA_REPO, "gemma_path")]
)
def test_the_hub_figure_is_the_librarys_for_the_real_models(hub, repo, model, request):
    path = request.getfixturevalue(model)
    expected = library_figure(path)  # 5.74 and 7.36
    files = hub.repo(repo)
    (group,) = files.groups
    by_size = round(group.size_bytes * 8 / group.parameters, 2)  # what the Hub showed before
    assert by_size != expected
    # Before any header is read: the header is estimated, nearer than the file size alone.
    assert abs(group.bits_per_weight - expected) < abs(by_size - expected)
    assert abs(group.bits_per_weight - expected) <= 0.05
    reference_shape(hub, files)  # the header, by range requests
    assert group.bits_per_weight == expected
    assert group.tensor_bytes == group.weight_bytes < group.size_bytes


def test_other_quants_take_away_the_header_measured_on_one(hub, smollm_path):
    files = hub.repo(QUANTS_REPO)
    reference_shape(hub, files)
    groups = {g.quant: g for g in files.groups}
    read = groups["Q4_1"]  # the smallest quant with bytes to read (Q2_K is only listed)
    assert read.bits_per_weight == library_figure(smollm_path) == 5.74
    header = read.size_bytes - read.tensor_bytes
    q8 = groups["Q8_0"]
    assert q8.tensor_bytes is None and q8.overhead_bytes == header
    assert q8.bits_per_weight == round((q8.size_bytes - header) * 8 / q8.parameters, 2) == 8.51


def test_the_header_estimate_without_a_header():
    from app.core.hub.files import estimated_overhead

    # From the vocabulary when the model's family is known, else a typical header; never more
    # than a tenth of the file.
    assert estimated_overhead(10**9, 49_152) == 49_152 * 30 + 64 * 1024
    assert estimated_overhead(10**9, None) == 5_000_000
    assert estimated_overhead(20_000_000, None) == 2_000_000
    tiny = QuantGroup("Q4_0", [HubFile("x-Q4_0.gguf", 10, None)], parameters=20)
    assert tiny.bits_per_weight == 3.6  # 9 of 10 bytes: a made-up file, but a figure
    assert QuantGroup("Q4_0", [HubFile("x.gguf", 10, None)]).bits_per_weight is None
