#!/usr/bin/env python3
"""Verify before load with MindSpore Lite in Python (docs/verify-before-load.md).

`ms-sign verify MODEL --output -` reads the model once and writes those bytes to stdout only after
they verified; this program builds the model from that buffer and never opens MODEL itself.

    python3 examples/load_verified.py MODEL [VERIFY OPTIONS...]
    python3 examples/load_verified.py model.ms -t trust.json --name acme/detector

MS_SIGN may name the ms-sign command (default: "ms-sign").
"""
import os
import shlex
import subprocess
import sys

import mindspore_lite as mslite


class ModelNotVerified(Exception):
    pass


def read_verified(model_path, *verify_args):
    """The verified bytes of model_path, or ModelNotVerified. Nothing is returned on failure:
    ms-sign writes no byte to stdout unless the model verified."""
    ms_sign = shlex.split(os.environ.get("MS_SIGN", "ms-sign"))
    result = subprocess.run(
        [*ms_sign, "verify", model_path, "--output", "-", "-q", *verify_args],
        stdout=subprocess.PIPE,  # the model's bytes
        stderr=None,  # ms-sign's diagnostics go to our stderr
        check=False,
    )
    if result.returncode != 0:
        raise ModelNotVerified(f"{model_path} is not verified (ms-sign exit code {result.returncode})")
    return result.stdout


def load_verified(model_path, *verify_args):
    model_bytes = read_verified(model_path, *verify_args)
    # .ms files are MindSpore Lite models; .mindir files MindSpore IR. Which types a given
    # mindspore_lite package builds depends on the package (cloud-side inference takes MINDIR).
    model_type = mslite.ModelType.MINDIR_LITE if model_path.endswith(".ms") else mslite.ModelType.MINDIR
    context = mslite.Context()
    context.target = ["cpu"]
    model = mslite.Model()
    model.build_from_buffer(model_bytes, model_type=model_type, context=context)
    return model


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        model = load_verified(sys.argv[1], *sys.argv[2:])
    except ModelNotVerified as error:
        print(error, file=sys.stderr)
        return 1
    print(f"built {sys.argv[1]} from its verified bytes: {model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
