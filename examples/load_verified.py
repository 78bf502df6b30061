#!/usr/bin/env python3
"""Verify before load with MindSpore Lite in Python (docs/verify-before-load.md).

`ms-sign verify MODEL --output -` reads the model once and writes those bytes to stdout only after
they verified; this program builds the model from that buffer and never opens MODEL itself.

    python3 examples/load_verified.py MODEL [VERIFY OPTIONS...]
    python3 examples/load_verified.py model.ms -t trust.json --name acme/detector

MS_SIGN may name the ms-sign command. Without it: `ms-sign` on PATH (an npm install), else the
build of the ms-sign checkout this file belongs to, so it runs from any working directory.
"""
import os
import shlex
import shutil
import subprocess
import sys

import mindspore_lite as mslite


class ModelNotVerified(Exception):
    pass


def ms_sign_command():
    """The ms-sign command line: $MS_SIGN, else ms-sign on PATH, else this checkout's build."""
    if os.environ.get("MS_SIGN"):
        return shlex.split(os.environ["MS_SIGN"])
    if shutil.which("ms-sign"):
        return ["ms-sign"]
    here = os.path.dirname(os.path.realpath(__file__))
    built = os.path.join(here, os.pardir, "packages", "cli", "bin", "ms-sign.cjs")
    if os.path.exists(built) and shutil.which("node"):
        return ["node", os.path.normpath(built)]
    raise SystemExit("ms-sign not found: install it (npm install -g ms-sign), or set MS_SIGN to its command")


def read_verified(model_path, *verify_args):
    """The verified bytes of model_path, or ModelNotVerified. Nothing is returned on failure:
    ms-sign writes no byte to stdout unless the model verified."""
    ms_sign = ms_sign_command()
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
