"""Certificates and keys for the local control plane, made with the openssl CLI (no Python crypto dependency).

One self-signed CA signs the API server's serving cert and one client cert per identity; the service-account
token signing key is a separate RSA key pair, as on any kubeadm- or GKE-built control plane.
"""

import subprocess
from pathlib import Path

# Client identities: (file stem, CN, O). CNs are the ones Kubernetes' bootstrap RBAC policy grants rights to.
CLIENTS = [
    ("admin", "kubernetes-admin", "system:masters"),
    ("controller-manager", "system:kube-controller-manager", ""),
    ("scheduler", "system:kube-scheduler", ""),
    ("kwok", "kwok-controller", "system:masters"),  # kwok patches every node's and pod's status
    ("apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters"),
]
APISERVER_SANS = [
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
    "IP:127.0.0.1",
    "IP:10.96.0.1",  # first address of --service-cluster-ip-range
]


def _openssl(*args: str, cwd: Path) -> None:
    res = subprocess.run(["openssl", *args], check=False, cwd=cwd, capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {res.stderr.strip()}")


def _key(path: Path) -> None:
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path.name, cwd=path.parent)
    path.chmod(0o600)


def _signed(pki: Path, stem: str, subject: str, ext: str) -> None:
    _key(pki / f"{stem}.key")
    _openssl("req", "-new", "-key", f"{stem}.key", "-subj", subject, "-out", f"{stem}.csr", cwd=pki)
    (pki / f"{stem}.ext").write_text(ext)
    _openssl(
        "x509", "-req", "-in", f"{stem}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "365", "-sha256", "-extfile", f"{stem}.ext", "-out", f"{stem}.crt", cwd=pki,
    )  # fmt: skip
    (pki / f"{stem}.csr").unlink()
    (pki / f"{stem}.ext").unlink()


def ensure_pki(pki: Path) -> Path:
    """Create the CA, serving cert, client certs and SA key pair once; later calls reuse them."""
    pki.mkdir(parents=True, exist_ok=True)
    if (pki / "complete").exists():
        return pki
    _key(pki / "ca.key")
    _openssl(
        "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=llm-platform-local-ca", "-days", "3650",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-out", "ca.crt", cwd=pki,
    )  # fmt: skip
    _signed(
        pki,
        "apiserver",
        "/CN=kube-apiserver",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        f"extendedKeyUsage=serverAuth\nsubjectAltName={','.join(APISERVER_SANS)}\n",
    )
    for stem, cn, org in CLIENTS:
        subject = f"/CN={cn}" + (f"/O={org}" if org else "")
        ext = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"
        _signed(pki, stem, subject, ext)
    _key(pki / "sa.key")
    _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
    (pki / "complete").write_text("ok\n")
    return pki


def serving_cert(pki: Path, stem: str, cn: str, sans: list[str]) -> tuple[Path, Path]:
    """A serving (and client) cert signed by the cluster's CA, made once: e.g. KEDA's gRPC metrics service."""
    if not (pki / f"{stem}.crt").exists():
        _signed(
            pki,
            stem,
            f"/CN={cn}",
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            f"extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName={','.join(sans)}\n",
        )
    return pki / f"{stem}.crt", pki / f"{stem}.key"
