#!/usr/bin/env python3
"""Rebuild ``models/pose_landmarker_full.task`` byte-for-byte from the official mediapipe wheel.

The ``mediapipe==0.10.21`` wheel on PyPI ships Google's BlazePose models (Apache-2.0) for the
legacy Solutions API. The Tasks API (``PoseLandmarker``) wants them in a ``.task`` bundle and
refuses a float-input model without TFLite NormalizationOptions metadata. This script:

1. takes ``pose_detection.tflite`` and ``pose_landmark_full.tflite`` out of the wheel (checked
   against pinned sha256s),
2. writes TFLite model metadata (input image: RGB + NormalizationOptions; outputs: plain
   feature tensors) into each model's ``TFLITE_METADATA`` entry, leaving tensors and weights
   untouched,
3. stores both in a zip with fixed timestamps and 4-byte member alignment, as mediapipe's
   ``model_asset_bundle_utils`` does.

Needs only the stdlib and ``flatbuffers``; the flatbuffer schema modules are loaded from the
wheel being read, so the installed mediapipe version does not matter.

Usage::

    python models/build_pose_bundle.py                 # pip-downloads the wheel
    python models/build_pose_bundle.py --wheel PATH    # use a local copy
    python models/build_pose_bundle.py --check         # verify the committed bundle
"""

from __future__ import annotations

import argparse
import hashlib
import struct
import subprocess
import sys
import tempfile
import types
import zipfile
import zlib
from pathlib import Path

import flatbuffers

WHEEL_REQ = "mediapipe==0.10.21"
WHEEL_NAME = "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
# The flatbuffers Builder's byte layout changes between releases (24.3.25 and 25.12.19 differ):
# the committed bundle is reproducible byte-for-byte with this version only.
FLATBUFFERS_VERSION = "25.12.19"

SCHEMA_MEMBER = "mediapipe/tasks/metadata/schema_py_generated.py"
METADATA_SCHEMA_MEMBER = "mediapipe/tasks/metadata/metadata_schema_py_generated.py"

