"""Documents on S3 for real: a local S3 API (moto_server) on 127.0.0.1, presigned URLs fetched."""

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from requests_chat.documents import check_pdf
from requests_chat.models import Document
from requests_chat.services import create_request
from tests.conftest import port_open, sign_in

from .conftest import make_pdf

BUCKET = "portal-test-documents"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    moto = Path(sys.executable).parent / "moto_server"
    if not moto.exists():
        pytest.skip("moto_server is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not port_open("127.0.0.1", port):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("moto_server did not start")
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def s3_storage(s3_endpoint, settings):
    import boto3

    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **credentials)
    s3.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": 60,
                "file_overwrite": False,
                "addressing_style": "path",
                "signature_version": "s3v4",
            },
        },
    }
    return s3


@pytest.mark.django_db
def test_it_stores_documents_on_s3_and_redirects_to_a_short_lived_url(cast, s3_storage):
    data = make_pdf("Stored on S3")
    create_request(
        prescription=cast.rx_alice,
        author=cast.alice,
        body="See attached",
        files=[("PA letter", check_pdf(data, name="pa.pdf"))],
    )
    doc = Document.objects.get()
    stored = s3_storage.get_object(Bucket=BUCKET, Key=doc.file.name)
    assert stored["Body"].read() == data
    # Private: no anonymous read of the object.
    anonymous = urllib.request.Request(f"{s3_storage.meta.endpoint_url}/{BUCKET}/{doc.file.name}")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(anonymous, timeout=5)

    response = sign_in(Client(), cast.phil).get(reverse("requests_chat:document", args=[doc.pk]))
    assert response.status_code == 302
    url = response["Location"]
    assert url.startswith(s3_storage.meta.endpoint_url) and "X-Amz-Expires=60" in url
    with urllib.request.urlopen(url, timeout=5) as presigned:
        assert presigned.read() == data
        assert presigned.headers["Content-Type"] == "application/pdf"
        assert presigned.headers["Content-Disposition"].startswith("inline")


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["mallory", "carol"])
def test_it_issues_no_s3_url_to_outsiders(cast, s3_storage, who):
    create_request(
        prescription=cast.rx_alice,
        author=cast.alice,
        body="See attached",
        files=[("PA letter", check_pdf(make_pdf(), name="pa.pdf"))],
    )
    doc = Document.objects.get()
    response = sign_in(Client(), getattr(cast, who)).get(
        reverse("requests_chat:document", args=[doc.pk])
    )
    assert response.status_code == 404
