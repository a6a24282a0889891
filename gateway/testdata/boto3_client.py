"""The S3 client test's boto3 part: python3 boto3_client.py ENDPOINT BUCKET TREE DOWN.

Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. It uploads
every file of TREE under tree/ (files over 8 MiB in parts), lists them back
two keys a page and checks names and sizes, replaces small.txt and adds
new.txt, downloads every key into DOWN, reads a range of big.bin and checks
it against the file, deletes one key, then the rest in one request, then
the bucket. It prints "ok"; any failure raises (exit code 1)."""

import hashlib
import os
import sys

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

endpoint, bucket, tree, down = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
cfg = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=4)


def local_files(root):
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = p
    return out


def listed():
    keys = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="tree/", PaginationConfig={"PageSize": 2}):
        for o in page.get("Contents", []):
            keys[o["Key"][len("tree/"):]] = o["Size"]
    return keys


s3.create_bucket(Bucket=bucket)
files = local_files(tree)
for rel, path in files.items():
    s3.upload_file(path, bucket, "tree/" + rel, Config=cfg)
want = {rel: os.path.getsize(p) for rel, p in files.items()}
got = listed()
assert got == want, (got, want)
etag = s3.head_object(Bucket=bucket, Key="tree/big.bin")["ETag"]
assert etag.endswith('-13"'), "big.bin was not put in 13 parts: " + etag

with open(os.path.join(tree, "small.txt"), "wb") as f:
    f.write(b"changed by boto3, longer than before\n")
with open(os.path.join(tree, "new.txt"), "wb") as f:
    f.write(b"new\n")
for rel in ("small.txt", "new.txt"):
    s3.upload_file(os.path.join(tree, rel), bucket, "tree/" + rel, Config=cfg)
head = s3.head_object(Bucket=bucket, Key="tree/small.txt")
assert head["ETag"] == '"%s"' % hashlib.md5(open(os.path.join(tree, "small.txt"), "rb").read()).hexdigest(), head["ETag"]

for key in listed():
    dst = os.path.join(down, key)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    s3.download_file(bucket, "tree/" + key, dst, Config=cfg)

with open(os.path.join(tree, "big.bin"), "rb") as f:
    f.seek(1000)
    want_range = f.read(2000000)
got_range = s3.get_object(Bucket=bucket, Key="tree/big.bin", Range="bytes=1000-2000999")["Body"].read()
assert got_range == want_range, "range differs"

s3.delete_object(Bucket=bucket, Key="tree/small.txt")
assert "small.txt" not in listed()
rest = [{"Key": "tree/" + k} for k in listed()]
res = s3.delete_objects(Bucket=bucket, Delete={"Objects": rest})
assert not res.get("Errors"), res["Errors"]
assert listed() == {}
s3.delete_bucket(Bucket=bucket)
print("ok")
