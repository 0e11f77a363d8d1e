#!/usr/bin/env python3
"""Writes a libFuzzer seed corpus from the shared PDU vectors: one file per case, plus a few
streams with several PDUs back to back."""
import json, os, sys

vectors, outdir = sys.argv[1], sys.argv[2]
os.makedirs(outdir, exist_ok=True)
cases = json.load(open(os.path.join(vectors, "pdus.json")))["cases"]
blobs = []
for c in cases:
    b = bytes.fromhex(c["hex"])
    blobs.append(b)
    with open(os.path.join(outdir, c["name"]), "wb") as f:
        f.write(b)
valid = [bytes.fromhex(c["hex"]) for c in cases if c["valid"]]
for i in range(0, len(valid), 5):
    with open(os.path.join(outdir, "stream_%02d" % i), "wb") as f:
        f.write(b"".join(valid[i:i + 5]))
print("corpus: %d files in %s" % (len(os.listdir(outdir)), outdir))