# bundle member name -> (wheel member, sha256 of the wheel member)
SOURCES = {
    "pose_detector.tflite": (
        "mediapipe/modules/pose_detection/pose_detection.tflite",
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    ),
    "pose_landmarks_detector.tflite": (
        "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    ),
}

# Metadata per bundle member: input normalisation (mean, std) and output tensor names.
# Output names are descriptive only; order matches the model's outputs.
METADATA = {
    "pose_detector.tflite": dict(
        name="Pose detector (BlazePose)",
        description="Detects a person and returns undecoded boxes/keypoints and scores.",
        input_description="RGB image, 224x224, normalised to [-1, 1].",
        mean=127.5,
        std=127.5,
        outputs=["raw_boxes", "raw_scores"],
    ),
    "pose_landmarks_detector.tflite": dict(
        name="Pose landmarks detector (BlazePose GHUM 3D, full)",
        description="Predicts 33 pose landmarks on a person crop.",
        input_description="RGB image, 256x256, normalised to [0, 1].",
        mean=0.0,
        std=255.0,
        outputs=["landmarks", "pose_flag", "segmentation", "heatmap", "world_landmarks"],
    ),
}

METADATA_FIELD_NAME = "TFLITE_METADATA"
METADATA_FILE_IDENTIFIER = b"M001"
TFLITE_FILE_IDENTIFIER = b"TFL3"
# Every feature used here (ImageProperties, NormalizationOptions, FeatureProperties, Stats)
# exists since metadata schema 1.0.0, which is what the official populator computes for them.
MIN_PARSER_VERSION = "1.0.0"
BUFFER_ALIGNMENT = 16  # tflite schema: Buffer.data (force_align: 16)
ZIP_ALIGNMENT = 4  # mediapipe model_asset_bundle_utils._ALIGNMENT
ZIP_DOS_TIME, ZIP_DOS_DATE = 0, (0 << 9) | (1 << 5) | 1  # 1980-01-01 00:00:00

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "pose_landmarker_full.task"


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(dest: Path) -> Path:
    """pip-download the pinned wheel into ``dest`` and return its path."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", WHEEL_REQ,
        "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64",
        "--only-binary=:all:", "-d", str(dest), "--quiet",
    ]
    subprocess.run(cmd, check=True)
    wheel = dest / WHEEL_NAME
    if not wheel.is_file():
        raise SystemExit(f"pip did not produce {WHEEL_NAME} in {dest}")
    return wheel


def load_module(name: str, source: bytes) -> types.ModuleType:
    """Execute generated flatbuffers code from the wheel as a private module."""
    module = types.ModuleType(name)
    exec(compile(source, name, "exec"), module.__dict__)  # noqa: S102 - pinned wheel content
    return module


def build_metadata(meta_fb: types.ModuleType, spec: dict, n_outputs: int) -> bytes:
    """Return a ModelMetadata flatbuffer ("M001") for one model."""
    if len(spec["outputs"]) != n_outputs:
        raise SystemExit(
            f"{spec['name']}: expected {len(spec['outputs'])} outputs, model has {n_outputs}")

    image = meta_fb.ImagePropertiesT()
    image.colorSpace = meta_fb.ColorSpaceType.RGB
    content = meta_fb.ContentT()
    content.contentPropertiesType = meta_fb.ContentProperties.ImageProperties
    content.contentProperties = image
    norm = meta_fb.NormalizationOptionsT()
    norm.mean, norm.std = [spec["mean"]], [spec["std"]]
    unit = meta_fb.ProcessUnitT()
    unit.optionsType = meta_fb.ProcessUnitOptions.NormalizationOptions
    unit.options = norm
    stats = meta_fb.StatsT()
    stats.max = [(255.0 - spec["mean"]) / spec["std"]]
    stats.min = [(0.0 - spec["mean"]) / spec["std"]]
    inp = meta_fb.TensorMetadataT()
    inp.name = "image"
    inp.description = spec["input_description"]
    inp.content, inp.processUnits, inp.stats = content, [unit], stats

    outputs = []
    for out_name in spec["outputs"]:
        feat = meta_fb.ContentT()
        feat.contentPropertiesType = meta_fb.ContentProperties.FeatureProperties
        feat.contentProperties = meta_fb.FeaturePropertiesT()
        out = meta_fb.TensorMetadataT()
        out.name, out.content, out.stats = out_name, feat, meta_fb.StatsT()
        outputs.append(out)

    subgraph = meta_fb.SubGraphMetadataT()
    subgraph.inputTensorMetadata = [inp]
    subgraph.outputTensorMetadata = outputs
    model = meta_fb.ModelMetadataT()
    model.name = spec["name"]
    model.description = spec["description"]
    model.author = "Google (MediaPipe BlazePose); metadata added by formcheck"
    model.license = "Apache License. Version 2.0 http://www.apache.org/licenses/LICENSE-2.0."
    model.subgraphMetadata = [subgraph]
    model.minParserVersion = MIN_PARSER_VERSION

    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), METADATA_FILE_IDENTIFIER)
    return bytes(builder.Output())


def make_aligned_buffer_class(schema: types.ModuleType) -> type:
    """BufferT whose data vector is 16-byte aligned (the schema's force_align)."""

    class AlignedBufferT(schema.BufferT):
        def Pack(self, builder):  # noqa: N802 - flatbuffers naming
            data_off = None
            if self.data is not None:
                raw = bytes(self.data)
                builder.StartVector(1, len(raw), BUFFER_ALIGNMENT)
                builder.head -= len(raw)
                builder.Bytes[builder.head : builder.head + len(raw)] = raw
                data_off = builder.EndVector()
            schema.BufferStart(builder)
            if data_off is not None:
                schema.BufferAddData(builder, data_off)
            schema.BufferAddOffset(builder, self.offset)
            schema.BufferAddSize(builder, self.size)
            return schema.BufferEnd(builder)

    return AlignedBufferT


def add_metadata(
    schema: types.ModuleType, meta_fb: types.ModuleType, model_buf: bytes, spec: dict
) -> bytes:
    """Return ``model_buf`` with a fresh TFLITE_METADATA entry; tensors and weights unchanged."""
    if model_buf[4:8] != TFLITE_FILE_IDENTIFIER:
        raise SystemExit("not a TFLite flatbuffer")
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model_buf, 0))
    if len(model.subgraphs) != 1:
        raise SystemExit("expected exactly one subgraph")
    n_outputs = len(model.subgraphs[0].outputs)
    aligned = make_aligned_buffer_class(schema)

    new = aligned()
    new.data = build_metadata(meta_fb, spec, n_outputs)
    model.metadata = model.metadata or []
    for entry in model.metadata:
        if entry.name.decode() == METADATA_FIELD_NAME:  # replace, as the official populator does
            model.buffers[entry.buffer] = new
            break
    else:
        model.buffers.append(new)
        entry = schema.MetadataT()
        entry.name, entry.buffer = METADATA_FIELD_NAME, len(model.buffers) - 1
        model.metadata.append(entry)

    for i, buf in enumerate(model.buffers):
        if not isinstance(buf, aligned):
            copy = aligned()
            copy.data, copy.offset, copy.size = buf.data, buf.offset, buf.size
            model.buffers[i] = copy

    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), TFLITE_FILE_IDENTIFIER)
    return bytes(builder.Output())


