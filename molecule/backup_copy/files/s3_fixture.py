#!/opt/moto/bin/python
"""Test fixture of the backup_copy scenario, on the S3 test server (moto, IAM policies enforced).

s3-fixture setup ENDPOINT OUT   first three requests unauthenticated (INITIAL_NO_AUTH_ACTION_COUNT=3) create an
                                admin; the admin creates the buckets and the identities; OUT gets their keys
s3-fixture wipe ENDPOINT KEYS BUCKET   delete every object of BUCKET (as the admin); prints the count
s3-fixture count ENDPOINT KEYS BUCKET  print the number of objects in BUCKET
"""
import json
import sys

import boto3


def client(endpoint, service, key, secret):
    return boto3.client(service, endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                        region_name="us-east-1")


def bucket(name):
    return [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]


READ = ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"]
# restic takes a lock in the repository it reads: the readers may write and remove lock files only.
LOCKS = ["s3:PutObject", "s3:DeleteObject"]


def setup(endpoint, out):
    iam = client(endpoint, "iam", "bootstrap", "bootstrap")
    iam.create_user(UserName="admin")
    iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    keys = {"admin": {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}}
    iam = client(endpoint, "iam", key["AccessKeyId"], key["SecretAccessKey"])
    s3 = client(endpoint, "s3", key["AccessKeyId"], key["SecretAccessKey"])
    for name in ("omero-primary", "omero-copy"):
        s3.create_bucket(Bucket=name)
    identities = {
        # The OMERO host: everything on the primary bucket, nothing else.
        "omero_host": [{"Effect": "Allow", "Action": "s3:*", "Resource": bucket("omero-primary")}],
        # The copy host: reads the primary (and writes its lock files), owns the copy bucket.
        "copy_host": [{"Effect": "Allow", "Action": READ, "Resource": bucket("omero-primary")},
                      {"Effect": "Allow", "Action": LOCKS, "Resource": ["arn:aws:s3:::omero-primary/*/locks/*"]},
                      {"Effect": "Allow", "Action": "s3:*", "Resource": bucket("omero-copy")}],
        # What an administrator hands over to restore from the copy: read only (and lock files).
        "restore": [{"Effect": "Allow", "Action": READ, "Resource": bucket("omero-copy")},
                    {"Effect": "Allow", "Action": LOCKS, "Resource": ["arn:aws:s3:::omero-copy/*/locks/*"]}],
    }
    for name, statements in identities.items():
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="access", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": statements}))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        keys[name] = {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    with open(out, "w") as fh:
        json.dump(keys, fh, indent=1)


def objects(s3, name):
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=name)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def main(argv):
    if argv[1] == "setup":
        return setup(argv[2], argv[3])
    with open(argv[3]) as fh:
        admin = json.load(fh)["admin"]
    s3 = client(argv[2], "s3", admin["id"], admin["secret"])
    keys = objects(s3, argv[4])
    if argv[1] == "wipe":
        for key in keys:
            s3.delete_object(Bucket=argv[4], Key=key)
    print(len(keys))


if __name__ == "__main__":
    main(sys.argv)
