"""The model library on real folders: scanning, the header cache, splits, projectors, import, removal."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core.gguf.info import ModelInfo, inspect_model
from app.core.library.index import INVALID, MISSING, OK, Library, LibraryError
from tests import gguf_factory as F


def split_model(folder: Path, stem: str, n: int = 3) -> list[Path]:
    """A small model split into ``n`` valid parts, as llama.cpp's gguf-split writes them."""
    paths = []
    for i in range(n):
        kvs = [
            F.kv("general.architecture", F.STRING, "llama"),
            F.s("split.no") + struct.pack("<IH", 2, i),  # uint16, as gguf-split writes it
            F.s("split.count") + struct.pack("<IH", 2, n),
        ]
        tensors = [F.tensor(f"blk.{i}.w", (256,), F.F16_TYPE, 0)]
        head = F.header(kvs, tensors)
        data = head + b"\0" * ((-len(head)) % 32) + b"\1" * 512
        p = folder / f"{stem}-{i + 1:05d}-of-{n:05d}.gguf"
        p.write_bytes(data)
        paths.append(p)
    return paths


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    return Library(tmp_path / "library.sqlite3", tmp_path / "app-models")


def test_scan_finds_app_and_user_folders(lib: Library, tmp_path: Path, smollm_path: Path) -> None:
    app_model = lib.app_folder / "pub" / "repo" / "tiny.gguf"
    app_model.parent.mkdir(parents=True)
    F.write(app_model, F.small_model_bytes(template="{{ x }}"))
    user = tmp_path / "Downloads"
    (user / "deep" / "er").mkdir(parents=True)
    os.symlink(smollm_path, user / "deep" / "er" / "SmolLM2-135M-Instruct.Q4_1.gguf")
    (user / "notes.txt").write_text("not a model")
    lib.add_folder(user)
    result = lib.scan()
    by_name = {Path(e.path).name: e for e in result.entries}
    assert set(by_name) == {"tiny.gguf", "SmolLM2-135M-Instruct.Q4_1.gguf"}
    assert by_name["tiny.gguf"].in_app_folder and by_name["tiny.gguf"].info.has_chat_template
    smol = by_name["SmolLM2-135M-Instruct.Q4_1.gguf"]
    assert smol.status == OK and not smol.in_app_folder and smol.root == str(user.resolve())
    assert smol.info.parameters == 134_515_008 and smol.info.quant == "Q4_1"
    assert result.read == 2 and result.reused == 0


def test_rescan_uses_the_cache_and_notices_changes(lib: Library, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    a = F.write(folder / "a.gguf", F.small_model_bytes())
    F.write(folder / "b.gguf", F.small_model_bytes())
    lib.add_folder(folder)
    assert lib.scan().read == 2
    again = lib.scan()
    assert (again.read, again.reused) == (0, 2)
    # a changed file is read again
    time.sleep(0.01)
    F.write(a, F.small_model_bytes(template="{{ messages }}"))
    changed = lib.scan()
    assert (changed.read, changed.reused) == (1, 1)
    assert next(e for e in changed.entries if e.path == str(a)).info.has_chat_template
    # a vanished file stays listed, marked missing
    a.unlink()
    gone = lib.scan()
    status = {Path(e.path).name: e.status for e in gone.entries}
    assert status == {"a.gguf": MISSING, "b.gguf": OK}
    assert gone.missing == 1
    # and it comes back when the file does
    F.write(a, F.small_model_bytes())
    assert {e.status for e in lib.scan().entries} == {OK}


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        ("text", "not a GGUF model"),
        ("truncated_header", "truncated"),
        ("truncated_data", "download is incomplete"),
        ("huge_string", "damaged"),
        ("huge_count", "damaged"),
        ("unknown_type", "tensor type 250"),
        ("broken_link", "no longer exists"),
    ],
)
def test_bad_files_become_invalid_entries(
    lib: Library, tmp_path: Path, make: str, reason: str
) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    path = folder / "bad.gguf"
    good = F.small_model_bytes()
    if make == "text":
        path.write_text("hello " * 100)
    elif make == "truncated_header":
        path.write_bytes(good[:60])
    elif make == "truncated_data":
        path.write_bytes(good[:-100])
    elif make == "huge_string":
        path.write_bytes(
            F.header([F.s("general.name") + struct.pack("<IQ", F.STRING, 1 << 60)], []) + b"x" * 64
        )
    elif make == "huge_count":
        path.write_bytes(F.header([], [], n_tensors=1 << 50) + b"x" * 64)
    elif make == "unknown_type":
        path.write_bytes(F.header([], [F.tensor("w", (32,), 250, 0)]) + b"\0" * 128)
    elif make == "broken_link":
        os.symlink(folder / "gone.gguf", path)
    lib.add_folder(folder)
    started = time.monotonic()
    entries = lib.scan().entries
    assert time.monotonic() - started < 2
    assert len(entries) == 1
    assert entries[0].status == INVALID
    assert reason in (entries[0].error or "")


