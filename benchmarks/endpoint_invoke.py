"""Sandbox endpoint invocation latency against calling the same inference handlers directly.

One process: an emulated framework endpoint (model.tar.gz with a scikit-learn model and code/inference.py, as the
platform's pipeline registers it) in a fresh sandbox. Then ``--calls`` times each:

* sandbox - ``sagemaker-runtime`` InvokeEndpoint through the emulator (gateway -> container process -> capture);
* direct  - an HTTP POST straight to the container process's /invocations (the serving app itself).

    python benchmarks/endpoint_invoke.py [--calls 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modules.sandbox.server import MotoServer  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    import boto3

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from test_sandbox_endpoints import BUCKET, INSIDE, MODEL_FN_ONLY, TRUST, deploy  # the tests' own fixture code

    with tempfile.TemporaryDirectory(prefix="bench-invoke-") as tmp:
        server = MotoServer(workdir=tmp).start()
        try:
            def client(service):
                return boto3.client(service, region_name="us-east-1", endpoint_url=server.endpoint)

            client("s3").create_bucket(Bucket=BUCKET)
            iam = client("iam")
            role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
            iam.put_role_policy(RoleName="bench", PolicyName="p", PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
            deploy(client, role, "bench", code=MODEL_FN_ONLY, env_vars=INSIDE)
            port = server.gateway.endpoints.live["bench"].variants["AllTraffic"].port
            runtime = client("sagemaker-runtime")
            body = b"1.5\n2.5\n"
            sandbox, direct = [], []
            for _ in range(args.calls):
                t = time.perf_counter()
                runtime.invoke_endpoint(EndpointName="bench", ContentType="text/csv", Body=body)["Body"].read()
                sandbox.append(time.perf_counter() - t)
                t = time.perf_counter()
                req = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body, method="POST",
                                             headers={"Content-Type": "text/csv"})
                with urllib.request.urlopen(req, timeout=30) as resp:
                    resp.read()
                direct.append(time.perf_counter() - t)
        finally:
            server.stop()
    s_ms, d_ms = statistics.median(sandbox) * 1000, statistics.median(direct) * 1000
    out = {"calls": args.calls, "sandbox_ms": round(s_ms, 2), "direct_ms": round(d_ms, 2), "ratio": round(s_ms / d_ms, 2)}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"endpoint invoke latency (median of {args.calls}): sandbox {s_ms:.2f} ms, direct {d_ms:.2f} ms, "
              f"ratio {out['ratio']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
