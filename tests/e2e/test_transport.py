"""The transport end to end: TLS verification that cannot be turned off,
AWS_CA_BUNDLE, and a clock-skew error corrected from the server's Date."""
import http.server
import ssl
import subprocess
import threading

import pytest

from gpuctl_helpers import gpuctl

ANSWER = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
          b'<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/'
          b'2016-11-15/"><requestId>tls-test</requestId><regionInfo><item>'
          b'<regionName>us-west-1</regionName></item></regionInfo>'
          b'</DescribeRegionsResponse>')


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, *a):
        pass


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS endpoint on 127.0.0.1 with a self-signed certificate."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"https://127.0.0.1:{srv.server_address[1]}", cert
    srv.shutdown()


def test_tls_is_verified(sim, tls_server):
    url, cert = tls_server
    p = gpuctl(sim, "--endpoint-url", url, "api", "DescribeRegions")
    assert p.returncode == 1
    assert "certificate" in p.stderr.lower()
    assert "AWS_CA_BUNDLE" in p.stderr
    # no option or variable turns verification off
    for var in ("GPUCTL_INSECURE", "AWS_INSECURE", "CURL_INSECURE",
                "SSL_NO_VERIFY"):
        p = gpuctl(sim, "--endpoint-url", url, "api", "DescribeRegions",
                   extra_env={var: "1"})
        assert p.returncode == 1
    p = gpuctl(sim, "--endpoint-url", url, "--no-verify-ssl", "api",
               "DescribeRegions")
    assert p.returncode == 2


def test_ca_bundle_is_honoured(sim, tls_server, tmp_path):
    url, cert = tls_server
    p = gpuctl(sim, "--endpoint-url", url, "api", "DescribeRegions",
               extra_env={"AWS_CA_BUNDLE": str(cert)})
    assert p.returncode == 0, p.stderr
    assert "<regionName>us-west-1</regionName>" in p.stdout
    # the profile's ca_bundle too
    cfg = tmp_path / "config"
    cfg.write_text(f"[default]\nca_bundle = {cert}\n")
    p = gpuctl(sim, "--endpoint-url", url, "api", "DescribeRegions",
               extra_env={"AWS_CONFIG_FILE": str(cfg)})
    assert p.returncode == 0, p.stderr


def test_clock_skew_corrected_from_date(sim):
    # gpuctl's clock 10 minutes slow: the simulator answers
    # RequestTimeTooSkewed with its Date, gpuctl corrects and retries once
    base = ["faketime", "-f", "-10m"]
    p = subprocess.run(base + [__import__("gpuctl_helpers").GPUCTL, "--debug",
                               "api", "DescribeRegions"],
                       # faketime is an LD_PRELOAD: let an ASan build
                       # start behind it
                       env=dict(sim.env,
                                ASAN_OPTIONS="verify_asan_link_order=0"),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "<regionName>" in p.stdout
    assert "RequestTimeTooSkewed" in p.stderr      # the first answer
    assert "clock skew: correcting by" in p.stderr