def write_bundle(members: dict[str, bytes]) -> bytes:
    """Return a stored (uncompressed) zip with fixed metadata and 4-byte aligned member data."""
    out = bytearray()
    central = bytearray()
    for name, data in members.items():
        fname = name.encode()
        crc = zlib.crc32(data)
        # Zero padding before the local header so that the member data is aligned
        # (same layout as mediapipe's AlignZipFile).
        out += b"\0" * (-(len(out) + 30 + len(fname)) % ZIP_ALIGNMENT)
        offset = len(out)
        out += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, ZIP_DOS_TIME, ZIP_DOS_DATE,
            crc, len(data), len(data), len(fname), 0,
        ) + fname
        assert len(out) % ZIP_ALIGNMENT == 0
        out += data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | 20, 20, 0, 0, ZIP_DOS_TIME,
            ZIP_DOS_DATE, crc, len(data), len(data), len(fname), 0, 0, 0, 0,
            0o100644 << 16, offset,
        ) + fname
    cd_offset = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members),
                       len(central), cd_offset, 0)
    return bytes(out)


def build(wheel: Path) -> bytes:
    """Build the bundle bytes from ``wheel``."""
    wheel_sha = sha256(wheel.read_bytes())
    print(f"wheel {wheel.name} sha256 {wheel_sha}")
    if wheel_sha != WHEEL_SHA256:
        print(f"warning: wheel sha256 != pinned {WHEEL_SHA256}; relying on member checksums",
              file=sys.stderr)
    with zipfile.ZipFile(wheel) as zf:
        schema = load_module("_wheel_schema_py_generated", zf.read(SCHEMA_MEMBER))
        meta_fb = load_module(
            "_wheel_metadata_schema_py_generated", zf.read(METADATA_SCHEMA_MEMBER))
        members = {}
        for bundle_name, (member, expected) in SOURCES.items():
            raw = zf.read(member)
            if sha256(raw) != expected:
                raise SystemExit(f"{member}: sha256 {sha256(raw)} != pinned {expected}")
            members[bundle_name] = add_metadata(schema, meta_fb, raw, METADATA[bundle_name])
    for name, data in members.items():
        print(f"{name}: {len(data)} bytes sha256 {sha256(data)}")
    return write_bundle(members)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", type=Path, help=f"local {WHEEL_NAME} (default: pip download)")
    ap.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    ap.add_argument("--check", action="store_true", help="compare with --output instead of writing")
    args = ap.parse_args(argv)

    fb_version = getattr(flatbuffers, "__version__", "?")
    print(f"flatbuffers {fb_version}, python {sys.version.split()[0]}")
    if fb_version != FLATBUFFERS_VERSION:
        print(f"warning: output is byte-identical to the committed bundle only with "
              f"flatbuffers=={FLATBUFFERS_VERSION}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(Path(tmp))
        bundle = build(wheel)
    digest = sha256(bundle)
    if args.check:
        current = args.output.read_bytes() if args.output.is_file() else b""
        ok = current == bundle
        print(f"{args.output}: {'identical' if ok else 'DIFFERS'} (rebuilt {len(bundle)} bytes)")
        print(f"sha256 {digest}")
        return 0 if ok else 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.output.with_name(args.output.name + ".tmp")
    tmp_out.write_bytes(bundle)
    tmp_out.replace(args.output)
    print(f"wrote {args.output} ({len(bundle)} bytes)")
    print(f"sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