def test_unreadable_file(lib: Library, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    path = F.write(folder / "locked.gguf", F.small_model_bytes())
    path.chmod(0)
    if os.geteuid() != 0:
        info = inspect_model(path)
    else:  # root reads anything: look without the capability that lets it
        code = (
            "import json; from app.core.gguf.info import inspect_model; "
            f"print(json.dumps(inspect_model({str(path)!r}).to_dict()))"
        )
        out = subprocess.run(
            [
                "setpriv",
                "--bounding-set",
                "-dac_override,-dac_read_search",
                sys.executable,
                "-c",
                code,
            ],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[3],
        )
        assert out.returncode == 0, out.stderr
        info = ModelInfo.from_dict(json.loads(out.stdout))
    assert not info.valid and "no permission" in (info.error or "")


def test_split_model_is_one_entry_with_every_part_checked(lib: Library, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    parts = split_model(folder, "Big-Model-Q4_K_M", 3)
    lib.add_folder(folder)
    entries = lib.scan().entries
    assert len(entries) == 1
    e = entries[0]
    assert e.status == OK and e.path == str(parts[0])
    assert e.info.parts == [str(p) for p in parts]
    assert e.info.file_size == sum(p.stat().st_size for p in parts)
    assert e.info.parameters == 3 * 256
    parts[1].unlink()
    e = lib.scan().entries[0]
    assert (
        e.status == INVALID and "part 2 of 3" in (e.error or "") and "incomplete" in (e.error or "")
    )


def test_projector_is_paired_not_listed(lib: Library, tmp_path: Path) -> None:
    folder = tmp_path / "vision"
    folder.mkdir()
    F.write(folder / "Qwen2-VL-7B-Instruct-Q4_K_M.gguf", F.small_model_bytes())
    F.write(folder / "mmproj-Qwen2-VL-7B-Instruct-f16.gguf", F.small_model_bytes())
    lib.add_folder(folder)
    entries = lib.scan().entries
    assert [Path(e.path).name for e in entries] == ["Qwen2-VL-7B-Instruct-Q4_K_M.gguf"]
    assert [Path(p).name for p in entries[0].mmproj] == ["mmproj-Qwen2-VL-7B-Instruct-f16.gguf"]


def test_files_beside_a_model_that_are_not_one_are_not_listed(lib: Library, tmp_path: Path) -> None:
    """ggml-org's Qwen3.6-27B repo holds an MTP draft head beside its quants, bartowski's an
    importance matrix, ggml-org's LoRA repos adapters: none is a model to pick and chat with."""
    folder = tmp_path / "repo"
    folder.mkdir()
    for name in (
        "Qwen3.6-27B-Q8_0.gguf",
        "mtp-Qwen3.6-27B-Q8_0.gguf",
        "Qwen_Qwen3.6-27B-imatrix.gguf",
        "LoRA-Qwen2.5-7B-Instruct-abliterated-v3-f16.gguf",
    ):
        F.write(folder / name, F.small_model_bytes())
    lib.add_folder(folder)
    assert [Path(e.path).name for e in lib.scan().entries] == ["Qwen3.6-27B-Q8_0.gguf"]


def test_hugging_face_cache_layout(lib: Library, tmp_path: Path) -> None:
    hub = tmp_path / "hf" / "hub" / "models--pub--repo"
    (hub / "blobs").mkdir(parents=True)
    blob = F.write(hub / "blobs" / "9f3c", F.small_model_bytes())
    for rev in ("aaa", "bbb"):
        snap = hub / "snapshots" / rev
        snap.mkdir(parents=True)
        os.symlink(os.path.relpath(blob, snap), snap / "model-Q4_K_M.gguf")
    lib.add_folder(tmp_path / "hf" / "hub")
    entries = lib.scan().entries
    assert len(entries) == 1  # one blob, however many snapshots point at it
    assert "snapshots" in entries[0].path and entries[0].status == OK


def test_import_keep_copy_move(lib: Library, tmp_path: Path) -> None:
    outside = tmp_path / "Downloads"
    outside.mkdir()
    kept = F.write(outside / "keep-Q4_0.gguf", F.small_model_bytes())
    assert lib.import_file(kept, "keep") == kept
    copied_src = F.write(outside / "copy-Q4_0.gguf", F.small_model_bytes())
    copied = lib.import_file(copied_src, "copy")
    assert copied.is_relative_to(lib.app_folder) and copied_src.exists()
    moved_src = F.write(outside / "move-Q4_0.gguf", F.small_model_bytes())
    moved = lib.import_file(moved_src, "move")
    assert moved.is_relative_to(lib.app_folder) and not moved_src.exists()
    names = sorted(Path(e.path).name for e in lib.scan().entries)
    assert names == ["copy-Q4_0.gguf", "keep-Q4_0.gguf", "move-Q4_0.gguf"]
    bad = F.write(outside / "bad.gguf", b"nope" * 10)
    with pytest.raises(LibraryError, match=r"cannot import bad\.gguf"):
        lib.import_file(bad, "copy")


def test_remove_hides_outside_files_and_deletes_app_files(lib: Library, tmp_path: Path) -> None:
    outside = tmp_path / "Downloads"
    outside.mkdir()
    mine = F.write(outside / "mine.gguf", F.small_model_bytes())
    lib.add_folder(outside)
    inside = lib.import_file(F.write(tmp_path / "x.gguf", F.small_model_bytes()), "move")
    lib.scan()
    assert lib.remove(mine) == 0
    assert mine.exists()
    assert [Path(e.path).name for e in lib.scan().entries] == ["x.gguf"]  # hidden, even on rescan
    size = inside.stat().st_size
    assert lib.remove(inside) == size
    assert not inside.exists() and not inside.parent.exists()  # empty folders go too
    other = F.write(outside / "other.gguf", F.small_model_bytes())
    lib.scan()
    assert lib.remove(other, delete_file=True) == len(F.small_model_bytes())
    assert not other.exists()


def test_real_models_in_detail(smollm_path: Path, gemma_path: Path) -> None:
    smol = inspect_model(smollm_path)
    assert (smol.architecture, smol.block_count, smol.embedding_length) == ("llama", 30, 576)
    assert (smol.head_count, smol.head_count_kv, smol.key_length, smol.value_length) == (
        9,
        3,
        64,
        64,
    )
    assert smol.tensor_types == {"Q4_1": 66_355_200, "Q8_0": 30_081_024, "F32": 140_544}
    assert len(smol.tensor_bytes_per_layer) == 30
    assert sum(smol.tensor_bytes_per_layer) + smol.tensor_bytes_other == sum(
        smol.tensor_types.values()
    )
    assert smol.bits_per_weight == round(sum(smol.tensor_types.values()) * 8 / smol.parameters, 2)
    assert smol.license == "apache-2.0" and smol.has_chat_template
    gemma = inspect_model(gemma_path)
    assert (gemma.architecture, gemma.quant, gemma.sliding_window, gemma.vocab_size) == (
        "gemma3",
        "Q4_K_M",
        512,
        262_144,
    )
    assert gemma.parameters == 268_098_176 and not gemma.has_chat_template
    assert (gemma.key_length, gemma.head_count_kv) == (256, 1)


def test_the_library_lives_in_any_folder_layout(lib: Library, tmp_path: Path) -> None:
    folder = tmp_path / "weird name with spaces"
    folder.mkdir()
    F.write(folder / "Model.GGUF", F.small_model_bytes())
    shutil.copy(folder / "Model.GGUF", folder / ".hidden.gguf")
    lib.add_folder(folder)
    assert [Path(e.path).name for e in lib.scan().entries] == ["Model.GGUF"]


def test_mixture_of_experts_counts_active_parameters(tmp_path: Path) -> None:
    """8 experts, 2 used per token: the active count takes 2/8 of the expert weights."""
    kvs = [
        F.kv("general.architecture", F.STRING, "qwen3moe"),
        F.kv("qwen3moe.expert_count", F.U32, 8),
        F.kv("qwen3moe.expert_used_count", F.U32, 2),
    ]
    tensors = [
        F.tensor("token_embd.weight", (256, 4), F.F16_TYPE, 0),  # 1,024 values
        F.tensor("blk.0.attn_q.weight", (256, 2), F.F16_TYPE, 2048),  # 512
        F.tensor("blk.0.ffn_up_exps.weight", (256, 1, 8), F.F16_TYPE, 3072),  # 2,048 in experts
    ]
    head = F.header(kvs, tensors)
    data = head + b"\0" * ((-len(head)) % 32) + b"\1" * (3072 + 4096)
    info = inspect_model(F.write(tmp_path / "moe.gguf", data))
    assert info.valid, info.error
    assert info.parameters == 1024 + 512 + 2048
    assert info.active_parameters == 1024 + 512 + 2048 * 2 // 8
    assert (info.expert_count, info.expert_used_count) == (8, 2)
    assert info.tensor_bytes_per_layer == [1024 + 4096] and info.tensor_bytes_other == 2048


@pytest.mark.parametrize("damage", ["garbage_header", "garbage_middle", "truncated", "text"])
def test_a_damaged_index_is_rebuilt_keeping_added_folders(
    tmp_path: Path, smollm_path: Path, damage: str
) -> None:
    """The index is a cache: a damaged one is rebuilt from the files, and the folders the user
    added are kept wherever they can still be read."""
    db = tmp_path / "library.sqlite3"
    folder = tmp_path / "mine"
    folder.mkdir()
    os.symlink(smollm_path, folder / smollm_path.name)
    for i in range(300):  # enough rows that the index spans many pages
        F.write(folder / f"bad-{i:03d}.gguf", b"not a model " * 40)
    lib = Library(db, tmp_path / "app-models")
    lib.add_folder(folder)
    assert len(lib.scan().entries) == 301
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)  # a clean close folds the WAL in
    raw = bytearray(db.read_bytes())
    assert len(raw) > 8 * 4096
    if damage == "garbage_header":
        raw[:100] = os.urandom(100)
    elif damage == "garbage_middle":
        raw[len(raw) // 2 : len(raw) // 2 + 3 * 4096] = os.urandom(3 * 4096)
    elif damage == "truncated":
        raw = raw[: len(raw) // 3]
    else:
        raw = bytearray(b"hello, this is not a database\n" * 300)
    db.write_bytes(bytes(raw))

    again = Library(db, tmp_path / "app-models")
    result = again.scan()
    assert result.notice and "damaged and has been rebuilt" in result.notice
    names = {Path(e.path).name for e in result.entries}
    if damage in ("garbage_middle", "truncated"):
        # the small table of added folders sits on the first pages and still reads
        assert again.folders() == [folder]
        assert "1 added folder kept" in result.notice
        assert smollm_path.name in names and len(names) == 301
    else:
        assert "add them again" in result.notice
    ok = [e for e in result.entries if e.status == OK]
    assert all(e.info.valid for e in ok)
    assert again.take_notice() is None  # said once
    assert Library(db, tmp_path / "app-models").scan().notice is None  # and healthy after
